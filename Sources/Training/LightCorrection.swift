import Autograd
import Foundation
import Networks
import VideoIO

/// `--light`: exposure and white balance corrected by a curve network
/// (`CurveNet`), after a ×1 method and before an enlarging one (`CurveNet.around`).
public struct LightSetting: Sendable, Equatable, CustomStringConvertible {
    /// How much of the learnt curve is applied (`CurveNet.strength`): `auto` judges each picture by its highlights.
    public var strength: LightStrength
    /// A light checkpoint (`hone finetune --light`); nil: the shipped base.
    public var checkpoint: String?

    /// The shipped light base, in checkpoints/.
    public static let shippedName = "base-light"

    public init(strength: LightStrength = .auto, checkpoint: String? = nil) { (self.strength, self.checkpoint) = (strength, checkpoint) }

    /// `auto` (the correction where a picture looks underexposed) or a strength from 0 to 1 (that share of it, on every picture).
    /// - Throws: `UsageError` for anything else.
    public init(_ text: String, checkpoint: String? = nil) throws {
        guard let strength = LightStrength(text) else {
            throw UsageError("light must be auto or a strength from 0 (none) to 1 (the whole correction), got \(text)")
        }
        self.init(strength: strength, checkpoint: checkpoint)
    }

    public var description: String { "light \(checkpoint.map { URL(fileURLWithPath: $0).lastPathComponent } ?? Self.shippedName) \(strength)" }

    /// The checkpoint's curve network at this strength.
    /// - Throws: `FileError` when the checkpoint (or the shipped base) is missing, unreadable or not a light model.
    public func load() throws -> CurveNet {
        let path = try checkpoint ?? Self.shippedPath()
        let (model, _) = try loadNetwork(checkpoint: path)
        guard let curves = model as? CurveNet else {
            throw FileError(path, "is a ×\(model.scale) \(model.config.layout.networkName), not a light model (a CurveNet: the shipped base-light, or one from `hone finetune --light`)")
        }
        curves.strength = strength
        return curves
    }

    /// checkpoints/base-light.safetensors.
    /// - Throws: `FileError` when it is not installed.
    public static func shippedPath() throws -> String {
        let relative = "checkpoints/\(shippedName).safetensors"
        guard let path = ProjectFiles.find(relative) else { throw FileError(relative, "not found: `make base-checkpoints` makes it") }
        return path
    }
}

extension CurveNet {
    /// Each frame of a window corrected, for the model that reads them.
    public func correct(_ window: FrameWindow) throws -> FrameWindow {
        try Grad.disabled { FrameWindow(frames: try window.frames.map { try self($0) }, centre: window.centre) }
    }

    /// `enhance` (a method of `scale`) with the light correction where it belongs: after a ×1
    /// (restoring) method, so noise is removed in the dark before the curves amplify it
    /// (notebooks-notes/light.md), and before an enlarging one, at the smaller size.
    public func around(_ window: FrameWindow, scale: Int, _ enhance: (FrameWindow) throws -> Tensor) throws -> Tensor {
        scale == 1 ? try correct(FrameWindow(try enhance(window))).image : try enhance(try correct(window))
    }
}

/// Zero-reference fine-tuning of a light model on a video's own frames: no
/// picture of how the video should look exists, so the losses are Zero-DCE's
/// (exposure, colour constancy, spatial consistency, smoothness of the curve
/// map), plus a temporal term (the maps of consecutive frames agree, so the
/// correction does not flicker) and an anchor to the starting model's output,
/// which keeps its judgement of the scene's light and grade.
public struct LightTuning {
    /// Each term's weight. Zero-DCE weighs spatial 1, exposure 10, colour 5 and
    /// smoothness 200 from random weights; here the anchor leads, the rest adjust.
    public struct Weights: Sendable {
        public var anchor: Float = 1, exposure: Float = 1, colour: Float = 0.5, spatial: Float = 1, smoothness: Float = 20, temporal: Float = 20
        public init() {}
    }

