import Foundation
import GRDB
import Jobs
import Networks
import Quality
import Training

/// The loss a person picks by the look they want, mapped to the weights
/// measured in notebooks-notes/overshoot.md (bikes.mp4, ×2, 2 epochs).
public enum LossPreset: String, Codable, Sendable, CaseIterable {
    /// The default config: relu2_2 = relu3_3 = 0.02; overshoot at bicubic's level, LPIPS 0.054 → 0.047.
    case natural
    /// Lesson 7's layers at 1/100, no gram term: the best LPIPS (0.042) for 0.4 dB and a little overshoot.
    case sharper
    /// Pixel L1 alone: the best Y-PSNR and the least overshoot, no LPIPS gain.
    case pixelExact = "pixel-exact"

    var weights: LossWeights {
        switch self {
        case .natural: LossWeights()
        case .sharper: LossWeights(perceptual: [.relu3_3: 0.05, .relu4_3: 0.15, .relu5_3: 0.02], gram: 0)
        case .pixelExact: LossWeights(perceptual: [:], gram: 0)
        }
    }
}

/// What a person asked of a served job.
public struct JobOptions: Codable, Sendable, Equatable {
    /// A scale with a shipped base: 1 (restoration), 2 or 4.
    public var scale = 2
    /// Passes over the training frames, 1…20.
    public var epochs = 3
    public var preset = LossPreset.natural
    /// The starting model: "base" (the shipped base for the scale).
    public var model = "base"
    /// Exposure and white balance corrected before the upscale (`LightSetting.strength`); nil: the light as it is.
    public var light: LightStrength?

    public init() {}

    /// The options from a request's query (`scale`, `epochs`, `preset`, `model`, `light`: off, auto or 0–1; absent: the defaults).
    /// - Throws: `UsageError` naming the option and the values it takes.
    public init(query: [String: String]) throws {
        if let s = query["scale"] {
            guard let v = Int(s), Self.scales.contains(v) else { throw UsageError("scale must be one of \(Self.scales.map(String.init).joined(separator: ", ")), got '\(s)'") }
            scale = v
        }
        if let e = query["epochs"] {
            guard let v = Int(e), (1...20).contains(v) else { throw UsageError("epochs must be a whole number from 1 to 20, got '\(e)'") }
            epochs = v
        }
        if let p = query["preset"] {
            guard let v = LossPreset(rawValue: p) else { throw UsageError("preset must be one of \(LossPreset.allCases.map(\.rawValue).joined(separator: ", ")), got '\(p)'") }
            preset = v
        }
        if let l = query["light"], l != "off" {
            light = try LightSetting(l).strength
            if (try? LightSetting.shippedPath()) == nil { throw UsageError("light needs checkpoints/\(LightSetting.shippedName).safetensors, which is not installed") }
        }
        if let m = query["model"], m != "base" { throw UsageError("model must be 'base' (the only starting model installed), got '\(m)'") }
    }

    /// Scales with a shipped base checkpoint beside hone.
    public static var scales: [Int] { [1, 2, 3, 4].filter { ProjectFiles.find("checkpoints/base-x\($0).safetensors") != nil } }
}

/// Where a served job is.
public enum JobState: String, Codable, Sendable, DatabaseValueConvertible {
    case queued, running, done, failed, cancelled
    var isFinished: Bool { self == .done || self == .failed || self == .cancelled }
}

/// A served job's numbers, shown beside its result.
public struct JobResult: Codable, Sendable, Equatable {
    /// Validation Y-PSNR (dB) on the clip's held-out frames, against `targets`: bicubic
    /// (at ×1, the input), the base before fine-tuning, fine-tuned.
    public var bicubicPSNR, basePSNR, finetunedPSNR: Double?
    /// What the fine-tune learnt from (`TrainingTargets`: "frames", the frames one scale
    /// down or damaged; "ensemble", the base's self-ensemble output); nil in results of earlier servers.
    public var targets: String?
    /// No-reference overshoot of the enhanced video against its bicubic upscale (8-bit luma levels): mean and 99th percentile.
    public var overshootMean, overshootP99: Double?
    /// No-reference blockiness (`Artifacts.blockiness`) of the enhanced video and of its bicubic upscale.
    public var blockiness, bicubicBlockiness: Double?
    /// What the analysis of the video found and chose, in one line (`RunRecord.damageFound`); nil when it was not analysed.
    public var damageFound: String?
    public var frames: Int
    /// Still frames shown bicubic against Hone (`still-N-bicubic.png`, `still-N-hone.png`).
    public var stills: Int
    public var warnings: [String]

    public init(bicubicPSNR: Double?, basePSNR: Double?, finetunedPSNR: Double?, targets: String?, overshootMean: Double?, overshootP99: Double?,
                blockiness: Double?, bicubicBlockiness: Double?, damageFound: String?, frames: Int, stills: Int, warnings: [String]) {
        (self.bicubicPSNR, self.basePSNR, self.finetunedPSNR, self.targets) = (bicubicPSNR, basePSNR, finetunedPSNR, targets)
        (self.overshootMean, self.overshootP99, self.frames, self.stills, self.warnings) = (overshootMean, overshootP99, frames, stills, warnings)
        (self.blockiness, self.bicubicBlockiness, self.damageFound) = (blockiness, bicubicBlockiness, damageFound)
    }
}

/// One row of the `job` table: a served job from upload to result.
struct JobRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "job"
    /// Random (128 bits, base-32): guessing another's job is out of reach.
    var id: String
    /// The upload's name as the person's browser gave it: shown, never a path.
    var name: String
    var options: JobOptions
    var state: JobState
    /// When it was submitted, first started and finished (seconds since 1970).
    var created: Double
    var started: Double?
    var finished: Double?
    /// The error of a failed job, or how a cancelled one ended.
    var message: String?
    /// Lines the job reported: each epoch's validation, what was written.
    var reports: [String]
    var result: JobResult?
    /// The Idempotency-Key the client sent with the upload, if any.
    var submission: String?

    static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        return String((0..<26).map { _ in alphabet[Int(generator.next() % 32)] })
    }

    static func isWellFormedID(_ id: String) -> Bool {
        id.count == 26 && id.allSatisfy { ("a"..."z").contains($0) || ("2"..."7").contains($0) }
    }
}

/// The files a finished job offers, by the only names the API accepts: no
/// part of a request ever becomes a path.
public enum ResultFile: Equatable, Sendable {
    public enum Method: String, Sendable { case bicubic, hone }
    case enhanced, comparison, checkpoint
    /// Still `n` (from 1) upscaled by `method`.
    case still(Int, Method)

    public var rawValue: String {
        switch self {
        case .enhanced: "enhanced.mp4"
        case .comparison: "compare.mp4"
        case .checkpoint: "model.ckpt"
        case .still(let n, let method): "still-\(n)-\(method.rawValue).png"
        }
    }

    /// The file named `name` among those a job with `stills` stills offers.
    public init?(_ name: String, stills: Int) {
        let files = [ResultFile.enhanced, .comparison, .checkpoint]
            + (0..<stills).flatMap { [ResultFile.still($0 + 1, .bicubic), .still($0 + 1, .hone)] }
        guard let file = files.first(where: { $0.rawValue == name }) else { return nil }
        self = file
    }

    var contentType: String {
        switch self {
        case .enhanced, .comparison: "video/mp4"
        case .checkpoint: "application/octet-stream"
        case .still: "image/png"
        }
    }
}
