import Autograd

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
    /// How much of the learnt curve is applied: the map is multiplied by it (0: the input as it is).
    public var strength: Float = 1

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
        guard x.shape.count == 4, x.shape[1] == 3 else { throw ShapeError("CurveNet: \(x.shape) is not [n, 3, h, w]") }
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

    /// [n, 3, h, w] in [0, 1] → the corrected picture [n, 3, h, w].
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let map = try curveMap(x)
        return try lightCurves(x, strength == 1 ? map : Autograd.scale(map, strength), iterations: Self.iterations)
    }

    public var receptiveRadius: Int { Self.shrink * (convs.count + 3) }
    /// The widest layer (three concatenated feature maps) is at 1/16 of the pixels; the map and curves at full size.
    public var activationBytesPerPixel: Int { 4 * (6 * config.channels / 16 + 3 * 3) }
}
