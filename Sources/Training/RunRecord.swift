import Autograd
import Foundation
import Networks
import Quality

/// What a Hone checkpoint records besides tensors, as `hone.*` metadata:
/// enough to rebuild the model, resume the run, and report it.
public struct RunRecord {
    public var config: HoneConfig
    public var scale: Int
    /// The video fine-tuned on (absolute path; empty for pretraining).
    public var video: String
    /// Where the weights started: a checkpoint, or random (never `.shipped`, which is resolved first).
    public var base: StartingModel
    /// The photographs pretrained on (absolute paths; empty for fine-tuning).
    public var images: [String]
    public var epochs: Int, epochsDone: Int
    /// Steps in an epoch when fixed by the run rather than by the data (pretraining).
    public var epochSteps: Int?
    /// Validation scores by name: bicubic, base, model.
    public var validation: [String: Score]
    /// Which of the video's frames were learned from (nil: every one, or photographs).
    public var sampling: FrameSampling?
    /// What a video's fine-tune learnt to produce.
    public var targets = TrainingTargets.frames
    /// What the analysis of the video found and chose, in the one line it said (nil when the video was not analysed).
    public var damageFound: String?

    public init(config: HoneConfig, scale: Int, video: String = "", images: [String] = [], base: StartingModel, epochs: Int,
                epochSteps: Int? = nil, epochsDone: Int = 0, validation: [String: Score] = [:]) {
        (self.config, self.scale, self.video, self.images, self.base) = (config, scale, video, images, base)
        (self.epochs, self.epochSteps, self.epochsDone, self.validation) = (epochs, epochSteps, epochsDone, validation)
    }

    /// What validation's "bicubic" score is of: at ×1, bicubic is the damaged input itself.
    public var kernelLabel: String { scale == 1 ? "input" : "bicubic" }

    public init(_ checkpoint: Checkpoint, path: String) throws {
        let m = checkpoint.metadata
        guard let json = m["hone.config"], let config = try? HoneConfig.fromJSON(json), let scale = Int(m["hone.scale"] ?? "") else {
            throw FileError(path, "is not a Hone checkpoint (its metadata has no config and scale)")
        }
        // A checkpoint can come from anyone: its model must be one Hone would build from a config file.
        if let problem = config.problems().first { throw FileError(path, "its config is not valid: \(problem)") }
        guard (1...4).contains(scale) else { throw FileError(path, "its scale is \(scale); Hone's models restore at ×1 or upscale ×2, ×3 or ×4") }
        func decoded<T: Decodable>(_ key: String, _ empty: T) -> T {
            m[key].flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) } ?? empty
        }
        self.init(config: config, scale: scale, video: m["hone.video"] ?? "", images: decoded("hone.images", []),
                  base: StartingModel(m["hone.base"] ?? "random"), epochs: Int(m["hone.epochs"] ?? "") ?? 0,
                  epochSteps: m["hone.epoch_steps"].flatMap { Int($0) }, epochsDone: Int(m["hone.epochs_done"] ?? "") ?? 0,
                  validation: decoded("hone.validation", [:]))
        targets = m["hone.targets"].flatMap(TrainingTargets.init) ?? .frames
        damageFound = m["hone.damage_found"]
        if let limit = m["hone.frame_limit"].flatMap({ Int($0) }) {
            sampling = FrameSampling(rate: m["hone.sample_fps"].flatMap { Double($0) }.flatMap { $0 > 0 ? $0 : nil }, limit: max(limit, 1))
        }
    }

    public var metadata: [String: String] {
        // Sorted keys: the same run writes the same bytes.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) -> String { String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) }
        var m = ["hone.format": "hone-checkpoint-1", "hone.config": config.json(), "hone.scale": "\(scale)",
                 "hone.video": video, "hone.images": json(images), "hone.base": base.argument, "hone.epochs": "\(epochs)",
                 "hone.epochs_done": "\(epochsDone)", "hone.validation": json(validation)]
        if let epochSteps { m["hone.epoch_steps"] = "\(epochSteps)" }
        if targets != .frames { m["hone.targets"] = targets.rawValue }
        if let damageFound { m["hone.damage_found"] = damageFound }
        if let sampling {
            m["hone.frame_limit"] = "\(sampling.limit)"
            if let rate = sampling.rate { m["hone.sample_fps"] = "\(rate)" }
        }
        return m
    }
}

/// A model and its checkpoint's record, built from the config and scale the checkpoint holds.
/// - Throws: `FileError` naming `path` when it cannot be read, is not a Hone checkpoint, or lacks a tensor of its model.
public func loadNetwork(checkpoint path: String) throws -> (any UpscalingNetwork, RunRecord) {
    let file = try Checkpoint.load(path)
    let record = try RunRecord(file, path: path)
    let model: any UpscalingNetwork
    do { model = try makeNetwork(record.config.model, scale: record.scale) } catch let error as ShapeError {
        throw FileError(path, "holds a model Hone cannot build (\(error))")
    }
    try file.load(into: model, path: path)
    return (model, record)
}
