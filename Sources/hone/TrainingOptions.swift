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

    var scaleOrDefault: Int { scale ?? 2 }

    func validate() throws {
        if let scale, ![2, 4].contains(scale) { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        guard saveEvery > 0 else { throw ValidationError("--save-every must be positive, got \(saveEvery)") }
        if let lossPixel, !(lossPixel >= 0) { throw ValidationError("--loss-pixel must be 0 or more, got \(lossPixel)") }
        if let lossGram, !(lossGram >= 0) { throw ValidationError("--loss-gram must be 0 or more, got \(lossGram)") }
        _ = try perceptualWeights()
    }

    /// --loss-perceptual as layer → weight.
    func perceptualWeights() throws -> [String: Float]? {
        guard let lossPerceptual else { return nil }
        var weights: [String: Float] = [:]
        for item in lossPerceptual.split(separator: ",") {
            let parts = item.split(separator: "=")
            guard parts.count == 2, let weight = Float(parts[1]), weight >= 0 else {
                throw ValidationError("--loss-perceptual: '\(item)' is not layer=weight with a weight of 0 or more")
            }
            guard VGGLayer(rawValue: String(parts[0])) != nil else {
                throw ValidationError("--loss-perceptual: unknown layer \(parts[0]); use \(VGGLayer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            weights[String(parts[0])] = weight
        }
        return weights
    }

    /// `config` with the loss overrides applied.
    func overriding(_ config: HoneConfig) throws -> HoneConfig {
        var config = config
        if let lossPixel { config.loss.pixel = lossPixel }
        if let lossGram { config.loss.gram = lossGram }
        if let weights = try perceptualWeights() { config.loss.perceptual = weights }
        return config
    }

    /// The config file (or the shipped `fallback`) with the loss overrides applied, checked for the scale.
    func loadConfig(fallback: String) throws -> HoneConfig {
        guard let path = config ?? ProjectFiles.find(fallback) else { throw Failure("\(fallback) not found beside hone; pass --config") }
        let loaded = try overriding(try HoneConfig.load(path))
        if let problem = loaded.problems().first ?? loaded.problem(scale: scaleOrDefault) { throw FileError(path, problem) }
        return loaded
    }

    /// The run writing `output`: resumed (the config and scale given again must
    /// be the run's own), or fresh from `fresh(config)`.
    func run(output: String, fallback: String, fresh: (HoneConfig) throws -> RunRecord) throws -> TrainingRun {
        var run = try TrainingRun(output: output, resume: resume, inputs: config.map { [$0] } ?? []) {
            try fresh(try loadConfig(fallback: fallback))
        }
        if resume {
            try run.requireUnchanged("--scale", given: scale.map(String.init), started: "\(run.record.scale)")
            let wanted = try overriding(try config.map(HoneConfig.load) ?? run.record.config)
            guard wanted == run.record.config else {
                throw FileError(output, "this run was started with another config or loss weights; drop --config and --loss-* to resume it, "
                                + "or start a new run under another name")
            }
        }
        (run.saveEvery, run.log) = (saveEvery, log)
        return run
    }
}

/// The CLI's usual handling of a cancelled training run: the resume hint, exit 130.
func trainOrExplain(_ command: String, _ run: inout TrainingRun, _ trainer: Trainer, trained: String, observer: JobObserver) throws {
    do { try run.train(trainer, trained: trained, observer: observer) } catch is JobCancelled {
        say("Continue with: hone \(command) --resume -o \(run.output)")
        throw ExitCode(130)
    }
}
