import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training

/// Options `finetune`, `pretrain`, `evaluate` and `sweep` share.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Upscaling factor: 1 (restoration: compression and noise removed at the same size), 2, 3 or 4. (default: 2, or the starting checkpoint's; a resumed run keeps its own)")
    var scale: Int?

    @Option(help: "Model, degradation, loss and schedule. (default: configs/restore.yaml at --scale 1; else configs/pretrain.yaml for pretrain, configs/default.yaml otherwise)")
    var config: String?

    @Flag(help: "Continue the interrupted run saved in the output checkpoint.")
    var resume = false

    @Option(parsing: .unconditional, help: "Minutes between checkpoints, besides the one after every epoch.")
    var saveEvery: Double = 5

    @Option(help: "Append the mean loss every 50 steps and each epoch's validation to this TSV file (for loss curves).")
    var log: String?

    @Option(parsing: .unconditional, help: "Override the config's pixel-loss weight.")
    var lossPixel: Float?

    @Option(help: "Override the config's perceptual weights, e.g. relu2_2=0.02,relu3_3=0.02 (empty string: none).")
    var lossPerceptual: String?

    @Option(parsing: .unconditional, help: "Override the config's gram (style) weight.")
    var lossGram: Float?

    @Option(help: ArgumentHelp("What a video's fine-tune learns: frames (the video's frames from their degraded downscales, one scale below its own: sharper, lower PSNR; at --scale 1, from the frames damaged a little more than `hone info --analyse` finds them) or ensemble (the starting model's 8-way self-ensemble upscale of the frames, at the video's own scale). (default: ensemble from a trained Hone model; frames from random weights, an imported network, with --neighbours, or with perceptual or gram weights)", valueName: "kind"))
    var targets: TrainingTargets?

    @Option(parsing: .unconditional, help: ArgumentHelp("A multi-frame model: read k frames each side of the one enhanced, aligned by optical flow (1 or 2; 0: one frame). Evaluate fine-tunes it beside the single-frame model. (default: the config's model.neighbours)", valueName: "k"))
    var neighbours: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("The video's camera blur: a Gaussian σ in full-resolution pixels (the video's own, before any downscale; `--degrade lens:sigma=S` in evaluate makes such a blur). Training inputs are the frames blurred by it, then downscaled, so the fine-tune learns to undo this softness; implies --targets frames; 0: none. (default: at ×4, estimated from the video when it is soft (`hone info --analyse`); else none)", valueName: "σ"))
    var lensSigma: Float?

    /// The options given that a light run (`--light`) has no use for, as written on the command line.
    var givenButNotForLight: [String] {
        [("--scale", scale != nil), ("--config", config != nil), ("--resume", resume), ("--log", log != nil), ("--loss-pixel", lossPixel != nil),
         ("--loss-perceptual", lossPerceptual != nil), ("--loss-gram", lossGram != nil), ("--targets", targets != nil),
         ("--neighbours", neighbours != nil), ("--lens-sigma", lensSigma != nil)].filter(\.1).map(\.0)
    }

    func validate() throws {
        if let scale, !(1...4).contains(scale) { throw ValidationError("--scale must be 1 (restoration), 2, 3 or 4, got \(scale)") }
        guard saveEvery > 0 else { throw ValidationError("--save-every must be positive, got \(saveEvery)") }
        if let lossPixel, !(lossPixel >= 0) { throw ValidationError("--loss-pixel must be 0 or more, got \(lossPixel)") }
        if let lossGram, !(lossGram >= 0) { throw ValidationError("--loss-gram must be 0 or more, got \(lossGram)") }
        if let neighbours, !(0...2).contains(neighbours) { throw ValidationError("--neighbours must be 0, 1 or 2, got \(neighbours)") }
        if let lensSigma, !(lensSigma >= 0 && lensSigma <= 10) { throw ValidationError("--lens-sigma must be 0 to 10 pixels, got \(lensSigma)") }
        _ = try settings()
    }

    /// The library's settings for these options.
    func settings() throws -> TrainingSettings {
        var settings = TrainingSettings()
        (settings.scale, settings.config, settings.resume, settings.saveEvery, settings.log) = (scale, config, resume, saveEvery, log)
        (settings.neighbours, settings.targets, settings.lensSigma) = (neighbours, targets, lensSigma)
        do {
            settings.loss = LossWeights(pixel: lossPixel, perceptual: try lossPerceptual.map(LossWeights.perceptual), gram: lossGram)
        } catch let error as UsageError {
            throw ValidationError("--loss-perceptual: \(error)")
        }
        return settings
    }
}

/// How many of a video's frames fine-tuning learns from (`finetune`, `evaluate`).
struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Learn from this many frames per second of video, spread over all of it (e.g. 0.1 for a film). (default: every frame, unless they overflow --cache-budget)", valueName: "fps"))
    var sample: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Disk the frame cache may fill, in GB; a longer video is sampled to fit.", valueName: "GB"))
    var cacheBudget: Double = Double(FrameSampling.defaultBudget) / 1e9

    func validate() throws {
        if let sample, !(sample > 0 && sample <= 1000) { throw ValidationError("--sample must be above 0 and at most 1000 frames a second, got \(sample)") }
        guard cacheBudget >= 0.0001, cacheBudget <= 1e6 else { throw ValidationError("--cache-budget must be 0.0001 GB (100 kB) or more, got \(cacheBudget)") }
    }

    /// `settings` with these options applied.
    func applied(to settings: TrainingSettings) -> TrainingSettings {
        var settings = settings
        (settings.sampleRate, settings.cacheBudget) = (sample, Int(cacheBudget * 1e9))
        return settings
    }
}

/// Runs a training job; when it is cancelled after saving, prints how to resume.
func trainOrExplain<T>(_ command: String, _ train: () throws -> T) throws -> T {
    do { return try train() } catch let cancelled as JobCancelled {
        if let saved = cancelled.saved { say("Continue with: hone \(command) --resume -o \(saved)") }
        throw cancelled
    }
}

extension TrainingTargets: ExpressibleByArgument {}
