// Ops that move values without arithmetic: channel concat and slice, pixel (un)shuffle, 2×2 pooling.

/// Concatenates NCHW tensors along channels.
public func concat(_ xs: [Tensor]) throws -> Tensor {
    guard let first = xs.first else { throw ShapeError("concat: no tensors given") }
    let (n, _, h, w) = try first.nchw("concat")
    for x in xs {
        let d = try x.nchw("concat")
        guard d.n == n, d.h == h, d.w == w else {
            throw ShapeError("concat: \(x.shape) does not match \(first.shape) outside the channel axis")
        }
    }
    let channels = xs.map { $0.shape[1] }
    let total = channels.reduce(0, +)
    let plane = h * w
    let y = Tensor(shape: [n, total, h, w])
    // Each (image, input) block is one contiguous copy.
    func blocks(_ body: (_ x: Tensor, _ xOffset: Int, _ yOffset: Int, _ length: Int) -> Void) {
        for img in 0..<n {
            var c0 = 0
            for (x, c) in zip(xs, channels) {
                body(x, img * c * plane, (img * total + c0) * plane, c * plane)
                c0 += c
            }
        }
    }
    blocks { x, xo, yo, len in (y.data + yo).update(from: x.data + xo, count: len) }
    return y.recorded(from: xs) { y in
        guard let dy = y.gradData else { return }
        blocks { x, xo, yo, len in if x.needsGrad { axpy(dy + yo, into: x.gradBuffer() + xo, count: len) } }
    }
}

/// Channels `range` of an NCHW tensor: [n, c, h, w] → [n, range.count, h, w] (concat's inverse).
public func sliceChannels(_ x: Tensor, _ range: Range<Int>) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("sliceChannels")
    guard range.lowerBound >= 0, range.upperBound <= c, !range.isEmpty else {
        throw ShapeError("sliceChannels: channels \(range) of \(x.shape)")
    }
    if range.count == c { return x }
    let (plane, k) = (h * w, range.count)
    let y = Tensor(shape: [n, k, h, w])
    for img in 0..<n { (y.data + img * k * plane).update(from: x.data + (img * c + range.lowerBound) * plane, count: k * plane) }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        for img in 0..<n { axpy(dy + img * k * plane, into: dx + (img * c + range.lowerBound) * plane, count: k * plane) }
    }
}

/// The h × w window at (`top`, `left`) of each plane of an NCHW tensor: [n, c, xh, xw] → [n, c, h, w].
/// - Throws: `ShapeError` for a window outside the planes.
public func cropSpatial(_ x: Tensor, top: Int = 0, left: Int = 0, height h: Int, width w: Int) throws -> Tensor {
    let (n, c, xh, xw) = try x.nchw("cropSpatial")
    guard top >= 0, left >= 0, h >= 1, w >= 1, top + h <= xh, left + w <= xw else {
        throw ShapeError("cropSpatial: \(h)×\(w) at (\(top), \(left)) does not fit in \(x.shape)")
    }
    if h == xh && w == xw { return x }
    let y = Tensor(shape: [n, c, h, w])
    let origin = top * xw + left
    Parallel.forEach(n * c) { p in
        for r in 0..<h { (y.data + (p * h + r) * w).update(from: x.data + p * xh * xw + origin + r * xw, count: w) }
    }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        Parallel.forEach(n * c) { p in
            for r in 0..<h { axpy(dy + (p * h + r) * w, into: dx + p * xh * xw + origin + r * xw, count: w) }
        }
    }
}

/// The one index map behind pixel shuffle and unshuffle: depth channel
/// c·r² + i·r + j at (h, w) is space pixel (h·r + i, w·r + j) of channel c.
/// Copies depth→space when `toSpace`, else space→depth; adds when `accumulate`.
/// Shapes: depth [n, c·r², h, w], space [n, c, h·r, w·r].
private func shuffle(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                     n: Int, c: Int, h: Int, w: Int, r: Int, toSpace: Bool, accumulate: Bool) {
    Parallel.forEach(n * c) { nc in
        for i in 0..<r {
            for y in 0..<h {
                // One space row against its r depth rows (j = 0..<r).
                let space = nc * h * r * w * r + (y * r + i) * w * r
                let depth = (nc * r * r + i * r) * h * w + y * w
                var x = 0
                if r == 2 {  // ×2, the common case: 8 pixels of each depth row per 16-float vector
                    while x + 8 <= w {
                        let (d0, d1, s) = (depth + x, depth + h * w + x, space + 2 * x)
                        if toSpace {
                            var v = SIMD16<Float>()
                            (v.evenHalf, v.oddHalf) = (load(src + d0), load(src + d1))
                            put(v, dst + s, accumulate: accumulate)
                        } else {
                            let v: SIMD16<Float> = load(src + s)
                            put(v.evenHalf, dst + d0, accumulate: accumulate)
                            put(v.oddHalf, dst + d1, accumulate: accumulate)
                        }
                        x += 8
                    }
                }
                for j in 0..<r {
                    for x in x..<w {
                        let (d, s) = (depth + j * h * w + x, space + x * r + j)
                        let (from, to) = toSpace ? (d, s) : (s, d)
                        dst[to] = accumulate ? dst[to] + src[from] : src[from]
                    }
                }
            }
        }
    }
}

