import Autograd
import Foundation
import Networks
import Quality

/// Per-video tuning in the spirit of CaFM (Liu et al., "Overfitting the Data:
/// Compact Neural Video Delivery via Content-aware Feature Modulation", ICCV
/// 2021): every convolution's output channels get a learned scale, and the
/// biases and PReLU slopes are tuned as they are — under 1% of the weights.
/// With a `rank`, each convolution's weights also get a low-rank change
/// (LoRA, Hu et al., ICLR 2022): W = s ⊙ W₀ + U·V, U [out, rank] starting at
/// zero, V [rank, in·k·k]. All of it is folded into the weights after each
/// step, so the model stays an ordinary network.
public final class ChannelModulation {
    /// The rank `Tuning.lowRank` uses.
    public static let rank = 2
    /// What the optimiser updates: `<conv>.channel_scale` ([out], starting at 1),
    /// `<conv>.delta_out` and `<conv>.delta_in` (with a rank), biases, slopes.
    public let parameters: [(name: String, tensor: Tensor)]
    /// Each convolution's weights, their values at the start, scales, and low-rank factors.
    private let convolutions: [(weight: Tensor, start: [Float], scale: Tensor, factors: (u: Tensor, v: Tensor)?)]

    public init(_ model: any UpscalingNetwork, rank: Int = 0, seed: UInt64 = 1) {
        var rng = SeededRandom(seed: seed)
        var parameters: [(String, Tensor)] = [], convolutions: [(Tensor, [Float], Tensor, (u: Tensor, v: Tensor)?)] = []
        for (name, t) in model.namedTensors() where t.requiresGrad {
            guard t.shape.count == 4 else { parameters.append((name, t)); continue }
            let (out, perChannel) = (t.shape[0], t.count / t.shape[0])
            let scale = Tensor(shape: [out], requiresGrad: true)
            scale.fill(1)
            parameters.append((Self.names(name).scale, scale))
            var factors: (u: Tensor, v: Tensor)?
            if rank > 0 {
                // U at zero, so tuning starts exactly at the base; V as a layer's Kaiming-uniform weights.
                let (u, v) = (Tensor(zeros: [out, rank], requiresGrad: true), Tensor(shape: [rank, perChannel], requiresGrad: true))
                let bound = 1 / Float(perChannel).squareRoot()
                for i in 0..<v.count { v.data[i] = rng.uniform(-bound, bound) }
                parameters += [(Self.names(name).out, u), (Self.names(name).in, v)]
                factors = (u, v)
            }
            convolutions.append((t, Array(UnsafeBufferPointer(start: t.data, count: t.count)), scale, factors))
        }
        (self.parameters, self.convolutions) = (parameters, convolutions)
    }

    /// The names of a convolution weight's channel scales and low-rank factors.
    package static func names(_ weight: String) -> (scale: String, out: String, in: String) {
        let layer = String(weight.dropLast(".weight".count))
        return (layer + ".channel_scale", layer + ".delta_out", layer + ".delta_in")
    }

    /// The tuned tensors' gradients from the weights' G = ∂L/∂W (after `backward`):
    /// ∂L/∂s[o] = Σₖ G[o, k] · W₀[o, k], ∂L/∂U = G·Vᵀ, ∂L/∂V = Uᵀ·G.
    public func projectGradients() {
        for (weight, start, scale, factors) in convolutions {
            guard let g = weight.gradData else { continue }
            let (out, perChannel) = (weight.shape[0], weight.count / weight.shape[0])
            let gs = scale.gradBuffer()
            start.withUnsafeBufferPointer { w0 in
                for o in 0..<out {
                    var total: Float = 0
                    for k in (o * perChannel)..<((o + 1) * perChannel) { total += g[k] * w0[k] }
                    gs[o] = total
                }
            }
            guard let (u, v) = factors else { continue }
            let rank = u.shape[1]
            let (gu, gv) = (u.gradBuffer(), v.gradBuffer())
            gu.update(repeating: 0, count: u.count)
            gv.update(repeating: 0, count: v.count)
            for o in 0..<out {
                for j in 0..<rank {
                    let uo = u.data[o * rank + j]
                    var total: Float = 0
                    for k in 0..<perChannel {
                        let gk = g[o * perChannel + k]
                        total += gk * v.data[j * perChannel + k]
                        gv[j * perChannel + k] += uo * gk
                    }
                    gu[o * rank + j] = total
                }
            }
        }
    }

    /// The weights from their start, the scales and the factors (after each update).
    public func fold() {
        for (weight, start, scale, factors) in convolutions {
            Self.fold(into: weight.data, start: start, scale: scale.data, factors: factors.map { (UnsafePointer($0.u.data), UnsafePointer($0.v.data)) },
                      out: weight.shape[0], rank: factors?.u.shape[1] ?? 0)
        }
    }

    /// W[o, k] = s[o] · W₀[o, k] + Σⱼ U[o, j] · V[j, k], for `out` rows of W₀'s length / out.
    package static func fold(into w: UnsafeMutablePointer<Float>, start: [Float], scale: UnsafePointer<Float>,
                     factors: (u: UnsafePointer<Float>, v: UnsafePointer<Float>)?, out: Int, rank: Int) {
        let perChannel = start.count / out
        for o in 0..<out {
            for k in 0..<perChannel {
                var value = scale[o] * start[o * perChannel + k]
                if let (u, v) = factors { for j in 0..<rank { value += u[o * rank + j] * v[j * perChannel + k] } }
                w[o * perChannel + k] = value
            }
        }
    }
}
