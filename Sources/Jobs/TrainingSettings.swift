import Foundation
import Networks
import Quality
import Training

/// The default output name for `input`: its name without the extension plus
/// `suffix` (".hone-x2.ckpt"), in the current folder.
public func outputName(for input: String, _ suffix: String) -> String {
    URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent + suffix
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
    /// The video's camera blur, σ in full-resolution pixels (`Damage.lens`): training inputs are the
    /// frames blurred by it before the downscale, replacing the config's `degradation.lens_blur`; nil: the config's.
    public var lensSigma: Float?

    /// The starting checkpoint's model, which replaces the config's (`adopt`).
    var baseModel: ModelConfig?

    public init() {}

    public var scaleOrDefault: Int { scale ?? 2 }

    /// What a fresh run from `base` learns: the targets asked for, else frames when it learns the
    /// video's own blur (a teacher's output knows nothing of it), else `TrainingTargets.automatic`.
    public func targets(base: StartingModel, model: ModelConfig) -> TrainingTargets {
        targets ?? ((lensSigma ?? 0) > 0 ? .frames : .automatic(base: base, model: model, loss: loss))
    }

    /// The lens blur σ (full-resolution pixels) a fresh ×4 run learns when none was asked for
    /// (no --lens-sigma, --targets or `lens_blur`): the softness `estimate` finds beyond a sharp
    /// scene's, √(σ̂² − σ₀²) with σ₀ = `LensEstimate.sharpSceneAtX4`, when it reaches
    /// `LensEstimate.worthLearning`; nil otherwise (today's default). Only at ×4: in ground-truth
    /// runs at ×2 (a lens blur, then x264) learning the blur, or the blur and the codec, from the
    /// frames lost up to 0.85 dB: at ×2 the frames hold the damage (notebooks-notes/real-damage.md).
    public func automaticLens(_ estimate: DamageEstimate, scale: Int, config: HoneConfig) -> Float? {
        guard scale == 4, lensSigma == nil, targets == nil, config.degradation.lensRange == nil,
              let found = estimate.lensSigma(scale: scale) else { return nil }
        let sharp = LensEstimate.sharpSceneAtX4
        let beyond = (max(0, found * found - sharp * sharp)).squareRoot()
        return beyond >= LensEstimate.worthLearning ? Float((beyond * 100).rounded() / 100) : nil
    }

    /// Says what a fresh run learns of the video's damage, in one line: the lens blur asked for
    /// (`--lens-sigma`), or, with nothing asked, what the video's analysis chose. At ×4 a soft
    /// video (`automaticLens`) learns its blur from the frames, starting from the shipped ×4
    /// soft-footage base (`StartingModel.shipped(.soft, …)`) when the run would start from the shipped
    /// base (`fromShipped`); a soft video that is also compressed (`DamageEstimate.isCompressed`)
    /// keeps ensemble targets instead, from the ×4 real-damage base: learning the blur from frames
    /// that hold the codec's damage lost on them. At ×2 a compressed video whose edges read soft
    /// (`LensEstimate.softAtX2`) starts from the ×2 real-damage base with the same targets as a clean
    /// one; a sharper compressed video keeps today's run. At ×1 a video whose edges read soft
    /// (`LensEstimate.softAtX1`) starts from the ×1 real-damage base, which learnt lens blur besides
    /// noise and compression; a sharper one keeps today's run (notebooks-notes/real-damage.md).
    /// `estimate` is only made when nothing was asked.
    public func learnDamage(_ estimate: () throws -> DamageEstimate, record: inout RunRecord, fromShipped: Bool, observer: JobObserver) rethrows {
        if let sigma = lensSigma, sigma > 0 {
            observer.report(String(format: "lens: learning a blur of σ %.2f px (--lens-sigma) from the frames", sigma))
        }
        guard lensSigma == nil, targets == nil, record.config.degradation.lensRange == nil else { return }
        let estimate = try estimate()
        let edges = estimate.lensSigma(scale: record.scale).map { String(format: "edges as after a lens blur σ ≈ %.1f px at ×%d", $0, record.scale) }
            ?? "too few edges to estimate a lens blur"
        let codec = estimate.meanQP.map { String(format: "%@ at mean QP %.1f", estimate.codec, $0) }
            ?? String(format: "%@ with blockiness %.2f", estimate.codec, estimate.blockiness ?? 0)
        let lens = automaticLens(estimate, scale: record.scale, config: record.config)
        let line: String
        if let sigma = lens, estimate.isCompressed {
            let real = fromShipped ? StartingModel.shipped(.real, scale: record.scale, config: record.config) : nil
            if let real { (record.base, record.targets) = (real, .ensemble) }
            line = String(format: "soft and compressed: %@, %@ (%.1f beyond a sharp scene's) → %@ targets", codec, edges, sigma, record.targets.rawValue)
                + (real.map { ", starting from the real-damage base (\($0.fileName))" } ?? "") + ": learning a blur from compressed frames loses"
                + (real == nil ? "" : Self.validationNote(crf: Self.validateCompressed(&record, estimate)))
        } else if let sigma = lens {
            record.config.degradation.lensBlur = [sigma, sigma]
            record.targets = .frames
            let soft = fromShipped ? StartingModel.shipped(.soft, scale: record.scale, config: record.config) : nil
            if let soft { record.base = soft }
            line = String(format: "soft: %@ (%.1f beyond a sharp scene's) → learning this blur from the frames", edges, sigma)
                + (soft.map { ", starting from the soft-footage base (\($0.fileName))" } ?? "")
        } else if record.scale == 2, estimate.isCompressed {
            let soft = (estimate.lensSigma(scale: 2) ?? 0) >= LensEstimate.softAtX2
            let real = soft && fromShipped ? StartingModel.shipped(.real, scale: 2, config: record.config) : nil
            if let real { record.base = real }
            line = "\(soft ? "soft and compressed" : "compressed"): \(codec), \(edges) → \(record.targets.rawValue) targets"
                + (real.map { ", starting from the real-damage base (\($0.fileName))" } ?? ", as for a clean video")
                + (real == nil ? "" : Self.validationNote(crf: Self.validateCompressed(&record, estimate)))
        } else if record.scale == 1 {
            let found = estimate.lensSigma(scale: 1) ?? 0, soft = found >= LensEstimate.softAtX1
            let real = soft && fromShipped ? StartingModel.shipped(.real, scale: 1, config: record.config) : nil
            line = "\(soft ? "soft" : "sharp enough"): \(codec), \(edges) → \(record.targets.rawValue) targets"
                + (real.map { ", starting from the real-damage base (\($0.fileName))" + Self.validateSoft(&record, estimate, sigma: found) }
                   ?? (fromShipped ? ", from \(record.base.fileName), which learnt noise and compression" : ""))
            if let real { record.base = real }
        } else {
            let (verdict, why) = record.scale == 4 ? ("sharp enough", ", as for a clean video")
                : ("not compressed", ", as for a clean video (a blur alone is learnt at ×4 only; --lens-sigma S asks for it)")
            line = "\(verdict): \(edges) → \(record.targets.rawValue) targets\(why)"
        }
        record.damageFound = line
        observer.report(line)
    }

    /// Makes a run from a real-damage base validate on held-out frames damaged as the video was:
    /// downscaled, then through x264 at a CRF of the stream's mean QP (ensemble targets train on the
    /// frames as they are, so only validation reads it). On frames downscaled alone, sharper than the
    /// video, that base scored below bicubic on bikes.mp4 (38.95 against 40.40 dB) while it removed
    /// the clip's blocks (blockiness 0.001 against bicubic's 0.031). The config keeps the CRF, so the
    /// checkpoint says what was assumed. Returns the CRF; nil when the codec exports no QP.
    static func validateCompressed(_ record: inout RunRecord, _ estimate: DamageEstimate) -> Double? {
        guard let qp = estimate.meanQP else { return nil }
        let crf = min(51, max(0, qp.rounded()))
        record.config.degradation.x264CRF = [crf, crf]
        return crf
    }

    /// Makes a ×1 run from the real-damage base validate on held-out frames damaged as the video was: the lens
    /// blur found (σ to a tenth) and, when the stream exports its QP, x264 at that CRF, besides the config's
    /// noise. The frames themselves are as soft as the video, so a model that sharpens them scores under the
    /// input there (chaplin, lens σ 1.5 then CRF 28: start 33.34 dB against the input's 33.97) while it gains on
    /// the truth. Ensemble targets train on the frames as they are, so only validation reads the lens. Returns what the line adds.
    static func validateSoft(_ record: inout RunRecord, _ estimate: DamageEstimate, sigma: Double) -> String {
        let blur = Float((sigma * 10).rounded() / 10)
        record.config.degradation.lensBlur = [blur, blur]
        return validationNote(blur: blur, crf: validateCompressed(&record, estimate))
    }

    /// "; validated on held-out frames blurred by σ 1.4 and re-encoded at CRF 28", either part, or nothing.
    static func validationNote(blur: Float? = nil, crf: Double?) -> String {
        let parts = [blur.map { String(format: "blurred by σ %.1f", $0) }, crf.map { String(format: "re-encoded at CRF %.0f", $0) }].compactMap { $0 }
        return parts.isEmpty ? "" : "; validated on held-out frames " + parts.joined(separator: " and ")
    }

    /// The shipped config of every ×1 (restoration) job: a small model and the damage mix it learns to undo.
    public static let restorationConfig = "configs/restore.yaml"

    /// The share of the shipped config's learning rate an imported general graph (waifu2x, Real-CUGAN, an
    /// ONNX model) fine-tunes at, when no config is given. waifu2x cunet ×2, `hone evaluate --epochs 3 --frames 16`
    /// against the truth: realshort 37.00 dB as imported, 37.00 at the full rate (it fell on validation and kept
    /// its start), 37.33 at a tenth; chaplin 35.11, 34.54 at the full rate, 34.94 at a tenth (notebooks-notes/models.md).
    public static let importedGraphLearningRate: Float = 0.1

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
        if config == nil, loaded.model.layout == .ncnn { loaded.training.learningRate *= Self.importedGraphLearningRate }
        if let neighbours { loaded.model.neighbours = neighbours }
        if let lensSigma { loaded.degradation.lensBlur = [lensSigma, lensSigma] }
        if targets == .ensemble && (loaded.model.radius > 0 || loaded.model.propagation != nil) { throw TrainingTargets.singleFrameOnly }
        if targets == .ensemble && lensSigma != nil {
            throw UsageError("--lens-sigma teaches the fine-tune the video's own blur, which ensemble targets do not hold: use --targets frames")
        }
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
            if let lensSigma { given.degradation.lensBlur = [lensSigma, lensSigma] }
            guard given == run.record.config else {
                throw FileError(output, "this run was started with another config or loss weights; drop --config and --loss-* to resume it, "
                                + "or start a new run under another name")
            }
        }
        run.saveEvery = saveEvery
        return run
    }
}
