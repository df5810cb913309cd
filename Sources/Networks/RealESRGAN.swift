import Autograd

// The two architectures Real-ESRGAN ships, as BasicSR writes them
// (basicsr/archs/srvgg_arch.py, basicsr/archs/rrdbnet_arch.py), so that their
// published weights can be imported (`NCNNImport`), run and fine-tuned.

/// SRVGGNetCompact (Wang et al. 2021, realesr-animevideov3): conv + activation
/// `blocks + 1` times at input resolution, a conv to 3·r² channels, pixel shuffle
/// ×r, plus the input enlarged ×r by nearest neighbour. r is `networkScale`;
/// when the run's scale is smaller, the sum is shrunk by `interpolateBicubic`.
public final class SRVGGNetCompact: Module, UpscalingNetwork, @unchecked Sendable {
    public let scale: Int
    public let config: ModelConfig
    let head: Conv2d
    let headSlope: Tensor?
    let body: [Conv2d]
    let bodySlopes: [Tensor?]
    let tail: Conv2d

    public init(_ config: ModelConfig, scale: Int, seed: UInt64 = 1) throws {
        let r = config.networkScale ?? scale
        guard (2...4).contains(scale), r >= scale else { throw ShapeError("SRVGGNetCompact: scale \(scale) from a ×\(r) network") }
        var rng = SeededRandom(seed: seed)
        let c = config.channels
        (self.scale, self.config) = (scale, config)
        head = Conv2d(3, c, rng: &rng)
        headSlope = config.activation.slopes(c)
        body = (0..<config.blocks).map { _ in Conv2d(c, c, rng: &rng) }
        bodySlopes = (0..<config.blocks).map { _ in config.activation.slopes(c) }
        tail = Conv2d(c, 3 * r * r, rng: &rng)
    }

    var networkScale: Int { config.networkScale ?? scale }

    /// [n, 3, h, w] → [n, 3, h·scale, w·scale].
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try config.activation(try head(x), slope: headSlope)
        for (conv, slope) in zip(body, bodySlopes) { h = try config.activation(try conv(h), slope: slope) }
        let r = networkScale
        let out = try add(try pixelShuffle(try tail(h), r), try upsampleNearest(x, scale: r))
        guard r != scale else { return out }
        return try interpolateBicubic(out, height: x.shape[2] * scale, width: x.shape[3] * scale)
    }

    public var receptiveRadius: Int { config.blocks + 2 + 2 + 2 }  // convs, output resize, margin
    /// The last conv's 3·r² channels and the shuffle's copy of them, at input resolution.
    public var activationBytesPerPixel: Int { 4 * (3 * config.channels + 2 * 3 * networkScale * networkScale) }
}

/// Residual dense block: five convs, each reading the block's input and all
/// earlier outputs (growth channels each), the last scaled by 0.2 and added to the input.
public final class ResidualDenseBlock: Module, @unchecked Sendable {
    let convs: [Conv2d]

    init(_ channels: Int, growth: Int, rng: inout SeededRandom) {
        convs = (0..<5).map { i in Conv2d(channels + i * growth, i == 4 ? channels : growth, rng: &rng) }
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var features = [x]
        for conv in convs.dropLast() { features.append(leakyRelu(try conv(try concat(features)), slope: 0.2)) }
        return try add(scale(try convs[4](try concat(features)), 0.2), x)
    }
}

/// Residual-in-residual dense block: three dense blocks, scaled by 0.2, added to the input.
public final class RRDB: Module, @unchecked Sendable {
    let blocks: [ResidualDenseBlock]

    init(_ channels: Int, growth: Int, rng: inout SeededRandom) {
        blocks = (0..<3).map { _ in ResidualDenseBlock(channels, growth: growth, rng: &rng) }
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for block in blocks { h = try block(h) }
        return try add(scale(h, 0.2), x)
    }
}

/// RRDBNet (ESRGAN, Wang et al. 2018; RealESRGAN_x4plus): a conv, `blocks` RRDBs
/// with a conv and a skip around them, two nearest ×2 + conv stages, and two
/// convs at full resolution. Growth is 32 channels, as in every ESRGAN release.
public final class RRDBNet: Module, UpscalingNetwork, @unchecked Sendable {
    public let scale: Int
    public let config: ModelConfig
    let head: Conv2d
    let body: [RRDB]
    let bodyTail: Conv2d
    let upsample: [Conv2d]
    let highRes: Conv2d
    let tail: Conv2d

    public static let growth = 32

    public init(_ config: ModelConfig, scale: Int, seed: UInt64 = 1) throws {
        guard (2...4).contains(scale), (config.networkScale ?? scale) == 4 else {
            throw ShapeError("RRDBNet enlarges ×4; scale \(scale) from ×\(config.networkScale ?? scale) is not one it makes")
        }
        var rng = SeededRandom(seed: seed)
        let c = config.channels
        (self.scale, self.config) = (scale, config)
        head = Conv2d(3, c, rng: &rng)
        body = (0..<config.blocks).map { _ in RRDB(c, growth: Self.growth, rng: &rng) }
        bodyTail = Conv2d(c, c, rng: &rng)
        upsample = (0..<2).map { _ in Conv2d(c, c, rng: &rng) }
        highRes = Conv2d(c, c, rng: &rng)
        tail = Conv2d(c, 3, rng: &rng)
    }

    /// [n, 3, h, w] → [n, 3, h·scale, w·scale].
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let f = try head(x)
        var h = f
        for block in body { h = try block(h) }
        h = try add(f, try bodyTail(h))
        for conv in upsample { h = leakyRelu(try conv(try upsampleNearest(h, scale: 2)), slope: 0.2) }
        let out = try tail(leakyRelu(try highRes(h), slope: 0.2))
        guard scale != 4 else { return out }
        return try interpolateBicubic(out, height: x.shape[2] * scale, width: x.shape[3] * scale)
    }

    /// The exact reach is over 350 input pixels (15 convs per RRDB); tiles overlap
    /// by 24 instead, so tiled output differs from whole-image output near tile seams.
    /// Measured on x4plus in four 128² cores: overlap 16, 24, 32, 48 gave at most 21.0, 22.7,
    /// 15.9, 6.8 levels apart, 0.35, 0.22, 0.13, 0.035 on average; Real-ESRGAN's own tiling uses 10.
    public var receptiveRadius: Int { 24 }
    /// Three 64-channel tensors at 16× the pixels in the upsampling stages. (x4plus on a
    /// 1080p picture: 2.38 GB peak RSS with this, 2.36 GB with tiles of half the size.)
    public var activationBytesPerPixel: Int { 3 * 16 * config.channels * 4 }
}
