import Autograd
import Foundation
import Networks
import VideoIO

/// What a video suffers from, estimated from its stream and its pictures:
/// what `hone info --analyse` prints, and what a ×1 fine-tune makes a little
/// worse to learn from (`fineTuning`).
public struct DamageEstimate: Codable, Sendable, Equatable {
    /// The video codec ("h264", "vp8", …).
    public var codec: String
    /// The mean quantiser the encoder chose (H.264/HEVC QP, 0–51; higher: coarser), from the
    /// bitstream; nil when the codec exports none.
    public var meanQP: Double?
    /// Noise σ in 8-bit levels of each RGB channel, as `Damage.noise` adds it, the median
    /// over the frames looked at. Measured on BT.601 luma (Immerkær, "Fast noise variance
    /// estimation", CVIU 1996: the mean absolute response to the difference of two
    /// Laplacians, ×√(π/2)/6), then divided by `lumaNoiseGain`: independent RGB noise of σ
    /// is σ·0.574 in luma.
    public var noiseSigma: Double
    /// No-reference blur from 0 (sharp) to 1, the mean over the frames (Crété-Roffet et al.,
    /// "The blur effect: perception and estimation with a new no-reference perceptual
    /// blur metric", SPIE 2007: how little a 9-tap box blur changes the luma's differences).
    public var blur: Double
    /// The median reblur ratio of the frames' strong edges (`LensEstimate`; larger: sharper),
    /// the median over the frames that have enough edges; nil when none has.
    public var edgeRatio: Double?
    /// The codec's blocks: `Artifacts.blockiness` of the pictures as they are (the excess luma
    /// step across their 8×8 grid; 0 none), the median over the frames; nil in estimates made before it was measured.
    public var blockiness: Double?
    /// Frames looked at.
    public var frames: Int

    /// Whether the codec left visible damage: a mean QP of at least `compressedQP`, or, for lossy
    /// codecs that export none, blocks of at least `blockyPictures` (a lossless stream has no blocks
    /// of its own: a lens-blurred ×4 downscale of tears_of_steel read 0.13).
    public var isCompressed: Bool {
        (meanQP ?? 0) >= Self.compressedQP || (!Self.lossless.contains(codec) && (blockiness ?? 0) >= Self.blockyPictures)
    }

    /// Codecs (FFmpeg's names, and "uncompressed" for pictures that went through none) that store pictures without loss.
    static let lossless: Set<String> = ["uncompressed", "rawvideo", "ffv1", "png", "apng", "huffyuv", "ffvhuff", "utvideo", "qtrle", "v210", "v410", "r210"]

    /// The H.264 QP from which a stream counts as compressed: the test clips as they are read
    /// 24.4 (chaplin) and 27.5 (realshort), and their blocks survive a ×2 bicubic upscale
    /// (blockiness 0.26 and 0.05; notebooks-notes/real-damage.md).
    public static let compressedQP = 24.0
    /// The blockiness from which pictures count as compressed when the stream exports no QP:
    /// clean downscales of the four test clips read 0.03–0.04, chaplin as it is 0.23.
    public static let blockyPictures = 0.1

    /// The camera's blur: the σ in full-resolution pixels of a Gaussian lens blur before a
    /// downscale of `scale` that leaves edges as soft as this video's (`LensEstimate.sigma`); nil without edges.
    public func lensSigma(scale: Int) -> Double? { edgeRatio.map { LensEstimate.sigma(ratio: $0, scale: scale) } }

    /// Looks at up to `frames` frames spread through the first minute of a video.
    /// - Throws: `VideoIOError`/`FileError` naming the video when it cannot be read.
    public static func analyse(_ path: String, frames: Int = 24) throws -> DamageEstimate {
        var options = DecodingOptions()
        options.exportQuantisers = true
        let reader = try VideoReader(path, options: options)
        let every = max(1, min(reader.expectedFrames, Int(reader.info.frameRate * 60)) / frames)
        var pictures: [Tensor] = [], quantisers: [Double] = []
        var i = 0
        while pictures.count < frames, let frame = try reader.next() {
            defer { i += 1 }
            if let qp = frame.quantiser { quantisers.append(qp) }
            if i % every == 0 { pictures.append(frame.image) }
        }
        guard !pictures.isEmpty else { throw FileError(path, "holds no picture to analyse") }
        let qp = quantisers.isEmpty ? nil : quantisers.reduce(0, +) / Double(quantisers.count)
        return measure(pictures, codec: reader.info.codec, meanQP: qp)
    }

