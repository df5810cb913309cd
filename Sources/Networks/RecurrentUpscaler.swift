import Autograd

/// A recurrent network (`ModelConfig.propagation`) run over a stream, frame by
/// frame in order: each frame's body features are kept, warped onto the next
/// frame along DIS optical flow from the next frame to this one (`Alignment.flow`),
/// and handed to it; a scene cut (`Alignment.isSceneCut`) starts afresh. Memory
/// stays bounded at any length: one frame's features and luma are kept, 4·channels
/// bytes and 1 byte a pixel. Frames are enhanced whole, not in tiles (the state
/// reaches across the whole picture).
public final class RecurrentUpscaler {
    public let model: SRNet
    private var previous: (luma: [UInt8], state: Tensor)?

    /// - Throws: `ShapeError` when the model is not recurrent.
    public init(_ model: any UpscalingNetwork) throws {
        guard let net = model as? SRNet, net.config.propagation != nil else {
            throw ShapeError("\(model.config.layout.networkName) is not a recurrent network (model.propagation)")
        }
        self.model = net
    }

    /// The next frame of the stream [1, 3, h, w] in [0, 1] → [1, 3, h·scale, w·scale].
    /// - Throws: `ShapeError` from the network or the flow.
    public func callAsFunction(_ frame: Tensor) throws -> Tensor {
        try Grad.disabled {
            let luma = Alignment.luma(frame)
            var carried: Tensor?
            if let previous, previous.state.shape[2] == frame.shape[2], previous.state.shape[3] == frame.shape[3],
               !Alignment.isSceneCut(previous.luma, luma) {
                let flow = try Alignment.flow(from: luma, to: previous.luma, width: frame.shape[3], height: frame.shape[2])
                carried = try warp(previous.state, flow: flow)
            }
            let out = try model.step(frame, state: carried)
            previous = (luma, out.state)
            return out.output
        }
    }
}
