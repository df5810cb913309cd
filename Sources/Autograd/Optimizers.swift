import Foundation

/// Adam (Kingma & Ba), with weight decay either added to the gradient (Adam's
/// L2) or applied to the weights directly (AdamW, Loshchilov & Hutter).
public final class Adam: @unchecked Sendable {
    public let parameters: [Tensor]
    public var learningRate: Float
    public var beta1: Float, beta2: Float
    public let epsilon: Float, weightDecay: Float, decoupled: Bool
    public private(set) var step = 0
    private var m: [UnsafeMutablePointer<Float>], v: [UnsafeMutablePointer<Float>]

    public init(_ parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false) {
        self.parameters = parameters
        (self.learningRate, self.beta1, self.beta2) = (learningRate, beta1, beta2)
        (self.epsilon, self.weightDecay, self.decoupled) = (epsilon, weightDecay, decoupled)
        func zeros(_ t: Tensor) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(t.count, 1))
            p.initialize(repeating: 0, count: t.count)
            return p
        }
        m = parameters.map(zeros)
        v = parameters.map(zeros)
    }

    /// AdamW with fastai's defaults.
    public static func adamW(_ parameters: [Tensor], learningRate: Float = 1e-3, weightDecay: Float = 1e-2) -> Adam {
        Adam(parameters, learningRate: learningRate, beta1: 0.9, beta2: 0.99, epsilon: 1e-5,
             weightDecay: weightDecay, decoupled: true)
    }

    deinit { for p in m + v { p.deallocate() } }

    /// The optimiser's moment buffers by parameter index, for checkpoints and resume.
    public func moments(_ i: Int) -> (m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) { (m[i], v[i]) }
    public func restore(step: Int) { self.step = step }

    public func update() {
        step += 1
        let (b1, b2, lr, eps, wd, decoupled) = (beta1, beta2, learningRate, epsilon, weightDecay, decoupled)
        let c1 = 1 - Float(pow(Double(b1), Double(step))), c2 = 1 - Float(pow(Double(b2), Double(step)))
        for (i, p) in parameters.enumerated() {
            guard let g = p.gradData else { continue }
            let (w, m, v) = (p.data, m[i], v[i])
            Parallel.chunks(p.count) { r in
                for j in r {
                    var gj = g[j]
                    if decoupled { w[j] -= lr * wd * w[j] } else { gj += wd * w[j] }
                    m[j] = b1 * m[j] + (1 - b1) * gj
                    v[j] = b2 * v[j] + (1 - b2) * gj * gj
                    w[j] -= lr * (m[j] / c1) / ((v[j] / c2).squareRoot() + eps)
                }
            }
        }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Scales all gradients down so their joint L2 norm is at most maxNorm; returns the norm before.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters { if let g = p.gradData { for j in 0..<p.count { total += Double(g[j] * g[j]) } } }
    let norm = Float(total.squareRoot())
    if norm > maxNorm {
        let k = maxNorm / (norm + 1e-6)
        for p in parameters { if let g = p.gradData { for j in 0..<p.count { g[j] *= k } } }
    }
    return norm
}

/// fastai's `fit_one_cycle`: the learning rate warms up from max/div to max
/// over the first pctStart of the steps, then anneals by cosine to
/// max/(div·finalDiv); momentum (Adam's β1) moves the opposite way.
public struct OneCycle: Sendable {
    public enum Warmup: String, Sendable { case cosine, linear }
    public let maxLR: Float, totalSteps: Int, pctStart: Double
    public let div: Float, finalDiv: Float, warmup: Warmup
    public let moms: (high: Float, low: Float)

    public init(maxLR: Float, totalSteps: Int, pctStart: Double = 0.25, div: Float = 25, finalDiv: Float = 1e5,
                warmup: Warmup = .cosine, moms: (Float, Float) = (0.95, 0.85)) {
        (self.maxLR, self.totalSteps, self.pctStart) = (maxLR, max(totalSteps, 1), pctStart)
        (self.div, self.finalDiv, self.warmup, self.moms) = (div, finalDiv, warmup, moms)
    }

    /// Position in the current phase and which phase: (fraction, warming up?).
    private func phase(_ step: Int) -> (Double, Bool) {
        let warm = max(1, Int((Double(totalSteps) * pctStart).rounded()))
        if step < warm { return (Double(step) / Double(warm), true) }
        return (min(1, Double(step - warm) / Double(max(1, totalSteps - warm))), false)
    }

    private func interpolate(_ a: Float, _ b: Float, _ t: Double, cosine: Bool) -> Float {
        let k = cosine ? (1 - cos(.pi * t)) / 2 : t
        return a + (b - a) * Float(k)
    }

    public func learningRate(at step: Int) -> Float {
        let (t, warming) = phase(step)
        return warming ? interpolate(maxLR / div, maxLR, t, cosine: warmup == .cosine)
                       : interpolate(maxLR, maxLR / (div * finalDiv), t, cosine: true)
    }

    public func beta1(at step: Int) -> Float {
        let (t, warming) = phase(step)
        return warming ? interpolate(moms.high, moms.low, t, cosine: warmup == .cosine)
                       : interpolate(moms.low, moms.high, t, cosine: true)
    }

    /// Sets the optimiser's learning rate and β1 for this step.
    public func apply(to optimizer: Adam, step: Int) {
        optimizer.learningRate = learningRate(at: step)
        optimizer.beta1 = beta1(at: step)
    }
}
