import Foundation
import Networks
import Quality
import Training

/// A request a job cannot run as asked (a missing input, options that
/// contradict each other): not a file's fault. The CLI shows it as a usage
/// error (exit 64), a server as a bad request.
public struct UsageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The default output name for `input`: its name without the extension plus
/// `suffix` (".hone-x2.ckpt"), in the current folder.
public func outputName(for input: String, _ suffix: String) -> String {
    URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent + suffix
}

/// Where a training run's weights start.
public enum StartingModel: Equatable, Sendable {
    /// The shipped base for the scale (checkpoints/base-x<scale>.safetensors; ×3
    /// takes the ×2 base's layers but its upsampler) when it holds the config's model, else `random`.
    case shipped
    /// Random weights with a zero last layer: the untrained model is exactly bicubic.
    case random
    /// A checkpoint file; one of another scale gives the layers the scales share.
    case checkpoint(String)

    /// `random`, `shipped`, or a checkpoint's path.
    public init(_ argument: String) {
        self = switch argument {
        case "random": .random
        case "shipped": .shipped
        default: .checkpoint(argument)
        }
    }

    /// As written on a command line and in a checkpoint's metadata.
    public var argument: String {
        switch self {
        case .shipped: "shipped"
        case .random: "random"
        case .checkpoint(let path): path
        }
    }

    /// `.shipped` made concrete: the shipped base for the scale when it holds the config's model, else `.random`.
    public func resolved(scale: Int, config: HoneConfig) -> StartingModel {
        guard self == .shipped else { return self }
        guard let path = ProjectFiles.find("checkpoints/base-x\(scale == 3 ? 2 : scale).safetensors"),
              let file = try? Checkpoint.load(path), let record = try? RunRecord(file, path: path),
              record.config.model.singleFrame == config.model.singleFrame, record.config.model.radius == 0 else {
            return .random
        }
        return .checkpoint(path)
    }

    /// Why a run at `run` cannot start from a base of scale `base`, or nil: a ×1
    /// (restoration) model and an enlarging one learn different things, so
    /// neither is a start for the other (layers are shared only between ×2, ×3 and ×4).
    public static func scaleProblem(base: Int, run: Int) -> String? {
        guard (base == 1) != (run == 1) else { return nil }
        return "is a ×\(base) model, and a ×\(run) run cannot start from it: ×1 restores, ×2–×4 enlarge; "
            + (run == 1 ? "start from checkpoints/base-x1.safetensors (the default) or random" : "drop --checkpoint to start from the shipped ×\(run) base")
    }

    /// How score tables name a model started from here.
    public var label: String { self == .random ? "base (random init)" : "base" }
}

/// Loss weights that replace a config's (nil: the config's own).
public struct LossWeights: Equatable, Sendable {
    public var pixel: Float?
    public var perceptual: [VGGLayer: Float]?
    public var gram: Float?

    public init(pixel: Float? = nil, perceptual: [VGGLayer: Float]? = nil, gram: Float? = nil) {
        (self.pixel, self.perceptual, self.gram) = (pixel, perceptual, gram)
    }

    /// Weights written `relu2_2=0.02,relu3_3=0.02` (empty: none).
    /// - Throws: `UsageError` naming the item that is not `layer=weight` with a known layer and a weight ≥ 0.
    public static func perceptual(_ text: String) throws -> [VGGLayer: Float] {
        var weights: [VGGLayer: Float] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=")
            guard parts.count == 2, let weight = Float(parts[1]), weight >= 0 else {
                throw UsageError("'\(item)' is not layer=weight with a weight of 0 or more")
            }
            guard let layer = VGGLayer(rawValue: String(parts[0])) else {
                throw UsageError("unknown layer \(parts[0]); use \(VGGLayer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            weights[layer] = weight
        }
        return weights
    }

    /// Whether perceptual or gram terms are asked for (a weight above 0).
    public var asksForPerceptualTerms: Bool { (perceptual ?? [:]).values.contains { $0 > 0 } || (gram ?? 0) > 0 }

    /// `config` with these weights in place of its own.
    public func applied(to config: HoneConfig) -> HoneConfig {
        var config = config
        if let pixel { config.loss.pixel = pixel }
        if let gram { config.loss.gram = gram }
        if let perceptual { config.loss.perceptual = Dictionary(uniqueKeysWithValues: perceptual.map { ($0.key.rawValue, $0.value) }) }
        return config
    }
}

/// What every training job (fine-tune, pretrain, evaluate, sweep) is asked
/// besides its data.
public struct TrainingSettings: Sendable {
    /// 2, 3 or 4; nil: the starting checkpoint's (`adopt`), 2, or a resumed run's own.
    public var scale: Int?
    /// A YAML config; nil: the job's shipped one.
    public var config: String?
    public var loss = LossWeights()
    /// Continue the interrupted run saved in the output checkpoint.
    public var resume = false
    /// Minutes between timed checkpoints.
    public var saveEvery: Double = 5
    /// A TSV to append the loss and validation to.
    public var log: String?
    /// Frames learned from per second of video (nil: every frame, unless they overflow the budget).
    public var sampleRate: Double?
    /// Disk bytes the frame cache may fill; a longer video is sampled to fit.
    public var cacheBudget = FrameSampling.defaultBudget

