import ArgumentParser
import Autograd
import Foundation
import SuperResolution

/// `hone finetune`: teach a super-resolution network one video.
struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a super-resolution network on a video's own frames; writes a checkpoint.",
        discussion: """
            Training pairs come from the video itself: random crops of its frames are the \
            targets, their antialiased bicubic downscales (plus the config's blur and noise) \
            the inputs; flips and 90° turns augment them. Every n-th frame (the config's \
            validation_every, 10 by default) is held out; after each epoch Hone prints its \
            validation Y-PSNR/SSIM next to bicubic and the starting checkpoint. One epoch is \
            ⌈training frames × patches_per_frame / batch⌉ steps.
            The checkpoint holds the weights that validated best (saved after every epoch, \
            and on Ctrl-C, atomically); `--resume` continues an interrupted run exactly.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (checkpoint saved).
            """)

    @Option(help: "The video to learn (any file or URL FFmpeg reads).")
    var video: String?

    @Option(help: "Passes over the training frames.")
    var epochs = 3

    @Option(help: "Upscaling factor: 2 or 4.")
    var scale = 2

    @Option(help: "Starting checkpoint. (default: checkpoints/base-x<scale>.safetensors if shipped, else random initialisation)")
    var checkpoint: String?

    @Option(help: "Model, degradation, loss and schedule. (default: configs/default.yaml)")
    var config: String?

    @Option(name: .shortAndLong, help: "Where to write the checkpoint. (default: <video name>.hone-x<scale>.ckpt in the current folder)")
    var output: String?

    @Flag(help: "Continue the interrupted run saved in the output checkpoint.")
    var resume = false

    @Option(help: "Override the config's pixel-loss weight.")
    var lossPixel: Float?

    @Option(help: "Override the config's perceptual weights, e.g. relu2_2=0.02,relu3_3=0.02 (empty string: none).")
    var lossPerceptual: String?

    @Option(help: "Override the config's gram (style) weight.")
    var lossGram: Float?

    func validate() throws {
        guard [2, 4].contains(scale) else { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard resume || video != nil else { throw ValidationError("--video is required (unless --resume)") }
        guard !resume || output != nil || video != nil else {
            throw ValidationError("--resume needs the checkpoint to continue: -o CHECKPOINT")
        }
    }

    func run() throws {
        let name = URL(fileURLWithPath: video ?? "clip").deletingPathExtension().lastPathComponent
        let outputPath = output ?? "\(name).hone-x\(scale).ckpt"

        // What to train: a fresh run, or the saved one.
        var record: RunRecord
        var saved: Checkpoint?
        if resume {
            saved = try Checkpoint.load(outputPath)
            record = try RunRecord(saved!, path: outputPath)
        } else {
            guard let path = config ?? ProjectFiles.find("configs/default.yaml") else {
                throw Failure("configs/default.yaml not found beside hone; pass --config")
            }
            var cfg = try HoneConfig.load(path)
            try applyLossOverrides(&cfg)
            record = RunRecord(config: cfg, scale: scale, video: URL(fileURLWithPath: video!).standardizedFileURL.path,
                               base: checkpoint ?? ProjectFiles.find("checkpoints/base-x\(scale).safetensors") ?? "random",
                               epochs: epochs)
        }

        let model: SRNet
        if record.base == "random" {
            model = try SRNet(record.config.model, scale: record.scale, seed: record.config.training.seed)
            if saved == nil { warn("no base checkpoint for ×\(record.scale): starting from random initialisation (the output starts as bicubic)") }
        } else {
            let (loaded, _) = try SRNet.load(checkpoint: record.base)
            guard loaded.scale == record.scale, loaded.config == record.config.model else {
                throw Failure("\(record.base): its model (×\(loaded.scale), \(loaded.config)) does not match the config (×\(record.scale), \(record.config.model))")
            }
            model = loaded
        }

        Interrupt.install()
        let decodeBar = ProgressBar("decode")
        let frames = try FrameCache(video: record.video) { done, total in
            if Interrupt.requested != 0 { throw ExitCode(130) }
            decodeBar.update(done, of: total)
        }
        decodeBar.finish()
        let trainer = try Trainer(model: model, config: record.config, frames: frames, epochs: record.epochs)
        say("\(frames.count) frames of \(frames.width)×\(frames.height): \(trainer.trainFrames.count) to train on, "
              + "\(trainer.validationFrames.count) to validate; \(model.parameterCount) parameters; "
              + "\(trainer.stepsPerEpoch) steps per epoch of \(record.config.training.batch) crops of \(record.config.training.patch)²")

        let upscale = Upscaler(model)
        if let saved {
            try trainer.resume(from: saved, bestScore: record.validation["model"], path: outputPath)
            say("resuming at step \(trainer.step) of \(trainer.totalSteps)")
        } else {
            record.validation["bicubic"] = try trainer.validate { try resizeBicubic($0, .up(record.scale)) }
            record.validation["base"] = try trainer.validate(upscale.callAsFunction)
            say("validation Y-PSNR/SSIM  bicubic \(record.validation["bicubic"]!)  start \(record.validation["base"]!)")
        }

        func save() throws {
            record.epochsDone = trainer.step / trainer.stepsPerEpoch
            try trainer.checkpoint(metadata: record.metadata).save(to: outputPath)
        }

        let bar = ProgressBar("train", unit: "steps")
        defer { bar.finish() }
        var recent: [Float] = []
        do {
            while trainer.step < trainer.totalSteps {
                if Interrupt.requested != 0 { throw ExitCode(130) }
                let (loss, _) = try trainer.trainStep()
                recent = Array((recent + [loss]).suffix(20))
                bar.update(trainer.step, of: trainer.totalSteps,
                           extra: String(format: "loss %.4f  epoch %d/%d", recent.reduce(0, +) / Float(recent.count),
                                         (trainer.step - 1) / trainer.stepsPerEpoch + 1, record.epochs))
                if trainer.step % trainer.stepsPerEpoch == 0 {
                    let epoch = trainer.step / trainer.stepsPerEpoch
                    let scores = try trainer.validate(upscale.callAsFunction)
                    trainer.record(scores)
                    record.validation["model"] = trainer.best?.score
                    bar.finish()
                    say("epoch \(epoch)/\(record.epochs)  validation Y-PSNR/SSIM  bicubic \(record.validation["bicubic"].map(\.description) ?? "-")  "
                          + "start \(record.validation["base"].map(\.description) ?? "-")  fine-tuned \(scores)")
                    try save()
                }
            }
        } catch let exit as ExitCode where exit == ExitCode(130) {
            try save()
            bar.finish()
            say("interrupted at step \(trainer.step); saved \(outputPath). Continue with: hone finetune --resume -o \(outputPath)")
            throw exit
        }
        say("wrote \(outputPath)\nnext: hone infer --checkpoint \(outputPath)")
    }

    func applyLossOverrides(_ cfg: inout HoneConfig) throws {
        if let lossPixel { cfg.loss.pixel = lossPixel }
        if let lossGram { cfg.loss.gram = lossGram }
        if let lossPerceptual {
            var weights: [String: Float] = [:]
            for item in lossPerceptual.split(separator: ",") {
                let parts = item.split(separator: "=")
                guard parts.count == 2, let w = Float(parts[1]) else {
                    throw ValidationError("--loss-perceptual: '\(item)' is not layer=weight")
                }
                weights[String(parts[0])] = w
            }
            cfg.loss.perceptual = weights
        }
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}
