// Reductions to a scalar, the pixel losses, and the style-loss gram matrix.

/// Σ f(i) over 0..<count, summed per core in Double so large tensors stay accurate.
private func parallelSum(_ count: Int, _ f: (Range<Int>) -> Double) -> Double {
    let parts = min(Parallel.threads, max(1, count / (1 << 15)))
    var partial = [Double](repeating: 0, count: parts)
    partial.withUnsafeMutableBufferPointer { p in
        let base = p.baseAddress!
        Parallel.forEach(parts) { k in base[k] = f((count * k / parts)..<(count * (k + 1) / parts)) }
    }
    return partial.reduce(0, +)
}

/// Σ x, or the mean when `mean` is set, as a scalar.
private func total(_ x: Tensor, mean: Bool) -> Tensor {
    let k: Float = mean ? 1 / Float(max(x.count, 1)) : 1
    let s = parallelSum(x.count) { r in Double(sum(x.data + r.lowerBound, count: r.count)) }
    return Tensor(scalar: Float(s) * k).recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let g = dy[0] * k, dx = x.gradBuffer()
        Parallel.chunks(x.count) { r in for i in r { dx[i] += g } }
    }
}

public func sum(_ x: Tensor) -> Tensor { total(x, mean: false) }
public func mean(_ x: Tensor) -> Tensor { total(x, mean: true) }

/// A penalty ρ on the difference d = a − b, with ρ′ beside it.
protocol Penalty {
    func rho(_ d: Float) -> Float
    func drho(_ d: Float) -> Float
}

struct Squared: Penalty {
    func rho(_ d: Float) -> Float { d * d }
    func drho(_ d: Float) -> Float { 2 * d }
}

struct Absolute: Penalty {
    func rho(_ d: Float) -> Float { abs(d) }
    func drho(_ d: Float) -> Float { d > 0 ? 1 : (d < 0 ? -1 : 0) }
}

/// A smooth L1: √(d² + ε²), differentiable at 0.
struct Charbonnier: Penalty {
    let e2: Float
    func rho(_ d: Float) -> Float { (d * d + e2).squareRoot() }
    func drho(_ d: Float) -> Float { d / (d * d + e2).squareRoot() }
}

/// mean ρ(a − b); gradients go to whichever side needs one.
private func pairLoss<P: Penalty>(_ a: Tensor, _ b: Tensor, op: String, _ p: P) throws -> Tensor {
    guard a.shape == b.shape else { throw ShapeError("\(op): prediction \(a.shape) and target \(b.shape) differ in shape") }
    let k = 1 / Float(max(a.count, 1))
    let s = parallelSum(a.count) { r in
        var acc: Float = 0
        for i in r { acc += p.rho(a.data[i] - b.data[i]) }
        return Double(acc)
    }
    return Tensor(scalar: Float(s) * k).recorded(from: [a, b]) { y in
        guard let dy = y.gradData else { return }
        let g = dy[0] * k
        for (t, sign) in [(a, Float(1)), (b, Float(-1))] where t.needsGrad {
            let dt = t.gradBuffer()
            Parallel.chunks(a.count) { r in for i in r { dt[i] += sign * g * p.drho(a.data[i] - b.data[i]) } }
        }
    }
}

public func mseLoss(_ a: Tensor, _ b: Tensor) throws -> Tensor { try pairLoss(a, b, op: "mseLoss", Squared()) }
public func l1Loss(_ a: Tensor, _ b: Tensor) throws -> Tensor { try pairLoss(a, b, op: "l1Loss", Absolute()) }
public func charbonnierLoss(_ a: Tensor, _ b: Tensor, epsilon: Float = 1e-3) throws -> Tensor {
    try pairLoss(a, b, op: "charbonnierLoss", Charbonnier(e2: epsilon * epsilon))
}

/// Gram matrix per image: G = F·Fᵀ / (c·h·w) with F the c × (h·w) features; [n, c, c].
public func gram(_ x: Tensor) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("gram")
    let hw = h * w
    let k = 1 / Float(c * hw)
    let y = Tensor(shape: [n, c, c])
    Parallel.forEach(n) { i in
        let f = x.data + i * c * hw
        gemm(transB: true, m: c, n: c, k: hw, alpha: k, f, lda: hw, f, ldb: hw, beta: 0, y.data + i * c * c, ldc: c)
    }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        // dF = k·(dG + dGᵀ)·F
        Parallel.forEach(n) { i in
            Scratch.shared.with(c * c) { sym in
                let dg = dy + i * c * c
                for r in 0..<c { for s in 0..<c { sym[r * c + s] = dg[r * c + s] + dg[s * c + r] } }
                gemm(m: c, n: hw, k: c, alpha: k, sym, lda: c, x.data + i * c * hw, ldb: hw,
                     beta: 1, dx + i * c * hw, ldc: hw)
            }
        }
    }
}

/// Global average pooling: [n, c, h, w] → [n, c, 1, 1], each plane's mean (the squeeze of squeeze-and-excitation).
public func globalAveragePool(_ x: Tensor) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("globalAveragePool")
    let plane = h * w
    let y = Tensor(shape: [n, c, 1, 1])
    for p in 0..<n * c { y.data[p] = sum(x.data + p * plane, count: plane) / Float(plane) }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        for p in 0..<n * c {
            let g = dy[p] / Float(plane)
            for i in 0..<plane { dx[p * plane + i] += g }
        }
    }
}

/// Each plane replaced by its mean: [n, c, h, w] → [n, c, h, w], every pixel of plane (n, c)
/// holding mean_{h,w} x[n, c]. Global context for a convolution that reads it beside x (as
/// squeeze-and-excitation pools, without the squeeze).
public func planeMeans(_ x: Tensor) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("planeMeans")
    let plane = h * w
    let y = Tensor(shape: x.shape)
    Parallel.forEach(n * c) { p in
        let m = sum(x.data + p * plane, count: plane) / Float(plane)
        (y.data + p * plane).update(repeating: m, count: plane)
    }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        Parallel.forEach(n * c) { p in
            let g = sum(dy + p * plane, count: plane) / Float(plane)
            for i in 0..<plane { dx[p * plane + i] += g }
        }
    }
}
