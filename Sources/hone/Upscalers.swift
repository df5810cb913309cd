import Autograd
import SuperResolution

/// What `--checkpoint` names: a checkpoint file, or a classical baseline.
struct ChosenUpscaler {
    let enhance: (Tensor) throws -> Tensor
    let scale: Int
    /// The checkpoint's record; nil for a baseline.
    let record: RunRecord?

    /// `requestedScale` is --scale: the baselines' factor (default 2); a checkpoint must agree with it.
    init(_ name: String, requestedScale: Int?) throws {
        switch name {
        case "bicubic", "lanczos":
            let scale = requestedScale ?? 2
            enhance = name == "bicubic" ? { try resizeBicubic($0, .up(scale)) } : { try resizeLanczos($0, .up(scale)) }
            (self.scale, record) = (scale, nil)
        default:
            let (model, record) = try SRNet.load(checkpoint: name)
            if let requestedScale, requestedScale != model.scale {
                throw Failure("\(name) upscales ×\(model.scale); drop --scale or pass --scale \(model.scale)")
            }
            (enhance, scale, self.record) = (Upscaler(model).callAsFunction, model.scale, record)
        }
    }
}
