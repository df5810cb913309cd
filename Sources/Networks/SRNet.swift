import Autograd

/// conv → activation → conv, added to its input.
public final class ResidualBlock: Module, @unchecked Sendable {
    let conv1: Conv2d
    let conv2: Conv2d
    /// PReLU slopes, one per channel; nil for other activations.
    let slope: Tensor?
    let activation: Activation

    init(_ channels: Int, activation: Activation, rng: inout SeededRandom) {
        conv1 = Conv2d(channels, channels, rng: &rng)
        conv2 = Conv2d(channels, channels, rng: &rng)
        (slope, self.activation) = (activation.slopes(channels), activation)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try add(x, try conv2(try activation(try conv1(x), slope: slope)))
    }
}

/// A recurrent network's fusion (BasicVSR's, small): the state carried from the previous
/// frame, warped onto this one, read beside this frame's body features, so that the convs
/// can judge where the warp holds (occlusions, new content at the borders) → a change of
/// this frame's features. The last conv starts at zero: the fusion starts as nothing.
public final class StateFusion: Module, @unchecked Sendable {
    let read: Conv2d
    let readSlope: Tensor?
    let mix: Conv2d
    let mixSlope: Tensor?
    let activation: Activation
    let write: Conv2d

    init(_ channels: Int, activation: Activation, rng: inout SeededRandom) {
        read = Conv2d(2 * channels, channels, rng: &rng)
        mix = Conv2d(channels, channels, rng: &rng)
        (readSlope, mixSlope, self.activation) = (activation.slopes(channels), activation.slopes(channels), activation)
        write = Conv2d(channels, channels, bias: false, rng: &rng)
        write.weight.fill(0)
    }

    /// features, state: [n, c, h, w] → the change to add to features, [n, c, h, w].
    func callAsFunction(_ features: Tensor, state: Tensor) throws -> Tensor {
        let read = try activation(try read(try concat([features, state])), slope: readSlope)
        return try write(try activation(try mix(read), slope: mixSlope))
    }
}

/// Hone's super-resolution network: a residual body (optionally at half
/// resolution, U-Net style), pixel-shuffle stages (×2, ×2 twice, or ×3; none
/// at ×1, for restoration), and a global residual over the bicubic upscale (at
/// ×1 the input itself), so the network learns only what bicubic misses.
/// The last conv starts at zero: an untrained network is exactly bicubic (at ×1, the identity).
/// A multi-frame one (`config.neighbours` k > 0) also reads the frame's aligned
/// neighbours, fused into the head's features by a conv that starts at zero:
/// it starts exactly as the single-frame network whose weights it is given.
/// A recurrent one (`config.propagation`) fuses the state carried from the previous
/// frame, warped onto this one, into the body's output (`StateFusion`, which starts at
/// zero; `step`), and carries the result on: it too starts as the single-frame network.
public final class SRNet: Module, UpscalingNetwork, @unchecked Sendable {
    public let scale: Int
    public let config: ModelConfig
    let head: Conv2d
    let down: Conv2d?
    let body: [ResidualBlock]
    let bodyTail: Conv2d
    let up: Conv2d?
    let merge: Conv2d?
    package let upsample: [Conv2d]
    package let tail: Conv2d
    /// 6k neighbour channels → the head's features; nil for a single-frame network.
    let fuse: Conv2d?
    /// The carried state → a change of the body's output; nil unless recurrent.
    let fusion: StateFusion?

    public init(_ config: ModelConfig, scale: Int, seed: UInt64 = 1) throws {
        guard (1...4).contains(scale) else { throw ShapeError("scale must be 1, 2, 3 or 4, got \(scale)") }
        var rng = SeededRandom(seed: seed)
        let c = config.channels, inner = config.unet ? 2 * c : c
        (self.scale, self.config) = (scale, config)
        head = Conv2d(3, c, rng: &rng)
        down = config.unet ? Conv2d(c, inner, stride: 2, rng: &rng) : nil
        body = (0..<config.blocks).map { _ in ResidualBlock(inner, activation: config.activation, rng: &rng) }
        bodyTail = Conv2d(inner, inner, rng: &rng)
        up = config.unet ? Conv2d(inner, 4 * c, rng: &rng) : nil
        merge = config.unet ? Conv2d(2 * c, c, rng: &rng) : nil
        upsample = Self.stages(scale).map { r in Conv2d(c, r * r * c, rng: &rng) }
        tail = Conv2d(c, 3, rng: &rng)
        tail.weight.fill(0)
        tail.bias?.fill(0)
        // Made last, so the other layers start as a single-frame network's of the same seed.
        fuse = config.radius > 0 ? Conv2d(6 * config.radius, c, bias: false, rng: &rng) : nil
        fuse?.weight.fill(0)
        fusion = config.propagation != nil ? StateFusion(c, activation: config.activation, rng: &rng) : nil
    }

