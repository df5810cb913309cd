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

    /// Blockiness of an upscaled picture: how much larger the luma step is
    /// across the input's `block`-pixel grid (a codec's transform blocks),
    /// mapped onto the output — between output pixels s·b·k − 1 and s·b·k — than
    /// across the other input pixel boundaries (s·j − 1 and s·j: the same phase
    /// of the upscale, whose steps differ from those between pixels made from one
    /// input pixel), along rows and columns together:
    /// mean |Δ| at grid edges ÷ mean |Δ| elsewhere − 1. 0 is no block structure;
    /// a bicubic upscale keeps what the input had. A difference measure in the
    /// manner of the generalized block-edge impairment metric (Wu & Yuen, IEEE
    /// Signal Processing Letters 1997), on 8-bit BT.601 luma.
    /// - Parameters: `picture` [n, 3, h, w], the upscale by `scale` of the coded picture.
    public static func blockiness(_ picture: Tensor, scale: Int, block: Int = 8, image: Int = 0) -> Double {
        let (y, h, w) = Metrics.lumaLevels(picture, image: image, border: 0)
        let period = scale * block
        var (edge, edgeCount, inside, insideCount) = (0, 0, 0, 0)
        y.withUnsafeBufferPointer { y in
            for i in 0..<h {
                let row = i * w
                for j in stride(from: scale, to: w, by: scale) {
                    let d = abs(Int(y[row + j]) - Int(y[row + j - 1]))
                    if j % period == 0 { edge += d; edgeCount += 1 } else { inside += d; insideCount += 1 }
                }
                guard i > 0, i % scale == 0 else { continue }
                let onEdge = i % period == 0
                for j in 0..<w {
                    let d = abs(Int(y[row + j]) - Int(y[row - w + j]))
                    if onEdge { edge += d; edgeCount += 1 } else { inside += d; insideCount += 1 }
                }
            }
        }
        guard edgeCount > 0, insideCount > 0, inside > 0 else { return 0 }
        return (Double(edge) / Double(edgeCount)) / (Double(inside) / Double(insideCount)) - 1
    }

    /// The no-reference artifacts of a video, averaged over every `every`-th
    /// frame: overshoot against the bicubic upscale of each input frame (a cost
    /// the fast model would feel on all of them), and the blockiness of the
    /// output next to that of the bicubic upscale.
    public final class NoReferenceMeter {
        public let every: Int, scale: Int
        private var seen = 0, measured = 0, mean = 0.0, p99 = 0.0, blocks = 0.0, bicubicBlocks = 0.0

        public init(every: Int, scale: Int) { (self.every, self.scale) = (every, scale) }

        /// Adds a frame: the upscaled `output` [1, 3, h·scale, w·scale] of `input` [1, 3, h, w].
        public func add(_ output: Tensor, input: Tensor) throws {
            defer { seen += 1 }
            guard seen % every == 0 else { return }
            let bicubic = try resizeBicubic(input, .up(scale))
            let o = Artifacts.overshoot(output, reference: bicubic, border: scale, radius: scale)
            (mean, p99, measured) = (mean + o.mean, p99 + o.p99, measured + 1)
            blocks += Artifacts.blockiness(output, scale: scale)
            bicubicBlocks += Artifacts.blockiness(bicubic, scale: scale)
        }

        /// Overshoot mean and 99th percentile in 8-bit luma levels, averaged over the measured frames; nil before any.
        public var overshoot: (mean: Double, p99: Double)? {
            measured > 0 ? (mean / Double(measured), p99 / Double(measured)) : nil
        }

        /// Blockiness (see `blockiness`) of the output and of the bicubic upscale, averaged over the measured frames; nil before any.
        public var blockiness: (output: Double, bicubic: Double)? {
            measured > 0 ? (blocks / Double(measured), bicubicBlocks / Double(measured)) : nil
        }
    }
}