    /// The estimate of decoded pictures [1, 3, h, w] whose stream is described by `codec` and `meanQP`.
    public static func measure(_ pictures: [Tensor], codec: String, meanQP: Double?) -> DamageEstimate {
        let lumas = pictures.map(luma)
        let sigmas = lumas.map { noiseSigma($0.plane, h: $0.h, w: $0.w) / lumaNoiseGain }.sorted()
        let blurs = lumas.map { blurMetric($0.plane, h: $0.h, w: $0.w) }
        let ratios = lumas.compactMap { LensEstimate.reblurRatio($0.plane, h: $0.h, w: $0.w)?.ratio }.sorted()
        let blocks = pictures.map { Artifacts.blockiness($0, scale: 1) }.sorted()
        return DamageEstimate(codec: codec, meanQP: meanQP, noiseSigma: sigmas[sigmas.count / 2],
                              blur: blurs.reduce(0, +) / Double(blurs.count), edgeRatio: ratios.isEmpty ? nil : ratios[ratios.count / 2],
                              blockiness: blocks[blocks.count / 2], frames: pictures.count)
    }

    /// One line for people.
    public var summary: String {
        let lens = edgeRatio.map { ratio in
            String(format: "; edges: reblur ratio %.2f, as a lens blur σ ≈ %.1f px before a ×2 downscale, %.1f before ×4", ratio,
                   LensEstimate.sigma(ratio: ratio, scale: 2), LensEstimate.sigma(ratio: ratio, scale: 4))
        } ?? "; too few edges to estimate a lens blur"
        return String(format: "%@%@; noise σ ≈ %.1f levels per RGB channel (Immerkær); blur %.2f (0 sharp … 1 soft; Crété-Roffet)%@%@; from %d frames",
                      codec, meanQP.map { String(format: ", mean QP %.1f", $0) } ?? " (no quantisers exported)", noiseSigma, blur, lens,
                      blockiness.map { String(format: "; blockiness %.2f (excess step at 8×8 block edges; 0 none)", $0) } ?? "", frames)
    }

    /// The σ in luma of independent RGB noise of σ 1: the norm of BT.601's luma row (65.481, 128.553, 24.966)/255.
    static let lumaNoiseGain = ((65.481 * 65.481 + 128.553 * 128.553 + 24.966 * 24.966) as Double).squareRoot() / 255

    /// BT.601 luma in 8-bit levels, as Metrics scores it.
    static func luma(_ picture: Tensor) -> (plane: [Float], h: Int, w: Int) {
        let (h, w) = (picture.shape[2], picture.shape[3])
        let (r, g, b) = (picture.data, picture.data + h * w, picture.data + 2 * h * w)
        return ((0..<(h * w)).map { 16 + 65.481 * r[$0] + 128.553 * g[$0] + 24.966 * b[$0] }, h, w)
    }

    /// Immerkær's σ: √(π/2) / (6 (w−2)(h−2)) · Σ |I ∗ [[1,−2,1],[−2,4,−2],[1,−2,1]]|.
    static func noiseSigma(_ y: [Float], h: Int, w: Int) -> Double {
        guard h > 2, w > 2 else { return 0 }
        var sum = 0.0
        for r in 1..<(h - 1) {
            var row = 0.0
            for c in 1..<(w - 1) {
                let (a, m, b) = ((r - 1) * w + c, r * w + c, (r + 1) * w + c)
                let v = y[a - 1] - 2 * y[a] + y[a + 1] - 2 * (y[m - 1] - 2 * y[m] + y[m + 1]) + y[b - 1] - 2 * y[b] + y[b + 1]
                row += Double(abs(v))
            }
            sum += row
        }
        return (Double.pi / 2).squareRoot() * sum / (6 * Double(w - 2) * Double(h - 2))
    }

    /// Crété-Roffet's blur: for each direction, 1 − Σmax(0, |ΔI| − |ΔB|) / Σ|ΔI| with B the
    /// 9-tap box blur of I along it; the larger of the two.
    static func blurMetric(_ y: [Float], h: Int, w: Int) -> Double {
        func along(_ n: Int, _ lines: Int, _ at: (Int, Int) -> Int) -> Double {
            guard n > 9 else { return 0 }
            var total = 0.0, kept = 0.0
            var blurred = [Float](repeating: 0, count: n)
            for line in 0..<lines {
                for k in 0..<n {
                    var s: Float = 0
                    for t in -4...4 { s += y[at(line, min(max(k + t, 0), n - 1))] }
                    blurred[k] = s / 9
                }
                for k in 1..<n {
                    let dI = abs(y[at(line, k)] - y[at(line, k - 1)]), dB = abs(blurred[k] - blurred[k - 1])
                    total += Double(dI)
                    kept += Double(max(0, dI - dB))
                }
            }
            return total > 0 ? 1 - kept / total : 0
        }
        return max(along(w, h) { $0 * w + $1 }, along(h, w) { $1 * w + $0 })
    }
}
