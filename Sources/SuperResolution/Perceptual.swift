import Autograd
import Foundation

/// The feature layers of VGG16 a loss can use, by the conv whose ReLU ends them.
public enum VGGLayer: String, CaseIterable, Sendable, Comparable {
    case relu1_2, relu2_2, relu3_3, relu4_3, relu5_3

    /// Index of the conv (0…12) whose ReLU output this is.
    var conv: Int { [1, 3, 6, 9, 12][VGGLayer.allCases.firstIndex(of: self)!] }
    public static func < (a: VGGLayer, b: VGGLayer) -> Bool { a.conv < b.conv }
}

/// ImageNet VGG16's convolutional features (torchvision's `features`), frozen.
public final class VGG16: Module, @unchecked Sendable {
    let convs: [Conv2d]
    // ImageNet statistics (static, so they are not taken for weights).
    private static let mean = try! Tensor(shape: [3], values: [0.485, 0.456, 0.406])
    private static let invStd = try! Tensor(shape: [3], values: [1 / 0.229, 1 / 0.224, 1 / 0.225])

    /// Where `scripts/fetch-weights.sh` (run by `make setup`) puts the converted weights.
    public static var defaultPath: String { ProjectFiles.cache + "/vgg16.safetensors" }

    public init(weights path: String = VGG16.defaultPath) throws {
        var rng = SeededRandom(seed: 0)
        let widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
        convs = zip([3] + widths.dropLast(), widths).map { Conv2d($0, $1, rng: &rng) }
        super.init()
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(path, "VGG16 weights are missing; run `make setup` (or scripts/fetch-weights.sh) once")
        }
        let file = try Checkpoint.load(path)
        try file.load(into: self, prefix: "vgg.", path: path)
        for (_, t) in namedTensors() { t.requiresGrad = false }
        metadata = file.metadata
    }

    /// The converter's metadata (source, reference activations).
    public private(set) var metadata: [String: String] = [:]

    /// Features at `layers` of an RGB batch in [0, 1]; runs only as deep as needed.
    public func features(_ x: Tensor, _ layers: Set<VGGLayer>) throws -> [VGGLayer: Tensor] {
        guard let deepest = layers.max() else { return [:] }
        var h = try mul(try sub(x, VGG16.mean), VGG16.invStd)
        var out: [VGGLayer: Tensor] = [:]
        for (i, conv) in convs.enumerated() where i <= deepest.conv {
            if [2, 4, 7, 10].contains(i) { h = try maxPool2(h) }
            h = relu(try conv(h))
            if let layer = VGGLayer.allCases.first(where: { $0.conv == i }), layers.contains(layer) { out[layer] = h }
        }
        return out
    }
}

/// LPIPS v0.1 with VGG16 (Zhang et al. 2018): at each of the five ReLU stages,
/// features unit-normalised over channels, their squared difference weighted
/// per channel by the learnt linear layer, averaged over space; summed over
/// stages. LPIPS feeds VGG (x − shift) / scale for x in [−1, 1]; for x = 2p − 1
/// that is exactly ImageNet's (p − mean) / std, which `VGG16.features` applies.
public final class LPIPS {
    let vgg: VGG16
    /// Channel weights of each stage's linear layer (lpips.lins.0…4).
    let weights: [[Float]]

    public init(weights path: String = VGG16.defaultPath) throws {
        vgg = try VGG16(weights: path)
        let file = try Checkpoint.load(path)
        weights = try (0..<VGGLayer.allCases.count).map { i in
            guard let w = file["lpips.lins.\(i).weight"] else { throw FileError(path, "has no LPIPS weights (lpips.lins.\(i).weight); rerun scripts/fetch-weights.sh") }
            return w.array
        }
    }

    /// Channel-normalised features of a [1, 3, h, w] image in [0, 1] at the five stages.
    public func features(_ image: Tensor) throws -> [Tensor] {
        let f = try Grad.disabled { try vgg.features(image, Set(VGGLayer.allCases)) }
        return VGGLayer.allCases.map { layer in
            let t = f[layer]!
            let (c, plane) = (t.shape[1], t.shape[2] * t.shape[3])
            for p in 0..<plane {
                var norm: Float = 0
                for k in 0..<c { norm += t.data[k * plane + p] * t.data[k * plane + p] }
                let scale = 1 / (norm.squareRoot() + 1e-10)
                for k in 0..<c { t.data[k * plane + p] *= scale }
            }
            return t
        }
    }

    /// The distance between two images' `features` (0 for identical images).
    public func distance(_ a: [Tensor], _ b: [Tensor]) -> Double {
        var total = 0.0
        for (stage, (fa, fb)) in zip(a, b).enumerated() {
            let (c, plane) = (fa.shape[1], fa.shape[2] * fa.shape[3])
            var sum = 0.0
            for k in 0..<c {
                let w = Double(weights[stage][k])
                var s: Float = 0
                for p in 0..<plane { let d = fa.data[k * plane + p] - fb.data[k * plane + p]; s += d * d }
                sum += w * Double(s)
            }
            total += sum / Double(plane)
        }
        return total
    }

    public func callAsFunction(_ a: Tensor, _ b: Tensor) throws -> Double { distance(try features(a), try features(b)) }
}

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