/// 16 floats (or 8) at p, any alignment.
@inline(__always) private func load<V: SIMD>(_ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

/// *p = v, or *p += v when `accumulate`.
@inline(__always) private func put<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>, accumulate: Bool) where V.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: accumulate ? load(p) + v : v, as: V.self)
}

/// [n, c·r², h, w] → [n, c, h·r, w·r].
public func pixelShuffle(_ x: Tensor, _ r: Int) throws -> Tensor {
    let (n, cr2, h, w) = try x.nchw("pixelShuffle")
    guard r >= 1, cr2 % (r * r) == 0 else { throw ShapeError("pixelShuffle: \(cr2) channels of \(x.shape) are not a multiple of \(r)²") }
    let c = cr2 / (r * r)
    let y = Tensor(shape: [n, c, h * r, w * r])
    shuffle(x.data, y.data, n: n, c: c, h: h, w: w, r: r, toSpace: true, accumulate: false)
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        shuffle(dy, x.gradBuffer(), n: n, c: c, h: h, w: w, r: r, toSpace: false, accumulate: true)
    }
}

/// [n, c, h·r, w·r] → [n, c·r², h, w].
public func pixelUnshuffle(_ x: Tensor, _ r: Int) throws -> Tensor {
    let (n, c, hr, wr) = try x.nchw("pixelUnshuffle")
    guard r >= 1, hr % r == 0, wr % r == 0 else { throw ShapeError("pixelUnshuffle: size \(hr)×\(wr) of \(x.shape) is not a multiple of \(r)") }
    let (h, w) = (hr / r, wr / r)
    let y = Tensor(shape: [n, c * r * r, h, w])
    shuffle(x.data, y.data, n: n, c: c, h: h, w: w, r: r, toSpace: false, accumulate: false)
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        shuffle(dy, x.gradBuffer(), n: n, c: c, h: h, w: w, r: r, toSpace: true, accumulate: true)
    }
}

