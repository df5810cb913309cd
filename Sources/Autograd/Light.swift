// Light-enhancement curves and the zero-reference losses that train them
// (Zero-DCE, Guo et al. CVPR 2020; Zero-DCE++, Li et al. TPAMI 2021): each
// op's forward beside its backward.

import Foundation

/// Zero-DCE's light-enhancement curve LE(v) = v + a·v·(1 − v), applied
/// `iterations` times with the same per-pixel map a (Zero-DCE++'s form).
/// For v in [0, 1] and a in [−1, 1] the result stays in [0, 1] and is
/// monotone in v; a = 0 is the identity.
/// - Parameters: x [n, 3, h, w] in [0, 1]; a [n, 3, h, w], one coefficient per pixel and channel.
/// - Returns: [n, 3, h, w].
/// - Throws: `ShapeError` when the shapes differ.
public func lightCurves(_ x: Tensor, _ a: Tensor, iterations: Int) throws -> Tensor {
    guard x.shape == a.shape, x.shape.count == 4 else {
        throw ShapeError("lightCurves: image \(x.shape) and curve map \(a.shape) must be the same [n, c, h, w]")
    }
    precondition((1...16).contains(iterations), "lightCurves: 1…16 iterations")
    let y = Tensor(shape: x.shape)
    let (xs, as_, ys) = (x.data, a.data, y.data)
    Parallel.chunks(x.count) { r in
        for i in r {
            var v = xs[i]
            let k = as_[i]
            for _ in 0..<iterations { v += k * v * (1 - v) }
            ys[i] = v
        }
    }
    return y.recorded(from: [x, a]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.needsGrad ? x.gradBuffer() : nil
        let da = a.needsGrad ? a.gradBuffer() : nil
        Parallel.chunks(x.count) { r in
            // Each pixel's chain is replayed on a small stack rather than stored per iteration.
            var v = [Float](repeating: 0, count: iterations)
            for i in r {
                let k = as_[i]
                var u = xs[i]
                for t in 0..<iterations { v[t] = u; u += k * u * (1 - u) }
                var g = dy[i], gk: Float = 0
                for t in stride(from: iterations - 1, through: 0, by: -1) {
                    gk += g * v[t] * (1 - v[t])
                    g *= 1 + k * (1 - 2 * v[t])
                }
                dx?[i] += g
                da?[i] += gk
            }
        }
    }
}

/// Means of each p×p patch of the channel-mean (luma as Zero-DCE takes it):
/// [n, c, h, w] → n · (h/p) · (w/p) values (the last partial patches dropped).
private func patchMeans(_ x: Tensor, patch p: Int) -> (values: [Float], rows: Int, cols: Int) {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (rows, cols) = (h / p, w / p)
    var out = [Float](repeating: 0, count: n * rows * cols)
    let k = 1 / Float(c * p * p)
    out.withUnsafeMutableBufferPointer { o in
        let base = o.baseAddress!
        Parallel.forEach(n * rows) { nr in
            let (b, r) = (nr / rows, nr % rows)
            for col in 0..<cols {
                var s: Float = 0
                for ch in 0..<c {
                    let plane = x.data + (b * c + ch) * h * w
                    for dy in 0..<p { for dx in 0..<p { s += plane[(r * p + dy) * w + col * p + dx] } }
                }
                base[nr * cols + col] = s * k
            }
        }
    }
    return (out, rows, cols)
}

/// Spreads a gradient per patch mean back over the patch's pixels: dx += g_patch / (c·p²).
private func spreadPatchGradient(_ g: [Float], into x: Tensor, patch p: Int, rows: Int, cols: Int) {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let dx = x.gradBuffer()
    let k = 1 / Float(c * p * p)
    Parallel.forEach(n * c) { nc in
        let (b, plane) = (nc / c, dx + nc * h * w)
        for r in 0..<rows { for col in 0..<cols {
            let v = g[(b * rows + r) * cols + col] * k
            for dy in 0..<p { for dx in 0..<p { plane[(r * p + dy) * w + col * p + dx] += v } }
        } }
    }
}

/// Zero-DCE's exposure control: mean over p×p patches of (patch mean − level)²,
/// pulling each region's brightness toward a well-exposed `level` (the paper's E = 0.6, p = 16).
/// - Parameters: y [n, c, h, w] in [0, 1], h and w ≥ p.
/// - Returns: a scalar.
public func exposureLoss(_ y: Tensor, level: Float, patch: Int = 16) throws -> Tensor {
    let (_, _, h, w) = try y.nchw("exposureLoss")
    guard h >= patch, w >= patch else { throw ShapeError("exposureLoss: \(y.shape) is smaller than one \(patch)×\(patch) patch") }
    let (m, rows, cols) = patchMeans(y, patch: patch)
    let k = 1 / Float(m.count)
    let loss = m.reduce(Float(0)) { $0 + ($1 - level) * ($1 - level) } * k
    return Tensor(scalar: loss).recorded(from: [y]) { out in
        guard let dOut = out.gradData else { return }
        spreadPatchGradient(m.map { 2 * ($0 - level) * k * dOut[0] }, into: y, patch: patch, rows: rows, cols: cols)
    }
}