    public var weights = Weights()
    /// Passes over the frames: each pass takes as many steps as there are consecutive pairs per batch.
    public var epochs = 3
    /// Side of the square crops taken at one place from two consecutive frames (at most the frames' size, a multiple of 16).
    public var crop = 256
    /// Consecutive pairs per step.
    public var pairs = 4
    public var learningRate: Float = 2e-4
    public var seed: UInt64 = 1
    /// Where the exposure term's level may lie (mean brightness, 0–1): the starting model's mean output
    /// over the video when it is inside, else the nearer end (Zero-DCE's fixed level is 0.6).
    public var levelBand: ClosedRange<Float> = 0.4...0.6

    public init() {}

    public struct Report: Sendable {
        /// The brightness the exposure term pulls toward: the starting model's mean output over the video (channel mean, 0–1), within `levelBand`.
        public let level: Float
        public let steps: Int
    }

    /// Fine-tunes `model` in place on `frames` (a video's pictures, in order); `start` is the
    /// same model as it began, kept frozen for the anchor.
    /// - Throws: `FileError` naming the frames' source when it has fewer than two frames or frames under 32×32; `JobCancelled`.
    public func run(_ model: CurveNet, start: CurveNet, frames: FrameCache, observer: JobObserver) throws -> Report {
        guard frames.count >= 2 else { throw FileError(frames.source, "has \(frames.count) frame; a light fine-tune learns from consecutive frames") }
        let first = frames.frame(0)
        let side = min(crop, first.shape[2], first.shape[3]) / 16 * 16
        guard side >= 32 else { throw FileError(frames.source, "frames of \(first.shape[3])×\(first.shape[2]) are too small for a light fine-tune (32×32 at least)") }
        let level = try Grad.disabled { () throws -> Float in
            let picks = Swift.stride(from: 0, to: frames.count, by: max(1, frames.count / 8))
            let means = try picks.map { try start(frames.frame($0)).array.reduce(0, +) / Float(first.count) }
            return min(max(means.reduce(0, +) / Float(means.count), levelBand.lowerBound), levelBand.upperBound)
        }
        let steps = max(1, epochs * (frames.count - 1) / pairs)
        let optimizer = Adam.adamW(model.parameters, learningRate: learningRate, weightDecay: 0)
        var rng = SeededRandom(seed: seed)
        let progress = observer.progress("train", unit: "steps")
        for step in 0..<steps {
            // Two batches of the same places: frame t and frame t + 1.
            let (now, next) = (Tensor(shape: [pairs, 3, side, side]), Tensor(shape: [pairs, 3, side, side]))
            for p in 0..<pairs {
                let t = Int(rng.next() % UInt64(frames.count - 1))
                let (a, b) = (frames.frame(t), frames.frame(t + 1))
                let (h, w) = (a.shape[2], a.shape[3])
                let (y0, x0) = (Int(rng.next() % UInt64(h - side + 1)), Int(rng.next() % UInt64(w - side + 1)))
                for (source, batch) in [(a, now), (b, next)] {
                    for c in 0..<3 { for y in 0..<side {
                        (batch.data + ((p * 3 + c) * side + y) * side).update(from: source.data + (c * h + y0 + y) * w + x0, count: side)
                    } }
                }
            }
            var maps: [Tensor] = []
            var loss = Tensor(scalar: 0)
            for x in [now, next] {
                let anchor = try Grad.disabled { try start(x) }
                let map = try model.curveMap(x)
                let out = try lightCurves(x, map, iterations: CurveNet.iterations)
                loss = try loss + (try l1Loss(out, anchor)) * weights.anchor + (try exposureLoss(out, level: level)) * weights.exposure
                    + (try colourConstancyLoss(out)) * weights.colour + (try spatialConsistencyLoss(out, x)) * weights.spatial
                    + (try smoothnessLoss(map)) * weights.smoothness
                maps.append(map)
            }
            loss = try loss + (try mseLoss(maps[0], maps[1])) * weights.temporal
            optimizer.zeroGrad()
            try loss.backward()
            optimizer.update()
            try progress(step + 1, steps)
        }
        observer.finishStage()
        return Report(level: level, steps: steps)
    }
}
