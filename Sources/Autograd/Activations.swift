import Foundation

/// y = f(x) elementwise; backward uses f′ given x and y (whichever is cheaper).
/// Each activation below is its function and derivative side by side.
@inline(__always)
private func pointwise(_ x: Tensor, _ f: @escaping (Float) -> Float,
                       _ df: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
    let y = Tensor(shape: x.shape)
    let (xs, ys) = (x.data, y.data)
    Parallel.chunks(x.count) { r in for i in r { ys[i] = f(xs[i]) } }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        Parallel.chunks(x.count) { r in for i in r { dx[i] += dy[i] * df(xs[i], ys[i]) } }
    }
}

public func relu(_ x: Tensor) -> Tensor {
    pointwise(x, { max($0, 0) }, { x, _ in x > 0 ? 1 : 0 })
}

public func leakyRelu(_ x: Tensor, slope: Float = 0.01) -> Tensor {
    pointwise(x, { $0 > 0 ? $0 : slope * $0 }, { x, _ in x > 0 ? 1 : slope })
}

public func sigmoid(_ x: Tensor) -> Tensor {
    pointwise(x, { 1 / (1 + exp(-$0)) }, { _, y in y * (1 - y) })
}

public func tanh(_ x: Tensor) -> Tensor {
    pointwise(x, { Foundation.tanh($0) }, { _, y in 1 - y * y })
}

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
