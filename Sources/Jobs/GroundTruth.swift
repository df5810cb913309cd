import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// The ground-truth protocol of `hone evaluate` and `hone sweep`: the truth's
/// frames are downscaled (antialiased bicubic, 8 bits; not at ×1) and damaged
/// as asked (`Damage`, the clip as one stream) into the input clip every
/// method — and any fine-tuning — sees; methods are scored against the truth
/// on `count` frames spread through it (each with its successor, for flicker,
/// when the truth is a video).
public final class GroundTruth {
    public let truth: FrameCache, lowRes: FrameCache
    public let scale: Int, isVideo: Bool
    public let scored: [Int]
    /// What damaged the input clip, in order.
    public let damages: [Damage]
    /// The mean H.264 quantiser of the input clip when x264 made it.
    public let inputQP: Double?
    /// The truth is cropped to a multiple of this: the scale, twice it when x264 needs even inputs.
    let multiple: Int
    /// What the input clip suffers from, measured as `hone info --analyse` would on a file (once: the
    /// fine-tune's automatic choice and the report both read it).
    public private(set) lazy var inputDamage: DamageEstimate = DamageEstimate.measure(
        scored.prefix(8).map { lowRes.frame($0) }, codec: damages.contains { $0.crf != nil } ? "h264" : "uncompressed", meanQP: inputQP)

    public init(truth: FrameCache, scale: Int, isVideo: Bool, count: Int, damages: [Damage] = []) throws {
        (self.truth, self.scale, self.isVideo, self.damages) = (truth, scale, isVideo, damages)
        let multiple = damages.contains { $0.crf != nil } ? 2 * scale : scale
        self.multiple = multiple
        var i = 0
        var ready: [Tensor] = []
        let stream = DamagedStream(damages)
        let label = (scale > 1 ? ["downscaled ×\(scale)"] : []) + damages.map(\.description)
        lowRes = try FrameCache(source: truth.source + (label.isEmpty ? "" : " (\(label.joined(separator: ", ")))")) {
            while ready.isEmpty && i <= truth.count {
                defer { i += 1 }
                ready = i < truth.count ? try stream.push(try bicubicInput(Damage.applyLens(damages, to: try crop(truth.frame(i), toMultipleOf: multiple)), scale: scale))
                                        : try stream.finish()
            }
            return ready.isEmpty ? nil : ready.removeFirst()
        }
        inputQP = stream.meanQP
        let last = isVideo ? truth.count - 1 : truth.count
        guard last >= 1 else { throw FileError(truth.source, "the ground truth needs at least \(isVideo ? 2 : 1) \(isVideo ? "frames" : "image")") }
        // LPIPS's VGG pools 2×2 four times: below 16 pixels the last has nothing to pool.
        if let small = truth.sizes.first(where: { min($0.width, $0.height) < 16 }) {
            throw FileError(truth.source, "pictures of \(small.width)×\(small.height) are too small to score (LPIPS needs 16×16 at least)")
        }
        scored = Array(Set((0..<min(count, last)).map { $0 * last / min(count, last) })).sorted()
    }

    /// Frames each side of a scored frame that a method sees: a multi-frame model's widest window (`model.neighbours` ≤ 2).
    public static let windowRadius = 2

    /// Frame i of the low-resolution clip with its neighbours (a video's; an image stands alone).
    public func window(_ i: Int) -> FrameWindow {
        FrameWindow(around: i, count: lowRes.count, radius: isVideo ? Self.windowRadius : 0, frame: lowRes.frame)
    }

    /// Scores every method on the low-resolution clip; the truth's LPIPS features are computed once per frame.
    public func score(_ methods: [(name: String, enhance: (FrameWindow) throws -> Tensor)], lpips: LPIPS,
                      progress: (Int, Int) throws -> Void) throws -> [MethodScore] {
        try score(outputs: methods.map { method in (method.name, { try method.enhance(self.window($0)) }) }, lpips: lpips, progress: progress)
    }

