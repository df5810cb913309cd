import Foundation

/// Levenshtein distance, for suggesting the key a typo meant.
public func editDistance(_ a: String, _ b: String) -> Int {
    let b = Array(b)
    var row = Array(0...b.count)  // distances from a's prefix so far to each prefix of b
    for (i, ca) in a.enumerated() {
        var diagonal = row[0]
        row[0] = i + 1
        for (j, cb) in b.enumerated() {
            let above = row[j + 1]
            row[j + 1] = min(above + 1, row[j] + 1, diagonal + (ca == cb ? 0 : 1))
            diagonal = above
        }
    }
    return row[b.count]
}

/// Decodes one of an enum's words, or fails with `is WORD; allowed: …`.
public func decodeChoice<T: RawRepresentable & CaseIterable>(_ decoder: Decoder) throws -> T where T.RawValue == String {
    let container = try decoder.singleValueContainer()
    let word = try container.decode(String.self)
    guard let value = T(rawValue: word) else {
        throw DecodingError.dataCorruptedError(
            in: container, debugDescription: "is \(word); allowed: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
}

/// The body's nonlinearity.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case relu
    /// ReLU with a learned slope for negative inputs, one per channel (He et al. 2015).
    case prelu
    /// ReLU with slope 0.2 for negative inputs (ESRGAN's).
    case leakyRelu = "leaky-relu"
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }
}

/// The network's layout. Hone's own, or one of the architectures Real-ESRGAN
/// ships (BasicSR's `srvgg_arch.py` and `rrdbnet_arch.py`), built from imported weights.
public enum Architecture: String, Codable, CaseIterable, Sendable {
    /// `SRNet`: residual blocks, pixel-shuffle stages, a global residual over bicubic.
    case hone
    /// `SRVGGNetCompact` (realesr-animevideov3): a plain conv stack at input
    /// resolution, one pixel shuffle, a residual over nearest upsampling.
    case compact
    /// `RRDBNet` (ESRGAN, RealESRGAN_x4plus): residual-in-residual dense blocks,
    /// nearest ×2 upsampling stages.
    case rrdb
    /// `CurveNet` (Zero-DCE++): light and colour corrected by learnt curves, at scale 1.
    case curves
    /// `NCNNGraph`: any ncnn graph of layers Hone runs (waifu2x, Real-CUGAN, RealSR, …), carried in `ModelConfig.ncnn`.
    case ncnn
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }

    /// The network's type name, as its paper and `hone models` call it.
    public var networkName: String {
        switch self {
        case .hone: "SRNet"
        case .compact: "SRVGGNetCompact"
        case .rrdb: "RRDBNet"
        case .curves: "CurveNet"
        case .ncnn: "ncnn graph"
        }
    }
}

/// How a recurrent network carries what it saw from frame to frame.
public enum Propagation: String, Codable, CaseIterable, Sendable {
    /// BasicVSR's forward branch (Chan et al., CVPR 2021): the previous frame's features,
    /// warped onto this one along the optical flow, join this frame's. Streams with one frame of state.
    case forward
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }
}

/// An ncnn graph as a checkpoint carries it: the .param text (its weights are the checkpoint's
/// tensors), and the pixels its input is padded by on each side (`NCNNGraph.prepadding`).
public struct NCNNSpec: Codable, Sendable, Equatable {
    public var param: String
    public var prepadding: Int

    public init(param: String, prepadding: Int) { (self.param, self.prepadding) = (param, prepadding) }
}