/// 2×2 pooling with stride 2 (an odd last row or column is dropped, as in PyTorch).
/// Shapes: x [n, c, h, w] → y [n, c, h / 2, w / 2]. Each output row is done 8
/// outputs at a time from 16 floats of each of its two input rows (`Pairs`),
/// then one by one.
private func pool2(_ x: Tensor, op: String, max: Bool) throws -> Tensor {
    let (n, c, h, w) = try x.nchw(op)
    let (oh, ow) = (h / 2, w / 2)
    guard oh > 0, ow > 0 else { throw ShapeError("\(op): input \(x.shape) is smaller than 2×2") }
    let y = Tensor(shape: [n, c, oh, ow])
    Parallel.forEach(n * c) { p in
        let (xs, ys) = (x.data + p * h * w, y.data + p * oh * ow)
        for i in 0..<oh {
            let (top, out) = (xs + 2 * i * w, ys + i * ow)
            var j = 0
            while j + 8 <= ow {
                let (a, b): (SIMD16<Float>, SIMD16<Float>) = (load(top + 2 * j), load(top + w + 2 * j))
                if max {
                    // By selects: the standard library's pointwiseMax is not inlined.
                    let m = a.replacing(with: b, where: a .< b), (even, odd) = (m.evenHalf, m.oddHalf)
                    put(even.replacing(with: odd, where: even .< odd), out + j, accumulate: false)
                } else {
                    let s = a + b
                    put((s.evenHalf + s.oddHalf) * 0.25, out + j, accumulate: false)
                }
                j += 8
            }
            for j in j..<ow {
                let a = top + 2 * j
                out[j] = max ? Swift.max(a[0], a[1], a[w], a[w + 1]) : 0.25 * (a[0] + a[1] + a[w] + a[w + 1])
            }
        }
    }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        Parallel.forEach(n * c) { p in
            let (xs, ys, d, g) = (x.data + p * h * w, y.data + p * oh * ow, dy + p * oh * ow, dx + p * h * w)
            for i in 0..<oh {
                let (top, gTop, m, dRow) = (xs + 2 * i * w, g + 2 * i * w, ys + i * ow, d + i * ow)
                var j = 0
                while j + 8 <= ow {
                    let dj: SIMD8<Float> = load(dRow + j)
                    var (upper, lower) = (SIMD16<Float>(), SIMD16<Float>())
                    if max {  // the first input equal to the max takes it all
                        let (a, b): (SIMD16<Float>, SIMD16<Float>) = (load(top + 2 * j), load(top + w + 2 * j))
                        let mj: SIMD8<Float> = load(m + j)
                        let k0 = a.evenHalf .== mj
                        let k1 = .!k0 .& (a.oddHalf .== mj)
                        let k2 = .!k0 .& .!k1 .& (b.evenHalf .== mj)
                        let k3 = .!k0 .& .!k1 .& .!k2
                        (upper.evenHalf, upper.oddHalf) = (SIMD8().replacing(with: dj, where: k0), SIMD8().replacing(with: dj, where: k1))
                        (lower.evenHalf, lower.oddHalf) = (SIMD8().replacing(with: dj, where: k2), SIMD8().replacing(with: dj, where: k3))
                    } else {
                        let q = 0.25 * dj
                        (upper.evenHalf, upper.oddHalf) = (q, q)
                        lower = upper
                    }
                    put(upper, gTop + 2 * j, accumulate: true)
                    put(lower, gTop + w + 2 * j, accumulate: true)
                    j += 8
                }
                for j in j..<ow {
                    let (base, o) = (2 * i * w + 2 * j, i * ow + j)
                    if max {
                        let m = ys[o]
                        let k = xs[base] == m ? 0 : xs[base + 1] == m ? 1 : xs[base + w] == m ? w : w + 1
                        g[base + k] += d[o]
                    } else {
                        let q = 0.25 * d[o]
                        g[base] += q; g[base + 1] += q; g[base + w] += q; g[base + w + 1] += q
                    }
                }
            }
        }
    }
}

public func avgPool2(_ x: Tensor) throws -> Tensor { try pool2(x, op: "avgPool2", max: false) }
public func maxPool2(_ x: Tensor) throws -> Tensor { try pool2(x, op: "maxPool2", max: true) }

/// Mirror padding, the edge pixel not repeated (PyTorch's `reflect`): [n, c, h, w] →
/// [n, c, top + h + bottom, left + w + right].
/// - Throws: `ShapeError` for a margin not below the side it mirrors.
public func reflectPad(_ x: Tensor, top: Int, bottom: Int, left: Int, right: Int) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("reflectPad")
    guard min(top, bottom, left, right) >= 0, max(top, bottom) < h, max(left, right) < w else {
        throw ShapeError("reflectPad: margins \(top), \(bottom), \(left), \(right) around \(x.shape) (each below the side it mirrors)")
    }
    if top + bottom + left + right == 0 { return x }
    let (ph, pw) = (h + top + bottom, w + left + right)
    @inline(__always) func mirror(_ i: Int, _ size: Int) -> Int { i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i) }
    let rows = (0..<ph).map { mirror($0 - top, h) }, columns = (0..<pw).map { mirror($0 - left, w) }
    let y = Tensor(shape: [n, c, ph, pw])
    Parallel.forEach(n * c) { plane in
        let (src, dst) = (x.data + plane * h * w, y.data + plane * ph * pw)
        for r in 0..<ph { for q in 0..<pw { dst[r * pw + q] = src[rows[r] * w + columns[q]] } }
    }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        let dx = x.gradBuffer()
        Parallel.forEach(n * c) { plane in
            let (src, dst) = (dy + plane * ph * pw, dx + plane * h * w)
            for r in 0..<ph { for q in 0..<pw { dst[rows[r] * w + columns[q]] += src[r * pw + q] } }
        }
    }
}

/// `reflectPad` by `p` pixels on every side.
public func reflectPad(_ x: Tensor, _ p: Int) throws -> Tensor { try reflectPad(x, top: p, bottom: p, left: p, right: p) }