    /// What a video's fine-tune learns to produce; nil: `TrainingTargets.automatic` (a resumed run keeps its own).
    public var targets: TrainingTargets?
    /// Frames each side a multi-frame model reads (k, replacing the config's `model.neighbours`); nil: the config's.
    public var neighbours: Int?

    /// The starting checkpoint's model, which replaces the config's (`adopt`).
    var baseModel: ModelConfig?

    public init() {}

    public var scaleOrDefault: Int { scale ?? 2 }

    /// The shipped config of every ×1 (restoration) job: a small model and the damage mix it learns to undo.
    public static let restorationConfig = "configs/restore.yaml"

    /// Takes a starting checkpoint's model (any architecture: an imported
    /// Real-ESRGAN one too) in place of the config's, and its scale unless one was given.
    /// - Throws: `FileError` naming the checkpoint when it cannot be read; `UsageError` for a scale an imported network cannot make.
    public mutating func adopt(_ start: StartingModel) throws {
        guard case .checkpoint(let path) = start, !resume else { return }
        let record = try RunRecord(try Checkpoint.load(path), path: path)
        let scale = scale ?? record.scale
        if let problem = StartingModel.scaleProblem(base: record.scale, run: scale) { throw UsageError("--scale \(scale): \(path) \(problem)") }
        if scale != record.scale, record.config.model.layout != .hone {
            throw UsageError("--scale \(scale): \(path) holds a ×\(record.scale) \(record.config.model.layout.networkName), "
                             + "which fine-tunes at its own scale only; drop --scale or pass --scale \(record.scale)")
        }
        (self.scale, baseModel) = (scale, record.config.model)
    }

    /// The config file (or the shipped `fallback`, e.g. "configs/default.yaml")
    /// with the loss weights applied, checked for the scale.
    /// - Throws: `FileError` naming the config and what is wrong in it.
    public func loadConfig(fallback: String) throws -> HoneConfig {
        let fallback = scaleOrDefault == 1 ? Self.restorationConfig : fallback
        guard let path = config ?? ProjectFiles.find(fallback) else { throw FileError(fallback, "not found beside hone; pass a config") }
        var loaded = loss.applied(to: try HoneConfig.load(path))
        if let baseModel { loaded.model = baseModel }
        if let neighbours { loaded.model.neighbours = neighbours }
        if targets == .ensemble && loaded.model.radius > 0 { throw TrainingTargets.singleFrameOnly }
        if targets == .ensemble && loss.asksForPerceptualTerms {
            throw UsageError("ensemble targets train on the pixel loss alone: drop --loss-perceptual and --loss-gram, or use --targets frames")
        }
        if let problem = loaded.problems().first ?? loaded.problem(scale: scaleOrDefault) { throw FileError(path, problem) }
        return loaded
    }

    /// The run writing `output`: resumed (a scale, config or loss weights given
    /// again must be the run's own), or fresh from `fresh(config)`.
    /// - Throws: as `TrainingRun.init`, and `FileError` when a resumed run is asked to change.
    public func openRun(output: String, fallback: String, fresh: (HoneConfig) throws -> RunRecord) throws -> TrainingRun {
        var run = try TrainingRun(output: output, resume: resume, log: log, inputs: config.map { [$0] } ?? []) {
            try fresh(try loadConfig(fallback: fallback))
        }
        if resume {
            try run.requireUnchanged("--scale", given: scale.map(String.init), started: "\(run.record.scale)")
            try run.requireUnchanged("--neighbours", given: neighbours.map(String.init), started: "\(run.record.config.model.radius)")
            try run.requireUnchanged("--targets", given: targets?.rawValue, started: run.record.targets.rawValue)
            var given = loss.applied(to: try config.map(HoneConfig.load) ?? run.record.config)
            given.model.neighbours = run.record.config.model.neighbours  // checked above
            guard given == run.record.config else {
                throw FileError(output, "this run was started with another config or loss weights; drop --config and --loss-* to resume it, "
                                + "or start a new run under another name")
            }
        }
        run.saveEvery = saveEvery
        return run
    }
}
