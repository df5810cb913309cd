import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// `hone finetune --light`: a light model (`CurveNet`) fine-tuned on a video's
/// own frames with zero-reference losses (`LightTuning`), written as a
/// checkpoint that `hone infer --light auto --light-checkpoint` uses.
public struct LightFinetuneJob {
    public var video: String
    /// Where the checkpoint goes; nil: `<video name>.hone-light.ckpt` in the current folder.
    public var output: String?
    /// The light model to start from; nil: the shipped base.
    public var start: String?
    public var tuning = LightTuning()

    /// At most this many frames are learnt from, spread through the video (a 10-s clip keeps every frame).
    public static let frameLimit = 300

    public init(video: String) { self.video = video }

    public var outputPath: String { output ?? outputName(for: video, ".hone-light.ckpt") }

    public struct Report: Sendable {
        public let output: String, frames: Int, seconds: Double
        public let tuning: LightTuning.Report
    }

    /// - Throws: `FileError`/`VideoIOError` naming the file at fault; `UsageError` for a video too short or small; `JobCancelled` (nothing written).
    public func run(_ observer: JobObserver) throws -> Report {
        let clock = Date()
        let startPath = try start ?? LightSetting.shippedPath()
        // The whole curve: the fine-tune learns it; `--light auto` judges each picture when it is used.
        let setting = LightSetting(strength: .fixed(1), checkpoint: startPath)
        let (model, startModel) = (try setting.load(), try setting.load())
        let (_, startRecord) = try loadNetwork(checkpoint: startPath)
        let lock = try OutputLock(outputPath, inputs: [video, startPath])
        defer { withExtendedLifetime(lock) {} }
        let info = try MediaInput(video).info
        // Refused before decoding: crops of at least 32×32 pixels are taken from the frames.
        if min(info.width, info.height) < 32 {
            throw FileError(video, "frames of \(info.width)×\(info.height) are too small for a light fine-tune (32×32 at least)")
        }
        let sampling = FrameSampling(video: info, rate: nil, budget: Self.frameLimit * info.width * info.height * 3)
        let frames = try FrameCache(video: video, sampling: sampling, progress: observer.progress("decode", unit: "frames"))
        observer.finishStage()
        observer.report("\(video): learning light and colour from \(frames.count) frame\(frames.count == 1 ? "" : "s") (\(sampling)), zero-reference losses, from \(setting.description)")
        let report = try tuning.run(model, start: startModel, frames: frames, observer: observer)
        var record = RunRecord(config: startRecord.config, scale: 1, video: URL(fileURLWithPath: video).standardizedFileURL.path,
                               base: .checkpoint(startPath), epochs: tuning.epochs, epochsDone: tuning.epochs)
        record.targets = .frames
        try Checkpoint(tensors: model.namedTensors(), metadata: record.metadata).save(to: outputPath)
        return Report(output: outputPath, frames: frames.count, seconds: Date().timeIntervalSince(clock), tuning: report)
    }
}

extension EvaluateJob {
    /// `hone evaluate --light`: the truth at ×1, damaged as asked (or left as it is, to see that
    /// good light is kept), corrected by the shipped light base, by it with the ×1 restoration
    /// base after and before it when the damage holds noise or compression, by the light model fine-tuned
    /// on the damaged clip (zero-reference), and by FFmpeg's light tools (every setting, each
    /// tool's best shown: a ceiling, since it is chosen against the truth).
    /// - Throws: `UsageError` for another scale; as `run`.
    func runLight(_ observer: JobObserver) throws -> Report {
        if let scale = settings.scale, scale != 1 { throw UsageError("--light corrects at the input's size: drop --scale \(scale)") }
        var stages: [String: Double] = [:]
        var clock = Date()
        func lap(_ stage: String) { stages[stage] = Date().timeIntervalSince(clock); clock = Date() }
        let base = try LightSetting().load()
        let others = try also.map { path in (name: StartingModel.checkpoint(path).fileName, model: try loadNetwork(checkpoint: path).0) }
        if let wrong = others.first(where: { $0.model.scale != 1 }) { throw UsageError("--also: \(wrong.name) upscales ×\(wrong.model.scale); --light scores at ×1") }
        let gt = try GroundTruth.load(groundTruth, scale: 1, frames: frames, damages: damages, observer: observer)
        lap(damages.isEmpty ? "decode" : "decode and damage")
        var methods: [(name: String, enhance: (FrameWindow) throws -> Tensor)] = [("input", { $0.image }), (LightSetting.shippedName, { try base($0.image) })]
        let restorer = try damages.contains(where: \.isNoiseOrCompression) ? ProjectFiles.find("checkpoints/base-x1.safetensors").map {
            TiledUpscaler(try loadNetwork(checkpoint: $0).0)
        } : nil
        if let restorer {
            // Both orders: the curves amplify noise that the restoration base was not trained on.
            methods.append(("\(LightSetting.shippedName), then base-x1", { try restorer(try base($0.image)) }))
            methods.append(("base-x1, then \(LightSetting.shippedName)", { try base(try restorer($0.image)) }))
        }
        if epochs > 0 {
            guard gt.isVideo else { throw UsageError("a light fine-tune learns from a video's consecutive frames: give a ground-truth video, or --epochs 0") }
            var tuning = LightTuning()
            tuning.epochs = epochs
            let tuned = try LightSetting().load()
            let report = try tuning.run(tuned, start: try LightSetting(strength: .fixed(1)).load(), frames: gt.lowRes, observer: observer)
            observer.report(String(format: "light fine-tune: %d steps, mean brightness kept near %.2f of white", report.steps, report.level))
            methods.append(("fine-tuned", { try tuned($0.image) }))
            if let restorer { methods.append(("base-x1, then fine-tuned", { try tuned(try restorer($0.image)) })) }
            lap("fine-tune")
        }
        methods += others.map { other in (other.name, { try TiledUpscaler(other.model)($0.image) }) }
        var scores = try Grad.disabled { try gt.score(methods, observer: observer) }
        let truthLuma = gt.scored.reduce(0) { $0 + Metrics.meanY(gt.truth.frame($1), border: 1) } / Double(gt.scored.count)
        lap("score")
        let tools = try gt.scoreSettings(ClassicalLightTool.allCases.map { ($0.settings, false) }, observer: observer)
        scores.insert(contentsOf: tools.best, at: 1)
        lap("FFmpeg's light tools")
        return Report(groundTruth: groundTruth, scale: 1, frames: gt.scored.count, epochs: epochs, methods: scores, stages: stages,
                      isVideo: gt.isVideo, checkpoints: [], targets: "zero-reference", damages: damages.map(\.description),
                      inputDamage: gt.inputDamage, settings: tools.all, truthMeanLuma: truthLuma)
    }
}
