import ArgumentParser
import Foundation
import SuperResolution

/// Options `finetune`, `pretrain`, `evaluate` and `sweep` share.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Upscaling factor: 2 or 4. (default: 2; a resumed run keeps its own)")
    var scale: Int?

    @Option(help: "Model, degradation, loss and schedule. (default: configs/default.yaml for finetune, configs/pretrain.yaml for pretrain)")
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

    func validate() throws {
        if let scale, ![2, 4].contains(scale) { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        guard saveEvery > 0 else { throw ValidationError("--save-every must be positive, got \(saveEvery)") }
        if let lossPixel, !(lossPixel >= 0) { throw ValidationError("--loss-pixel must be 0 or more, got \(lossPixel)") }
        if let lossGram, !(lossGram >= 0) { throw ValidationError("--loss-gram must be 0 or more, got \(lossGram)") }
        _ = try settings()
    }

    /// The library's settings for these options.
    func settings() throws -> TrainingSettings {
        var settings = TrainingSettings()
        (settings.scale, settings.config, settings.resume, settings.saveEvery, settings.log) = (scale, config, resume, saveEvery, log)
        do {
            settings.loss = LossWeights(pixel: lossPixel, perceptual: try lossPerceptual.map(LossWeights.perceptual), gram: lossGram)
        } catch let error as UsageError {
            throw ValidationError("--loss-perceptual: \(error)")
        }
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