/// Zero-DCE's colour constancy (the grey-world assumption): per image, with
/// channel means μ_r, μ_g, μ_b and D_pq = (μ_p − μ_q)², √(D_rg² + D_rb² + D_gb² + ε), averaged over the batch.
/// ε = 1e-8 keeps the gradient finite at a grey image.
/// - Parameters: y [n, 3, h, w].
/// - Returns: a scalar.
public func colourConstancyLoss(_ y: Tensor) throws -> Tensor {
    let (n, c, h, w) = try y.nchw("colourConstancyLoss")
    guard c == 3 else { throw ShapeError("colourConstancyLoss: \(y.shape) is not RGB") }
    let plane = h * w
    var mu = [Float](repeating: 0, count: n * 3)
    for i in 0..<n * 3 { mu[i] = Autograd.sum(y.data + i * plane, count: plane) / Float(plane) }
    let pairs = [(0, 1), (0, 2), (1, 2)]
    var loss: Float = 0
    var roots = [Float](repeating: 0, count: n)
    for b in 0..<n {
        let s = pairs.reduce(Float(0)) { acc, pq in let d = mu[b * 3 + pq.0] - mu[b * 3 + pq.1]; return acc + d * d * d * d }
        roots[b] = (s + 1e-8).squareRoot()
        loss += roots[b] / Float(n)
    }
    return Tensor(scalar: loss).recorded(from: [y]) { out in
        guard let dOut = out.gradData else { return }
        let dy = y.gradBuffer()
        for b in 0..<n {
            // d/dμ_p of √S: (1 / 2√S) · Σ_q ±4 (μ_p − μ_q)³, divided among the plane's pixels.
            var g = [Float](repeating: 0, count: 3)
            for (p, q) in pairs {
                let d = mu[b * 3 + p] - mu[b * 3 + q]
                let t = 4 * d * d * d / (2 * roots[b])
                g[p] += t; g[q] -= t
            }
            for ch in 0..<3 {
                let v = g[ch] * dOut[0] / Float(n * plane)
                let d = dy + (b * 3 + ch) * plane
                for i in 0..<plane { d[i] += v }
            }
        }
    }
}

/// Zero-DCE's spatial consistency: over p×p patch means of the channel-mean
/// of the output Y and the input I, Σ over neighbouring patches (left, right,
/// up, down) of (|Y_j − Y_i| − |I_j − I_i|)², averaged over patches (the paper's p = 4):
/// the enhanced picture keeps the input's local contrasts.
/// - Parameters: y and x [n, c, h, w] of the same shape, h and w ≥ 2p. Only y takes a gradient.
/// - Returns: a scalar.
public func spatialConsistencyLoss(_ y: Tensor, _ x: Tensor, patch: Int = 4) throws -> Tensor {
    let (_, _, h, w) = try y.nchw("spatialConsistencyLoss")
    guard x.shape == y.shape else { throw ShapeError("spatialConsistencyLoss: output \(y.shape) and input \(x.shape) differ") }
    guard h >= 2 * patch, w >= 2 * patch else { throw ShapeError("spatialConsistencyLoss: \(y.shape) holds fewer than 2×2 patches of \(patch)") }
    let (my, rows, cols) = patchMeans(y, patch: patch)
    let (mx, _, _) = patchMeans(x, patch: patch)
    let count = Float(my.count)
    var g = [Float](repeating: 0, count: my.count)
    var loss: Float = 0
    // Each neighbouring pair counts once from each side, as in the paper's four directions.
    func pair(_ j: Int, _ i: Int) {
        let dY = my[j] - my[i], dI = abs(mx[j] - mx[i])
        let e = abs(dY) - dI
        loss += 2 * e * e / count
        let s: Float = dY > 0 ? 1 : (dY < 0 ? -1 : 0)
        g[j] += 4 * e * s / count; g[i] -= 4 * e * s / count
    }
    for b in 0..<my.count / (rows * cols) {
        for r in 0..<rows { for col in 0..<cols {
            let j = (b * rows + r) * cols + col
            if col + 1 < cols { pair(j, j + 1) }
            if r + 1 < rows { pair(j, j + cols) }
        } }
    }
    return Tensor(scalar: loss).recorded(from: [y]) { out in
        guard let dOut = out.gradData else { return }
        spreadPatchGradient(g.map { $0 * dOut[0] }, into: y, patch: patch, rows: rows, cols: cols)
    }
}

/// Total variation of a curve map, squared: mean (a[y+1, x] − a[y, x])² + mean (a[y, x+1] − a[y, x])²
/// (Zero-DCE's illumination smoothness), so neighbouring pixels get similar curves.
/// - Parameters: a [n, c, h, w], h and w ≥ 2.
/// - Returns: a scalar.
public func smoothnessLoss(_ a: Tensor) throws -> Tensor {
    let (n, c, h, w) = try a.nchw("smoothnessLoss")
    guard h >= 2, w >= 2 else { throw ShapeError("smoothnessLoss: \(a.shape) needs at least 2×2 pixels") }
    let (kv, kh) = (1 / Float(n * c * (h - 1) * w), 1 / Float(n * c * h * (w - 1)))
    var loss: Float = 0
    for p in 0..<n * c {
        let m = a.data + p * h * w
        for y in 0..<h { for x in 0..<w {
            let v = m[y * w + x]
            if y + 1 < h { let d = m[(y + 1) * w + x] - v; loss += d * d * kv }
            if x + 1 < w { let d = m[y * w + x + 1] - v; loss += d * d * kh }
        } }
    }
    return Tensor(scalar: loss).recorded(from: [a]) { out in
        guard let dOut = out.gradData else { return }
        let da = a.gradBuffer()
        Parallel.forEach(n * c) { p in
            let (m, g) = (a.data + p * h * w, da + p * h * w)
            for y in 0..<h { for x in 0..<w {
                let v = m[y * w + x]
                if y + 1 < h { let d = 2 * (m[(y + 1) * w + x] - v) * kv * dOut[0]; g[(y + 1) * w + x] += d; g[y * w + x] -= d }
                if x + 1 < w { let d = 2 * (m[y * w + x + 1] - v) * kh * dOut[0]; g[y * w + x + 1] += d; g[y * w + x] -= d }
            } }
        }
    }
}