/// The network a config or checkpoint describes (the `model` section): all
/// that `makeNetwork` needs, and nothing of how it is trained.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// nil: `.hone` (configs and checkpoints from before there was a choice).
    public var architecture: Architecture?
    /// Feature channels of the body.
    public var channels: Int
    /// Residual blocks in the body (`.compact`: body convolutions; `.rrdb`: RRDBs).
    public var blocks: Int
    public var activation: Activation
    /// Run the body at half resolution between a strided conv and a pixel-shuffle up, with a skip (lesson 7's U-Net path).
    public var unet: Bool
    /// The factor the network itself enlarges by, when the run's scale is
    /// smaller: its output is then shrunk by `interpolateBicubic`, as in
    /// Real-ESRGAN's ×2 and ×3 animevideov3 files (a ×4 network, then 0.5 or 0.75). nil: the run's scale.
    public var networkScale: Int?
    /// Frames read on each side of the one enhanced (k: the model reads t−k … t+k,
    /// aligned by `Alignment`); nil or 0: a single-frame model. Hone's architecture only.
    public var neighbours: Int?
    /// The graph of an `.ncnn` model (its channels, blocks and activation are then unused: 1, 0, relu).
    public var ncnn: NCNNSpec?
    /// nil: each frame alone. Set: a recurrent network (`SRNet.step`, `RecurrentUpscaler`). Hone's architecture only.
    public var propagation: Propagation?

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, channels, blocks, activation, unet, networkScale = "network_scale", neighbours, ncnn, propagation
    }

    public init(architecture: Architecture? = nil, channels: Int, blocks: Int, activation: Activation, unet: Bool, networkScale: Int? = nil) {
        (self.architecture, self.channels, self.blocks, self.activation, self.unet) = (architecture, channels, blocks, activation, unet)
        self.networkScale = networkScale
    }

    public var layout: Architecture { architecture ?? .hone }
    /// k, the frames read on each side (0: single-frame).
    public var radius: Int { neighbours ?? 0 }
    /// This model read one frame at a time: its weights are the multi-frame or recurrent one's
    /// less the neighbours' or the propagation's.
    public var singleFrame: ModelConfig {
        var single = self
        (single.neighbours, single.propagation) = (nil, nil)
        return single
    }

    /// What is out of range, one line each as `model.key is value; allowed: range`; empty when it is sound.
    /// Bounded so a config (or a checkpoint's) cannot ask for more than a few hundred MB of weights.
    public func problems() -> [String] {
        var found: [String] = []
        func require(_ ok: Bool, _ key: String, _ value: Any, _ allowed: String) {
            if !ok { found.append("\(key) is \(value); allowed: \(allowed)") }
        }
        require((1...256).contains(channels), "model.channels", channels, "1 to 256")
        require((0...64).contains(blocks), "model.blocks", blocks, "0 to 64")
        require(layout != .rrdb || activation == .leakyRelu, "model.activation", activation.rawValue, "leaky-relu for rrdb (ESRGAN's)")
        require(layout != .curves || networkScale == nil, "model.network_scale", networkScale ?? 0, "absent for curves")
        require(layout == .hone || !unet, "model.unet", unet, "false for \(layout.rawValue)")
        require((2...4).contains(networkScale ?? 2) && (layout != .rrdb || networkScale == 4 || networkScale == nil),
                "model.network_scale", networkScale ?? 0, "2 to 4 (4 for rrdb), or absent")
        require((0...2).contains(radius) && (layout == .hone || radius == 0), "model.neighbours", radius,
                "0 to 2 (frames each side), for Hone's architecture only")
        if propagation != nil {  // a recurrent model carries its body's output at the input's resolution, one frame at a time
            require(layout == .hone, "model.propagation", propagation!.rawValue, "absent for \(layout.rawValue) (Hone's architecture only)")
            require(!unet, "model.unet", unet, "false with model.propagation")
            require(radius == 0, "model.neighbours", radius, "0 with model.propagation (a recurrent model reads one frame at a time)")
        }
        require((layout == .ncnn) == (ncnn != nil), "model.ncnn", ncnn == nil ? "absent" : "a graph", "a graph exactly when architecture is ncnn")
        if let ncnn {
            require((0...64).contains(ncnn.prepadding), "model.ncnn.prepadding", ncnn.prepadding, "0 to 64 pixels")
            require(ncnn.param.utf8.count <= 1 << 22, "model.ncnn.param", "\(ncnn.param.utf8.count) bytes", "at most 4 MiB")
            require(networkScale == nil, "model.network_scale", networkScale ?? 0, "absent for ncnn")
        }
        return found
    }
}
