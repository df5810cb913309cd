import Autograd
import Foundation

/// How much of its learnt curve a `CurveNet` applies.
/// Written as `auto` or the share (a number), as `--light` takes it.
public enum LightStrength: Sendable, Equatable, Codable, CustomStringConvertible {
    /// All of it where the picture looks underexposed, none where its highlights near white (`CurveNet.autoShare`).
    case auto
    /// This share of it, from 0 (the input as it is) to 1, whatever the picture.
    case fixed(Float)

    /// `auto` or a share from 0 to 1; nil for anything else.
    public init?(_ text: String) {
        if text.lowercased() == "auto" { self = .auto; return }
        guard let share = Float(text), (0...1).contains(share) else { return nil }
        self = .fixed(share)
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .fixed(let share): "\(share)"
        }
    }

    public init(from decoder: Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let share = try? value.decode(Float.self), (0...1).contains(share) { self = .fixed(share); return }
        guard let text = try? value.decode(String.self), let strength = LightStrength(text) else {
            throw DecodingError.dataCorruptedError(in: value, debugDescription: "a light strength is auto or a share from 0 to 1")
        }
        self = strength
    }

    public func encode(to encoder: Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case .auto: try value.encode("auto")
        case .fixed(let share): try value.encode(share)
        }
    }
}

/// What `LightStrength.auto` judged over the pictures it corrected: the highlight levels it read
/// (`CurveNet.highlightLevels`) and the shares of the curve it applied (`CurveNet.autoShare`).
public struct AutoLightTally: Sendable {
    public private(set) var pictures = 0
    public private(set) var highlights: ClosedRange<Float>?
    public private(set) var shares: ClosedRange<Float>?
    public private(set) var shareSum: Float = 0

    mutating func add(highlight: Float, share: Float) {
        pictures += 1
        shareSum += share
        highlights = highlights.map { min($0.lowerBound, highlight)...max($0.upperBound, highlight) } ?? highlight...highlight
        shares = shares.map { min($0.lowerBound, share)...max($0.upperBound, share) } ?? share...share
    }
}

/// Zero-DCE++'s curve-estimation network (Li et al., "Learning to Enhance
/// Low-Light Image via Zero-Reference Deep Curve Estimation", TPAMI 2021;
/// reference code Li-Chongyi/Zero-DCE_extension): seven 3×3 convolutions with
/// Zero-DCE's symmetric skips, run on the picture shrunk ×4, give one curve map
/// per channel through tanh; the map, enlarged bilinearly, is applied eight
/// times by `lightCurves`. Unlike Zero-DCE++, the fifth convolution also reads
/// the fourth's means over the whole picture (`planeMeans`): how bright a
/// region should be depends on the rest of the picture, beyond the
/// convolutions' reach (±28 pixels). It corrects exposure and colour at the input's size
/// (scale 1). `config.channels` is the width (Zero-DCE's 32; `blocks` is unused).
public final class CurveNet: Module, UpscalingNetwork, @unchecked Sendable {
    public let scale = 1
    public let config: ModelConfig
    let convs: [Conv2d]
    /// How much of the learnt curve is applied (the map is multiplied by it); training learns the whole curve.
    public var strength = LightStrength.fixed(1)
    private let tallyLock = NSLock()
    private var judged = AutoLightTally()
    /// What `auto` judged so far (frames may be corrected on several threads).
    public var tally: AutoLightTally { tallyLock.withLock { judged } }

    /// The picture is shrunk by this much before the convolutions (Zero-DCE++'s speed-up).
    public static let shrink = 4
    /// Times the curve is applied (Zero-DCE's n = 8).
    public static let iterations = 8

    /// - Throws: `ShapeError` for a scale other than 1.
    public init(_ config: ModelConfig, scale: Int, seed: UInt64 = 1) throws {
        guard scale == 1 else { throw ShapeError("CurveNet corrects light at the input's size; scale \(scale) is not one it makes") }
        var rng = SeededRandom(seed: seed)
        let c = config.channels
        self.config = config
        // e_conv1…e_conv7: 5, 6 and 7 read their own input beside an earlier layer's output (5 also the global means).
        convs = [Conv2d(3, c, rng: &rng), Conv2d(c, c, rng: &rng), Conv2d(c, c, rng: &rng), Conv2d(c, c, rng: &rng),
                 Conv2d(3 * c, c, rng: &rng), Conv2d(2 * c, c, rng: &rng), Conv2d(2 * c, 3, rng: &rng)]
        // A fresh network starts at the identity curve, as a fine-tune's start should.
        convs[6].weight.fill(0)
        convs[6].bias?.fill(0)
    }

