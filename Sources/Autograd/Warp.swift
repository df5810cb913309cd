// Backward warping along a dense flow: how a recurrent network carries its
// hidden state from one frame onto the next (BasicVSR's `flow_warp`, Chan et
// al., CVPR 2021), and how `Alignment` brings neighbours onto a frame.

/// `x` sampled at each pixel displaced by `flow`: y[c](p) = x[c](p + flow(p)),
/// bilinear, with the sampling point clamped to the picture (border replication,
/// grid_sample's `padding_mode="border"`).
/// Shapes: x [n, c, h, w], flow [n, 2, h, w] in pixels, (dx, dy) planes → [n, c, h, w].
/// The flow is data (DIS's, computed outside the graph): gradients reach `x` only.
/// - Throws: `ShapeError` when the flow's shape does not match `x`.
public func warp(_ x: Tensor, flow: Tensor) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("warp")
    guard flow.shape == [n, 2, h, w] else { throw ShapeError("warp: a flow of \(flow.shape) for \(x.shape); it must be [\(n), 2, \(h), \(w)]") }
    let y = Tensor(shape: x.shape)
    let plane = h * w
    Parallel.forEach(n * c) { k in
        let (p, out) = (x.data + k * plane, y.data + k * plane)
        BilinearTaps.forEach(flow: flow.data + k / c * 2 * plane, h: h, w: w) { i, taps in
            out[i] = taps.w00 * p[taps.i00] + taps.w01 * p[taps.i01] + taps.w10 * p[taps.i10] + taps.w11 * p[taps.i11]
        }
    }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData, x.needsGrad else { return }
        let dx = x.gradBuffer()
        // One plane per task: the scatter of a plane stays within it.
        Parallel.forEach(n * c) { k in
            let (g, d) = (dy + k * plane, dx + k * plane)
            BilinearTaps.forEach(flow: flow.data + k / c * 2 * plane, h: h, w: w) { i, taps in
                let v = g[i]
                d[taps.i00] += taps.w00 * v
                d[taps.i01] += taps.w01 * v
                d[taps.i10] += taps.w10 * v
                d[taps.i11] += taps.w11 * v
            }
        }
    }
}

/// The four source pixels and weights of one output pixel of `warp`.
struct BilinearTaps {
    var i00 = 0, i01 = 0, i10 = 0, i11 = 0
    var w00: Float = 0, w01: Float = 0, w10: Float = 0, w11: Float = 0

    /// Calls `body(i, taps)` for every pixel i of an h × w plane, given its flow planes (dx then dy).
    @inline(__always)
    static func forEach(flow: UnsafePointer<Float>, h: Int, w: Int, _ body: (Int, BilinearTaps) -> Void) {
        let plane = h * w
        var taps = BilinearTaps()
        for yy in 0..<h {
            for xx in 0..<w {
                let i = yy * w + xx
                let sx = min(max(Float(xx) + flow[i], 0), Float(w - 1)), sy = min(max(Float(yy) + flow[plane + i], 0), Float(h - 1))
                let (x0, y0) = (min(Int(sx), max(w - 2, 0)), min(Int(sy), max(h - 2, 0)))
                let (x1, y1) = (min(x0 + 1, w - 1), min(y0 + 1, h - 1))
                let (fx, fy) = (sx - Float(x0), sy - Float(y0))
                (taps.i00, taps.i01, taps.i10, taps.i11) = (y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1)
                (taps.w00, taps.w01) = ((1 - fx) * (1 - fy), fx * (1 - fy))
                (taps.w10, taps.w11) = ((1 - fx) * fy, fx * fy)
                body(i, taps)
            }
        }
    }
}
