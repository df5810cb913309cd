import Autograd
import Foundation
import Networks

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
