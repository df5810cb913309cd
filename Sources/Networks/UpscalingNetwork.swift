import Autograd

/// A super-resolution network: [n, 3, h, w] in [0, 1] → [n, 3, h·scale, w·scale].
/// Its tensors, named as a checkpoint stores them, are its state.
public protocol UpscalingNetwork: Module {
    var scale: Int { get }
    var config: ModelConfig { get }
    func callAsFunction(_ x: Tensor) throws -> Tensor
    /// How far (in input pixels) an output pixel's inputs reach, plus a margin:
    /// tiles that overlap this much give the whole image's output.
    var receptiveRadius: Int { get }
    /// Bytes of activations per input pixel at the widest point of the
    /// forward pass without a graph, roughly: what sizes tiles.
    var activationBytesPerPixel: Int { get }
}

extension UpscalingNetwork {
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    /// Frames it reads on each side of the one it enhances (k); its input is
    /// [n, 3(2k + 1), h, w], as `Alignment.stack` makes it.
    public var radius: Int { config.radius }
}

/// The network a config describes, with seeded initial weights (an ncnn graph's are zero).
/// - Throws: `ShapeError` for a scale the architecture cannot make.
public func makeNetwork(_ config: ModelConfig, scale: Int, seed: UInt64 = 1) throws -> any UpscalingNetwork {
    switch config.layout {
    case .hone: try SRNet(config, scale: scale, seed: seed)
    case .compact: try SRVGGNetCompact(config, scale: scale, seed: seed)
    case .rrdb: try RRDBNet(config, scale: scale, seed: seed)
    case .curves: try CurveNet(config, scale: scale, seed: seed)
    case .ncnn: try NCNNGraph.zeroed(config, scale: scale)
    }
}

extension Activation {
    /// Applies it; `slope` holds PReLU's per-channel slopes.
    func callAsFunction(_ x: Tensor, slope: Tensor?) throws -> Tensor {
        switch self {
        case .relu: Autograd.relu(x)
        case .prelu: try Autograd.prelu(x, slope!)
        case .leakyRelu: Autograd.leakyRelu(x, slope: 0.2)
        }
    }

    /// PReLU's slopes for `channels` (at 0.25, PyTorch's start), else nil.
    func slopes(_ channels: Int) -> Tensor? {
        guard self == .prelu else { return nil }
        let slope = Tensor(shape: [channels], requiresGrad: true)
        slope.fill(0.25)
        return slope
    }
}
