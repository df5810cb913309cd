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
            The checkpoint holds the weights that validated best (saved atomically after every \
            epoch, every --save-every minutes and on Ctrl-C); `--resume` continues an \
            interrupted run exactly.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (checkpoint saved).
            """)

    @Option(help: "The video to learn (any file or URL FFmpeg reads).")
    var video: String?

    @Option(help: "Passes over the training frames.")
    var epochs = 3

    @Option(help: "Starting checkpoint, or `random`. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(name: .shortAndLong, help: "Where to write the checkpoint. (default: <video name>.hone-x<scale>.ckpt in the current folder)")
    var output: String?

    @OptionGroup var training: TrainingOptions

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard training.resume || video != nil else { throw ValidationError("--video is required (unless --resume)") }
        guard !training.resume || output != nil || video != nil else {
            throw ValidationError("--resume needs the checkpoint to continue: -o CHECKPOINT")
        }
    }

    func run() throws {
        let scale = training.scale
        let name = URL(fileURLWithPath: video ?? "clip").deletingPathExtension().lastPathComponent
        var run = try TrainingRun("finetune", output: output ?? "\(name).hone-x\(scale).ckpt", options: training) {
            let config = try training.loadConfig(fallback: "configs/default.yaml")
            return RunRecord(config: config, scale: scale, video: URL(fileURLWithPath: video!).standardizedFileURL.path,
                             base: checkpoint ?? shippedBase(scale: scale, config: config), epochs: epochs)
        }
        let model = try run.startingModel()

        Interrupt.install()
        let decodeBar = ProgressBar("decode")
        let frames = try FrameCache(video: run.record.video) { done, total in
            if Interrupt.requested != 0 { throw ExitCode(130) }
            decodeBar.update(done, of: total)
        }
        decodeBar.finish()
        let trainer = try Trainer(model: model, config: run.record.config, frames: frames, epochs: run.record.epochs)
        let (w, h) = frames.sizes[0]
        say("\(frames.count) frames of \(w)×\(h): \(trainer.trainFrames.count) to train on, "
              + "\(trainer.validationFrames.count) to validate; \(model.parameterCount) parameters; "
              + "\(trainer.stepsPerEpoch) steps per epoch of \(run.record.config.training.batch) crops of \(run.record.config.training.patch)²")
        try run.train(trainer, trained: "fine-tuned")
        say("wrote \(run.output)\nnext: hone infer --checkpoint \(run.output)")
    }
}