    /// Scores methods that make frame i of the truth's size from inputs of their own
    /// (another encoding of the truth, say): `output(i)` is called for the scored frames and their successors.
    public func score(outputs methods: [(name: String, output: (Int) throws -> Tensor)], lpips: LPIPS,
                      progress: (Int, Int) throws -> Void) throws -> [MethodScore] {
        var scores = methods.map { MethodScore(method: $0.name) }
        for (done, i) in scored.enumerated() {
            let hr = try crop(truth.frame(i), toMultipleOf: multiple)
            let next = isVideo ? try crop(truth.frame(i + 1), toMultipleOf: multiple) : nil
            let truthFeatures = try lpips.features(hr)
            for (m, method) in methods.enumerated() {
                let start = Date()
                let sr = try Grad.disabled { try method.output(i) }
                let srNext = try next.map { _ in try Grad.disabled { try method.output(i + 1) } }
                guard sr.shape == hr.shape, srNext.map({ $0.shape == hr.shape }) ?? true else {
                    throw ShapeError("\(method.name) made frame \(i) of \(sr.shape), the truth is \(hr.shape)")
                }
                scores[m].seconds += Date().timeIntervalSince(start)
                scores[m].psnrY += Metrics.psnrY(sr, hr, border: scale)
                scores[m].ssimY += Metrics.ssimY(sr, hr, border: scale)
                scores[m].lpips += lpips.distance(try lpips.features(sr), truthFeatures)
                scores[m].meanLuma = (scores[m].meanLuma ?? 0) + Metrics.meanY(sr, border: scale)
                let o = Artifacts.overshoot(sr, reference: hr, border: scale, radius: scale)
                scores[m].overshootMean += o.mean
                scores[m].overshootP99 += o.p99
                if let next, let srNext {
                    scores[m].flicker = (scores[m].flicker ?? 0) + Artifacts.flicker((sr, srNext), truth: (hr, next), border: scale)
                }
            }
            try progress(done + 1, scored.count)
        }
        let n = Double(scored.count)
        return scores.map { s in
            var s = s
            (s.psnrY, s.ssimY, s.lpips, s.meanLuma) = (s.psnrY / n, s.ssimY / n, s.lpips / n, s.meanLuma.map { $0 / n })
            (s.overshootMean, s.overshootP99, s.flicker) = (s.overshootMean / n, s.overshootP99 / n, s.flicker.map { $0 / n })
            return s
        }
    }
}


extension GroundTruth {
    /// The input clip through `chain` (then bicubic to the truth's size above ×1) at the
    /// scored frames and their successors: frame i's output. A temporal filter runs over
    /// every frame up to the last needed; a spatial one over the needed ones alone.
    /// - Throws: `VideoIOError` naming the chain when libavfilter refuses it.
    func filtered(_ chain: String, temporal: Bool) throws -> (Int) throws -> Tensor {
        let needed = Set(scored.flatMap { isVideo ? [$0, $0 + 1] : [$0] })
        let fed = temporal ? Array(0...needed.max()!) : needed.sorted()
        let filter = PictureFilter(chain)
        var outputs: [Int: Tensor] = [:], waiting = fed[...]
        func keep(_ pictures: [Tensor]) throws {
            for picture in pictures {
                let i = waiting.removeFirst()
                if needed.contains(i) { outputs[i] = scale == 1 ? picture : try resizeBicubic(picture, .up(scale)) }
            }
        }
        for i in fed {
            guard isVideo else {  // pictures of a folder differ in size: one filter each
                let own = PictureFilter(chain)
                try keep(try own.push(lowRes.frame(i)) + own.finish())
                continue
            }
            try keep(try filter.push(lowRes.frame(i)))
        }
        try keep(try filter.finish())
        return { i in
            guard let output = outputs[i] else { throw ShapeError("\(chain) gave no frame \(i)") }
            return output
        }
    }
}

extension GroundTruth {
    /// A recurrent network (`RecurrentUpscaler`) run over the input clip in order, as `hone infer`
    /// runs it: frame i's output, for the scored frames and their successors, asked for in order.
    /// - Throws: `ShapeError` when the model is not recurrent, or when a frame is asked for again.
    public func streamed(_ model: any UpscalingNetwork) throws -> (Int) throws -> Tensor {
        let upscale = try RecurrentUpscaler(model)
        var next = 0
        return { [self] i in
            guard i >= next else { throw ShapeError("frame \(i) of a recurrent run was asked for after frame \(next - 1)") }
            var output = Tensor(shape: [0])
            while next <= i {
                let frame = try upscale(lowRes.frame(next))
                if next == i { output = frame }
                next += 1
            }
            return output
        }
    }
}
