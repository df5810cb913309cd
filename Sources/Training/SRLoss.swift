import Autograd
import Foundation
import Networks
import Quality

/// The training loss:
///   w_pix · pixel(SR, HR) + Σ_l w_l · L1(φ_l(SR), φ_l(HR)) + w_gram · Σ_l w_l² · L1(G(φ_l(SR)), G(φ_l(HR))).
public final class SRLoss {
    public let config: LossConfig
    let vgg: VGG16?
    let layers: [(VGGLayer, Float)]

    public init(_ config: LossConfig, vggWeights: String = VGG16.defaultPath) throws {
        var layers: [(VGGLayer, Float)] = []
        for (name, weight) in config.perceptual where weight != 0 {
            guard let layer = VGGLayer(rawValue: name) else {
                throw ShapeError("loss.perceptual: unknown layer \(name); use \(VGGLayer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            layers.append((layer, weight))
        }
        self.config = config
        self.layers = layers.sorted { $0.0 < $1.0 }
        vgg = layers.isEmpty ? nil : try VGG16(weights: vggWeights)
    }

    /// The total loss, and each term's value for display; `perceptual: false` leaves out the VGG terms.
    public func callAsFunction(_ sr: Tensor, _ hr: Tensor, perceptual: Bool = true) throws -> (total: Tensor, terms: [String: Float]) {
        let pixel: Tensor = switch config.pixelKind {
        case .l1: try l1Loss(sr, hr)
        case .mse: try mseLoss(sr, hr)
        case .charbonnier: try charbonnierLoss(sr, hr)
        }
        var total = scale(pixel, config.pixel)
        var terms = ["pixel": pixel.item]
        guard let vgg, perceptual else { return (total, terms) }
        let wanted = Set(layers.map(\.0))
        let target = try Grad.disabled { try vgg.features(hr, wanted) }
        let predicted = try vgg.features(sr, wanted)
        for (layer, weight) in layers {
            let feature = try l1Loss(predicted[layer]!, target[layer]!)
            total = try add(total, scale(feature, weight))
            terms[layer.rawValue] = feature.item
            if config.gram != 0 {
                let g = try l1Loss(try gram(predicted[layer]!), try Grad.disabled { try gram(target[layer]!) })
                total = try add(total, scale(g, config.gram * weight * weight))
                terms["gram_" + layer.rawValue] = g.item
            }
        }
        return (total, terms)
    }
}
