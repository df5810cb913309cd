import Foundation

/// An elementwise function with its derivative beside it; the derivative may
/// use x or y, whichever is cheaper. Ops are generic over these so each loop
/// is specialised and inlined.
protocol Pointwise {
    func f(_ x: Float) -> Float
    func df(x: Float, y: Float) -> Float
}

struct ReLU: Pointwise {
    func f(_ x: Float) -> Float { max(x, 0) }
    func df(x: Float, y: Float) -> Float { x > 0 ? 1 : 0 }
}

struct LeakyReLU: Pointwise {
    let slope: Float
    func f(_ x: Float) -> Float { x > 0 ? x : slope * x }
    func df(x: Float, y: Float) -> Float { x > 0 ? 1 : slope }
}

struct Sigmoid: Pointwise {
    func f(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
    func df(x: Float, y: Float) -> Float { y * (1 - y) }
}

struct Tanh: Pointwise {
    func f(_ x: Float) -> Float { Foundation.tanh(x) }
    func df(x: Float, y: Float) -> Float { 1 - y * y }
}

/// Clip (ncnn's Clip, ONNX's Clip, PyTorch's clamp and ReLU6): the gradient passes strictly inside [lo, hi].
struct Clamp: Pointwise {
    let lo: Float, hi: Float
    func f(_ x: Float) -> Float { min(max(x, lo), hi) }
    func df(x: Float, y: Float) -> Float { x > lo && x < hi ? 1 : 0 }
}

/// y = f(x); backward dx += dy · f′.
private func pointwise<F: Pointwise>(_ x: Tensor, _ fn: F) -> Tensor {
    let y = Tensor(shape: x.shape)
    let (xs, ys) = (x.data, y.data)
    Parallel.chunks(x.count) { r in for i in r { ys[i] = fn.f(xs[i]) } }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        Parallel.chunks(x.count) { r in for i in r { dx[i] += dy[i] * fn.df(x: xs[i], y: ys[i]) } }
    }
}

public func relu(_ x: Tensor) -> Tensor { pointwise(x, ReLU()) }
public func leakyRelu(_ x: Tensor, slope: Float = 0.01) -> Tensor { pointwise(x, LeakyReLU(slope: slope)) }
public func sigmoid(_ x: Tensor) -> Tensor { pointwise(x, Sigmoid()) }
public func tanh(_ x: Tensor) -> Tensor { pointwise(x, Tanh()) }
/// x limited to [lo, hi] (−∞ and +∞ for no limit).
public func clamp(_ x: Tensor, _ lo: Float, _ hi: Float) -> Tensor { pointwise(x, Clamp(lo: lo, hi: hi)) }

/// PReLU: y = x for x > 0, a_c·x otherwise, with a learned slope per channel.
public func prelu(_ x: Tensor, _ slope: Tensor) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("prelu")
    guard slope.count == c else { throw ShapeError("prelu: slope \(slope.shape) does not match \(c) channels of \(x.shape)") }
    let plane = h * w
    let y = Tensor(shape: x.shape)
    Parallel.forEach(n * c) { p in
        let (xs, ys, a) = (x.data + p * plane, y.data + p * plane, slope.data[p % c])
        for i in 0..<plane { ys[i] = xs[i] > 0 ? xs[i] : a * xs[i] }
    }
    return y.recorded(from: [x, slope]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.needsGrad ? x.gradBuffer() : nil
        var dslope = [Float](repeating: 0, count: n * c)
        dslope.withUnsafeMutableBufferPointer { ds in
            let dsBase = ds.baseAddress!
            Parallel.forEach(n * c) { p in
                let (xs, d, a) = (x.data + p * plane, dy + p * plane, slope.data[p % c])
                var s: Float = 0
                if let dx {
                    let g = dx + p * plane
                    for i in 0..<plane { g[i] += xs[i] > 0 ? d[i] : a * d[i] }
                }
                for i in 0..<plane where xs[i] <= 0 { s += d[i] * xs[i] }
                dsBase[p] = s
            }
        }
        if slope.needsGrad {
            let ga = slope.gradBuffer()
            for p in 0..<n * c { ga[p % c] += dslope[p] }
        }
    }
}
