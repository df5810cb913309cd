import ArgumentParser
import Autograd
import Foundation
import SuperResolution

/// Options `finetune` and `pretrain` share.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Upscaling factor: 2 or 4.")
    var scale = 2

    @Option(help: "Model, degradation, loss and schedule. (default: configs/default.yaml for finetune, configs/pretrain.yaml for pretrain)")
    var config: String?

    @Flag(help: "Continue the interrupted run saved in the output checkpoint.")
    var resume = false

    @Option(help: "Minutes between checkpoints, besides the one after every epoch.")
    var saveEvery: Double = 5

    @Option(help: "Append the mean loss every 50 steps and each epoch's validation to this TSV file (for loss curves).")
    var log: String?

    @Option(help: "Override the config's pixel-loss weight.")
    var lossPixel: Float?

    @Option(help: "Override the config's perceptual weights, e.g. relu2_2=0.02,relu3_3=0.02 (empty string: none).")
    var lossPerceptual: String?

    @Option(help: "Override the config's gram (style) weight.")
    var lossGram: Float?

    func validate() throws {
        guard [2, 4].contains(scale) else { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        guard saveEvery > 0 else { throw ValidationError("--save-every must be positive") }
    }

    /// The config file (or the shipped `fallback`) with the loss overrides applied.
    func loadConfig(fallback: String) throws -> HoneConfig {
        guard let path = config ?? ProjectFiles.find(fallback) else { throw Failure("\(fallback) not found beside hone; pass --config") }
        var cfg = try HoneConfig.load(path)
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
        return cfg
    }
}

/// One training run, fresh or resumed from its own checkpoint: the model it
/// starts from, then the loop — steps with a progress bar, validation and a
/// checkpoint after every epoch, a checkpoint every few minutes and on Ctrl-C.
struct TrainingRun {
    var record: RunRecord
    let saved: Checkpoint?
    let output: String
    let options: TrainingOptions
    /// The subcommand, for the resume hint.
    let command: String

    /// Resumes the run saved at `output`, or starts the one `fresh()` describes.
    init(_ command: String, output: String, options: TrainingOptions, fresh: () throws -> RunRecord) throws {
        (self.command, self.output, self.options) = (command, output, options)
        if options.resume {
            let file = try Checkpoint.load(output)
            (saved, record) = (file, try RunRecord(file, path: output))
        } else {
            (saved, record) = (nil, try fresh())
        }
    }

    /// The record's base checkpoint, which must match the config, or random weights.
    func startingModel() throws -> SRNet {
        if record.base == "random" && saved == nil && record.images.isEmpty {
            warn("no base checkpoint for this model at ×\(record.scale): starting from random initialisation (the output starts as bicubic)")
        }
        return try Self.model(base: record.base, config: record.config, scale: record.scale)
    }

    /// A base checkpoint's model, which must match the config, or random weights
    /// for "random". A base of another scale gives the layers the scales share
    /// (a ×4 run can start from the ×2 model).
    static func model(base: String, config: HoneConfig, scale: Int) throws -> SRNet {
        guard base != "random" else { return try SRNet(config.model, scale: scale, seed: config.training.seed) }
        let file = try Checkpoint.load(base)
        let record = try RunRecord(file, path: base)
        guard record.config.model == config.model else {
            throw Failure("\(base): its model (\(record.config.model)) does not match the config (\(config.model))")
        }
        if record.scale == scale { return try SRNet.load(checkpoint: base).0 }
        let model = try SRNet(config.model, scale: scale, seed: config.training.seed)
        let copied = file.loadMatching(into: model)
        say("note: \(base) is a ×\(record.scale) model: \(copied) of \(model.namedTensors().count) tensors taken from it")
        return model
    }

    /// Trains to the end of the last epoch; `trained` names the model in the epoch lines.
    mutating func train(_ trainer: Trainer, trained: String) throws {
        let upscale = Upscaler(trainer.model)
        if let saved {
            try trainer.resume(from: saved, bestScore: record.validation["model"], path: output)
            say("resuming at step \(trainer.step) of \(trainer.totalSteps)")
        } else {
            record.validation["bicubic"] = try trainer.validate { try resizeBicubic($0, .up(record.scale)) }
            record.validation["base"] = try trainer.validate(upscale.callAsFunction)
            say("validation Y-PSNR/SSIM  bicubic \(record.validation["bicubic"]!)  start \(record.validation["base"]!)")
        }
        let log = try options.log.map { try LossLog($0) }

        var lastSave = Date()
        func save() throws {
            record.epochsDone = trainer.step / trainer.stepsPerEpoch
            try trainer.checkpoint(metadata: record.metadata).save(to: output)
            lastSave = Date()
        }

        let bar = ProgressBar("train", unit: "steps")
        defer { bar.finish() }
        var recent: [Float] = []
        do {
            while trainer.step < trainer.totalSteps {
                if Interrupt.requested != 0 { throw ExitCode(130) }
                let (loss, _) = try trainer.trainStep()
                recent = Array((recent + [loss]).suffix(50))
                let mean = recent.reduce(0, +) / Float(recent.count)
                if trainer.step % 50 == 0 { log?.write(step: trainer.step, "loss", Double(mean)) }
                bar.update(trainer.step, of: trainer.totalSteps,
                           extra: String(format: "loss %.4f  epoch %d/%d", mean, (trainer.step - 1) / trainer.stepsPerEpoch + 1, trainer.epochs)
                               + (trainer.perceptualActive && !trainer.config.loss.perceptual.isEmpty ? "  +perceptual" : ""))
                if trainer.step % trainer.stepsPerEpoch == 0 {
                    let epoch = trainer.step / trainer.stepsPerEpoch
                    let scores = try trainer.validate(upscale.callAsFunction)
                    trainer.record(scores)
                    record.validation["model"] = trainer.best?.score
                    log?.write(step: trainer.step, "validation_psnr", scores.psnr)
                    bar.finish()
                    say("epoch \(epoch)/\(trainer.epochs)  validation Y-PSNR/SSIM  bicubic \(record.validation["bicubic"].map(\.description) ?? "-")  "
                          + "start \(record.validation["base"].map(\.description) ?? "-")  \(trained) \(scores)")
                    try save()
                } else if Date().timeIntervalSince(lastSave) > options.saveEvery * 60 {
                    try save()
                }
            }
        } catch let exit as ExitCode where exit == ExitCode(130) {
            try save()
            bar.finish()
            say("interrupted at step \(trainer.step); saved \(output). Continue with: hone \(command) --resume -o \(output)")
            throw exit
        }
    }
}

/// A TSV of (step, quantity, value) lines, appended to across resumes.
struct LossLog {
    let handle: FileHandle

    init(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: Data("step\tquantity\tvalue\n".utf8)) else {
                throw Failure("\(path): cannot create the log file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw Failure("\(path): cannot open the log file") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func write(step: Int, _ quantity: String, _ value: Double) {
        handle.write(Data("\(step)\t\(quantity)\t\(String(format: "%.6f", value))\n".utf8))
    }
}

/// The shipped base model for this scale if it is the config's model, else "random".
func shippedBase(scale: Int, config: HoneConfig) -> String {
    guard let path = ProjectFiles.find("checkpoints/base-x\(scale).safetensors") else { return "random" }
    guard let file = try? Checkpoint.load(path), let record = try? RunRecord(file, path: path), record.config.model == config.model else {
        return "random"
    }
    return path
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}
