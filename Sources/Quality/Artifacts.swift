import Autograd
import Foundation
import Networks

/// Measures of how an upscaled picture fails in ways PSNR hides, on the same
/// 8-bit BT.601 luma as `Metrics`, border of `scale` pixels cropped.
public enum Artifacts {
    /// Overshoot in 8-bit luma levels: how far each output pixel leaves the
    /// min–max range of the reference within `radius` pixels of it (0 inside
    /// it). Halos and ringing beside edges leave that range. The window must
    /// reach across an edge's blur, or blur would count too: with radius 1 a
    /// blurred step scores a sixth of a sharpened one; `radius` = the scale is
    /// the default. The reference is the ground truth, or — with none, on real
    /// footage — the bicubic upscale of the input. Returns the mean and the 99th percentile.
    public static func overshoot(_ output: Tensor, reference: Tensor, border: Int, radius: Int, image: Int = 0) -> (mean: Double, p99: Double) {
        // Luma levels are integers, so the excess is one too: bytes and a histogram
        // give the exact mean and percentile in a fraction of the memory (an 8K frame: 130 MB, not 1.3 GB).
        let (y, h, w) = Metrics.lumaLevels(output, image: image, border: border)
        let (r, _, _) = Metrics.lumaLevels(reference, image: image, border: border)
        guard !y.isEmpty else { return (0, 0) }
        // Separable min and max filters: along rows, then along columns.
        var (rowLo, rowHi) = (r, r)
        for i in 0..<h { for j in 0..<w {
            for b in max(j - radius, 0)...min(j + radius, w - 1) {
                rowLo[i * w + j] = min(rowLo[i * w + j], r[i * w + b]); rowHi[i * w + j] = max(rowHi[i * w + j], r[i * w + b])
            }
        }}
        var histogram = [Int](repeating: 0, count: 256)
        for i in 0..<h { for j in 0..<w {
            var (lo, hi) = (UInt8.max, UInt8.min)
            for a in max(i - radius, 0)...min(i + radius, h - 1) { lo = min(lo, rowLo[a * w + j]); hi = max(hi, rowHi[a * w + j]) }
            let v = Int(y[i * w + j])
            histogram[max(0, v - Int(hi), Int(lo) - v)] += 1
        }}
        let count = y.count
        let mean = Double(histogram.enumerated().reduce(0) { $0 + $1.offset * $1.element }) / Double(count)
        // The value at this index of the sorted excesses.
        let rank = min(count - 1, Int((0.99 * Double(count)).rounded(.down)))
        var seen = 0
        let p99 = histogram.firstIndex { seen += $0; return seen > rank }!
        return (mean, Double(p99))
    }

    /// Temporal flicker in 8-bit luma levels: the mean absolute difference
    /// between the output's change from one frame to the next and the ground
    /// truth's. A model that invents different detail in each frame scores high.
    public static func flicker(_ output: (Tensor, Tensor), truth: (Tensor, Tensor), border: Int) -> Double {
        let (o0, o1) = (Metrics.luma(output.0, border: border).values, Metrics.luma(output.1, border: border).values)
        let (t0, t1) = (Metrics.luma(truth.0, border: border).values, Metrics.luma(truth.1, border: border).values)
        var total = 0.0
        for i in o0.indices { total += abs((o1[i] - o0[i]) - (t1[i] - t0[i])) }
        return total / Double(max(o0.count, 1))
    }

    /// The no-reference overshoot of a video (against the bicubic upscale of
    /// each input frame), averaged over every `every`-th frame: a cost the fast
    /// model would feel on all of them.
    public final class OvershootMeter {
        public let every: Int, scale: Int
        private var seen = 0, measured = 0, mean = 0.0, p99 = 0.0

        public init(every: Int, scale: Int) { (self.every, self.scale) = (every, scale) }

        /// Adds a frame: the upscaled `output` [1, 3, h·scale, w·scale] of `input` [1, 3, h, w].
        public func add(_ output: Tensor, input: Tensor) throws {
            defer { seen += 1 }
            guard seen % every == 0 else { return }
            let o = overshoot(output, reference: try resizeBicubic(input, .up(scale)), border: scale, radius: scale)
            (mean, p99, measured) = (mean + o.mean, p99 + o.p99, measured + 1)
        }

        /// Mean and 99th percentile in 8-bit luma levels, averaged over the measured frames; nil before any.
        public var result: (mean: Double, p99: Double)? {
            measured > 0 ? (mean / Double(measured), p99 / Double(measured)) : nil
        }
    }
}