    /// The curve map a in [−1, 1] per pixel and channel: [n, 3, h, w] → [n, 3, h, w].
    public func curveMap(_ x: Tensor) throws -> Tensor {
        try Self.checkShape(x)
        let (h, w) = (x.shape[2], x.shape[3])
        let small = try resizeBicubic(x, .down(Self.shrink))
        let x1 = relu(try convs[0](small))
        let x2 = relu(try convs[1](x1))
        let x3 = relu(try convs[2](x2))
        let x4 = relu(try convs[3](x3))
        let x5 = relu(try convs[4](try concat([x3, x4, try planeMeans(x4)])))
        let x6 = relu(try convs[5](try concat([x2, x5])))
        let map = tanh(try convs[6](try concat([x1, x6])))
        return try cropSpatial(try upsampleBilinear(map, scale: Self.shrink), height: h, width: w)
    }

    private static func checkShape(_ x: Tensor) throws {
        guard x.shape.count == 4, x.shape[1] == 3 else { throw ShapeError("CurveNet: \(x.shape) is not [n, 3, h, w]") }
    }

    /// [n, 3, h, w] in [0, 1] → the corrected picture [n, 3, h, w].
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Self.checkShape(x)
        // One share of the curve per picture, a constant: the judgement is not learnt.
        let shares: [Float]
        switch strength {
        case .fixed(let share): shares = Array(repeating: share, count: x.shape[0])
        case .auto:
            let highlights = Self.highlightLevels(x)
            shares = highlights.map(Self.autoShare)
            tallyLock.withLock { for (h, s) in zip(highlights, shares) { judged.add(highlight: h, share: s) } }
        }
        // No curve anywhere: the network is not run (well-exposed footage under `auto`).
        if shares.allSatisfy({ $0 == 0 }) { return x.detached() }
        let map = try curveMap(x)
        if shares.allSatisfy({ $0 == shares[0] }) {
            return try lightCurves(x, shares[0] == 1 ? map : Autograd.scale(map, shares[0]), iterations: Self.iterations)
        }
        let plane = map.count / map.shape[0]
        let perPixel = Tensor(shape: map.shape)
        for (i, share) in shares.enumerated() { (perPixel.data + i * plane).update(repeating: share, count: plane) }
        return try lightCurves(x, try mul(map, perPixel), iterations: Self.iterations)
    }

    /// Each picture's highlight level: the BT.601 luma (0–1) that the brightest 0.1 % of its
    /// 4×4-pixel means reach. Means, so that noise does not pass for highlights (at night the
    /// shot noise of one pixel is ±20 levels; a mean of 16 is ±5). A picture under 4 pixels on a
    /// side is read in blocks of its shorter side.
    /// - Parameter x: [n, 3, h, w] in [0, 1].
    /// - Returns: n levels.
    public static func highlightLevels(_ x: Tensor) -> [Float] {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let side = max(1, min(4, h, w))
        let (rows, cols) = (h / side, w / side)
        let bins = 1024
        return (0..<n).map { i in
            var histogram = [Int](repeating: 0, count: bins)
            let (r, g, b) = (x.data + i * 3 * h * w, x.data + (i * 3 + 1) * h * w, x.data + (i * 3 + 2) * h * w)
            for by in 0..<rows { for bx in 0..<cols {
                var sum: Float = 0
                for y in side * by..<side * (by + 1) {
                    for o in y * w + side * bx..<y * w + side * (bx + 1) { sum += 0.299 * r[o] + 0.587 * g[o] + 0.114 * b[o] }
                }
                histogram[min(bins - 1, max(0, Int(sum / Float(side * side) * Float(bins))))] += 1
            } }
            // The level under which 99.9 % of the means lie.
            var above = 0
            for bin in stride(from: bins - 1, through: 0, by: -1) {
                above += histogram[bin]
                if above * 1000 > rows * cols { return Float(bin + 1) / Float(bins) }
            }
            return 0
        }
    }

    /// Highlight levels (fractions of white) over which `.auto`'s share falls from all of the curve to
    /// none: at the lower end or below a picture's brightest parts stay at half of white, so it is
    /// underexposed; at the upper end or above it is exposed as intended, however dark (a night grade,
    /// an old film). The ends are judgements: 45 of the 46 corpus photographs reach 0.72 or more (the
    /// other, a low-key picture, 0.52); notebooks-notes/light.md gives the test clips' levels, which
    /// were in view when the ends were chosen.
    public static let autoRange: ClosedRange<Float> = 0.5...0.65

    /// The share of the curve `.auto` applies at a highlight level (`highlightLevels`): 1 up to
    /// `autoRange`'s lower end, 0 from its upper end, linear between.
    public static func autoShare(highlight: Float) -> Float {
        min(1, max(0, (autoRange.upperBound - highlight) / (autoRange.upperBound - autoRange.lowerBound)))
    }

    public var receptiveRadius: Int { Self.shrink * (convs.count + 3) }
    /// The widest layer (three concatenated feature maps) is at 1/16 of the pixels; the map and curves at full size.
    public var activationBytesPerPixel: Int { 4 * (6 * config.channels / 16 + 3 * 3) }
}