    /// [n, 3(2k + 1), h, w] in [0, 1] (the frame, then its k neighbours each side) → [n, 3, h·scale, w·scale].
    /// A recurrent network enhances the frame as the first of a clip.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try step(x, state: nil).output }

    /// One frame of a clip: x as `callAsFunction`'s; `state` the previous frame's state
    /// [n, channels, h, w] warped onto this frame (`warp`), or nil at a clip's start
    /// or after a scene cut → the output, and this frame's state for the next (its body's
    /// output with the carried state fused in, so what is carried accumulates over the shot).
    /// - Throws: `ShapeError` when the state's shape does not match.
    public func step(_ x: Tensor, state: Tensor?) throws -> (output: Tensor, state: Tensor) {
        let frame = fuse == nil ? x : try sliceChannels(x, 0..<3)
        var f = try head(frame)
        if let fuse { f = try add(f, try fuse(try sliceChannels(x, 3..<x.shape[1]))) }
        var h = try down.map { try $0(f) } ?? f
        let skip = h
        for block in body { h = try block(h) }
        h = try add(try bodyTail(h), skip)
        if let fusion, let state { h = try add(h, try fusion(h, state: state)) }
        let features = h
        if let up, let merge {  // back to full resolution (cropped for odd sizes), joined with the head's features
            let upsampled = try cropSpatial(try pixelShuffle(try up(h), 2), height: f.shape[2], width: f.shape[3])
            h = try merge(try concat([upsampled, f]))
        }
        for (stage, r) in zip(upsample, Self.stages(scale)) { h = relu(try pixelShuffle(try stage(h), r)) }
        return (try add(try tail(h), scale == 1 ? frame : try resizeBicubic(frame, .up(scale))), features)
    }

    /// A clip through the recurrent network, the state carried forward: frames T × [n, 3, h, w];
    /// flows[t] [n, 2, h, w] from frame t to frame t − 1 (`Alignment.flow`), nil where the
    /// clip starts afresh (t = 0, a scene cut) → T × [n, 3, h·scale, w·scale]. Gradients flow
    /// back through the states, as in BasicVSR's training.
    /// - Throws: `ShapeError` when the flows do not pair with the frames.
    public func callAsFunction(clip frames: [Tensor], flows: [Tensor?]) throws -> [Tensor] {
        guard flows.count == frames.count else { throw ShapeError("\(frames.count) frames need \(frames.count) flows (nil for the first), got \(flows.count)") }
        var state: Tensor?
        return try zip(frames, flows).map { frame, flow in
            let out = try step(frame, state: try flow.flatMap { flow in try state.map { try warp($0, flow: flow) } })
            state = out.state
            return out.output
        }
    }

    /// The pixel-shuffle factors that make `scale` (none for ×1).
    static func stages(_ scale: Int) -> [Int] { scale == 4 ? [2, 2] : scale == 1 ? [] : [scale] }

    public var receptiveRadius: Int {
        let body = 2 * config.blocks + 1  // residual convs and the body's tail
        let lowRes = config.unet ? 2 * (body + 1) + 2 : body  // at half resolution each conv reaches twice as far
        return 1 + lowRes + upsample.count + 1 + 2 + 2  // head, body, upsamplers, tail, bicubic skip, margin
    }

    /// Measured: 2¹⁸ pixels take ~170 MB at the default model's widest layer.
    public var activationBytesPerPixel: Int { 650 * max(config.channels, 40) / 40 * scale * scale / 4 }
}
