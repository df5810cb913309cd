import Autograd

/// conv → activation → conv, added to its input.
public final class ResidualBlock: Module, @unchecked Sendable {
    let conv1: Conv2d
    let conv2: Conv2d
    /// PReLU slopes, one per channel; nil for ReLU.
    let slope: Tensor?

    init(_ channels: Int, prelu: Bool, rng: inout SeededRandom) {
        conv1 = Conv2d(channels, channels, rng: &rng)
        conv2 = Conv2d(channels, channels, rng: &rng)
        slope = prelu ? Tensor(shape: [channels], requiresGrad: true) : nil
        slope?.fill(0.25)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try conv1(x)
        return try add(x, try conv2(try slope.map { try prelu(h, $0) } ?? relu(h)))
    }
}

/// The super-resolution network: a residual body (optionally at half
/// resolution, U-Net style), pixel-shuffle ×2 stages, and a global residual
/// over the bicubic upscale, so the network learns only what bicubic misses.
/// The last conv starts at zero: an untrained network is exactly bicubic.
public final class SRNet: Module, @unchecked Sendable {
    public let scale: Int
    public let config: ModelConfig
    let head: Conv2d
    let down: Conv2d?
    let body: [ResidualBlock]
    let bodyTail: Conv2d
    let up: Conv2d?
    let merge: Conv2d?
    let upsample: [Conv2d]
    let tail: Conv2d

    public init(_ config: ModelConfig, scale: Int, seed: UInt64 = 1) throws {
        guard [2, 4].contains(scale) else { throw ShapeError("scale must be 2 or 4, got \(scale)") }
        var rng = SeededRandom(seed: seed)
        let c = config.channels, inner = config.unet ? 2 * c : c
        (self.scale, self.config) = (scale, config)
        head = Conv2d(3, c, rng: &rng)
        down = config.unet ? Conv2d(c, inner, stride: 2, rng: &rng) : nil
        body = (0..<config.blocks).map { _ in ResidualBlock(inner, prelu: config.activation == .prelu, rng: &rng) }
        bodyTail = Conv2d(inner, inner, rng: &rng)
        up = config.unet ? Conv2d(inner, 4 * c, rng: &rng) : nil
        merge = config.unet ? Conv2d(2 * c, c, rng: &rng) : nil
        upsample = (0..<(scale == 4 ? 2 : 1)).map { _ in Conv2d(c, 4 * c, rng: &rng) }
        tail = Conv2d(c, 3, rng: &rng)
        tail.weight.fill(0)
        tail.bias?.fill(0)
    }

    /// [n, 3, h, w] in [0, 1] → [n, 3, h·scale, w·scale].
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let f = try head(x)
        var h = try down.map { try $0(f) } ?? f
        let skip = h
        for block in body { h = try block(h) }
        h = try add(try bodyTail(h), skip)
        if let up, let merge {  // back to full resolution (cropped for odd sizes), joined with the head's features
            let upsampled = try cropSpatial(try pixelShuffle(try up(h), 2), height: f.shape[2], width: f.shape[3])
            h = try merge(try concat([upsampled, f]))
        }
        for stage in upsample { h = relu(try pixelShuffle(try stage(h), 2)) }
        return try add(try tail(h), try resizeBicubic(x, .up(scale)))
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}
