import COpenBLAS

/// Row-major C = alpha·op(A)·op(B) + beta·C.
@inline(__always)
func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

@inline(__always) private func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inline(__always) private func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

/// The sizes of one convolution, checked once so the kernels can trust them.
public struct ConvGeometry {
    let n, c, h, w, oc, kh, kw, stride, pad, oh, ow: Int
    var ckk: Int { c * kh * kw }
    var ohw: Int { oh * ow }
    var inPlane: Int { c * h * w }
    var outPlane: Int { oc * ohw }

    init(n: Int, c: Int, h: Int, w: Int, oc: Int, kh: Int, kw: Int, stride: Int, pad: Int) {
        (self.n, self.c, self.h, self.w, self.oc, self.kh, self.kw, self.stride, self.pad) = (n, c, h, w, oc, kh, kw, stride, pad)
        oh = (h + 2 * pad - kh) / stride + 1
        ow = (w + 2 * pad - kw) / stride + 1
    }

    init(_ x: Tensor, _ weight: Tensor, stride: Int, pad: Int) throws {
        let (n, c, h, w) = try x.nchw("conv2d")
        guard weight.shape.count == 4, weight.shape[1] == c else {
            throw ShapeError("conv2d: weight \(weight.shape) does not fit input \(x.shape) (want [out, \(c), kh, kw])")
        }
        guard stride >= 1, pad >= 0 else { throw ShapeError("conv2d: stride \(stride) and padding \(pad) must be ≥1 and ≥0") }
        self.init(n: n, c: c, h: h, w: w, oc: weight.shape[0], kh: weight.shape[2], kw: weight.shape[3], stride: stride, pad: pad)
        guard h + 2 * pad >= kh, w + 2 * pad >= kw else {
            throw ShapeError("conv2d: kernel \(kh)×\(kw) is larger than input \(x.shape) padded by \(pad)")
        }
    }

    /// Floats one im2col buffer may hold (32 MB): bounds memory at any frame size.
    public nonisolated(unsafe) static var columnBudget = 8 << 20

    /// Output rows of one image handled by one im2col + GEMM.
    var rowsPerChunk: Int { max(1, min(oh, ConvGeometry.columnBudget / max(1, ckk * ow))) }

    func rowChunks() -> [Range<Int>] {
        Swift.stride(from: 0, to: oh, by: rowsPerChunk).map { $0..<min(oh, $0 + rowsPerChunk) }
    }
}

/// Which convolution kernels run. With `specialised` off, every convolution is
/// im2col + GEMM: tests and `hone bench` compare the kernels (Winograd for 3×3,
/// direct loops for few output channels) against the path they replace.
public enum Conv2dAlgorithm {
    public nonisolated(unsafe) static var specialised = true
}

/// Unfolds output rows `rows` of one image into col, a (C·KH·KW) × (rows·OW) matrix.
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>, _ col: UnsafeMutablePointer<Float>) {
    let L = rows.count * g.ow
    for c in 0..<g.c {
        for ki in 0..<g.kh {
            for kj in 0..<g.kw {
                var dst = col + ((c * g.kh + ki) * g.kw + kj) * L
                let oxLo = max(0, ceilDiv(g.pad - kj, g.stride))
                let oxHi = min(g.ow, floorDiv(g.w - 1 + g.pad - kj, g.stride) + 1)
                for oy in rows {
                    let iy = oy * g.stride - g.pad + ki
                    if iy < 0 || iy >= g.h || oxLo >= oxHi {
                        dst.update(repeating: 0, count: g.ow)
                    } else {
                        let src = x + (c * g.h + iy) * g.w - g.pad + kj
                        dst.update(repeating: 0, count: oxLo)
                        if g.stride == 1 {
                            (dst + oxLo).update(from: src + oxLo, count: oxHi - oxLo)
                        } else {
                            for ox in oxLo..<oxHi { dst[ox] = src[ox * g.stride] }
                        }
                        (dst + oxHi).update(repeating: 0, count: g.ow - oxHi)
                    }
                    dst += g.ow
                }
            }
        }
    }
}

/// The adjoint of im2col: adds every column entry back to the input pixel it came from.
func col2im(_ col: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>, _ dx: UnsafeMutablePointer<Float>) {
    let L = rows.count * g.ow
    for c in 0..<g.c {
        for ki in 0..<g.kh {
            for kj in 0..<g.kw {
                var src = col + ((c * g.kh + ki) * g.kw + kj) * L
                let oxLo = max(0, ceilDiv(g.pad - kj, g.stride))
                let oxHi = min(g.ow, floorDiv(g.w - 1 + g.pad - kj, g.stride) + 1)
                for oy in rows {
                    let iy = oy * g.stride - g.pad + ki
                    if iy >= 0, iy < g.h, oxLo < oxHi {
                        let dst = dx + (c * g.h + iy) * g.w - g.pad + kj
                        if g.stride == 1 {
                            for ox in oxLo..<oxHi { dst[ox] += src[ox] }
                        } else {
                            for ox in oxLo..<oxHi { dst[ox * g.stride] += src[ox] }
                        }
                    }
                    src += g.ow
                }
            }
        }
    }
}

/// y = W ⋆ x + b (or y += W ⋆ x when accumulating), one (image, row chunk)
/// at a time: im2col, then one GEMM.
func conv2dForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                   _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry, accumulate: Bool = false) {
    if Winograd.applies(g) { return winogradForward(x, w, b, y, g, accumulate: accumulate) }
    if DirectConv.applies(g) { return directForward(x, w, b, y, g, accumulate: accumulate) }
    let chunks = g.rowChunks()
    Parallel.forEach(g.n * chunks.count) { unit in
        let (img, rows) = (unit / chunks.count, chunks[unit % chunks.count])
        let L = rows.count * g.ow
        let yChunk = y + img * g.outPlane + rows.lowerBound * g.ow
        Scratch.shared.with(g.ckk * L) { col in
            im2col(x + img * g.inPlane, g, rows: rows, col)
            gemm(m: g.oc, n: L, k: g.ckk, w, lda: g.ckk, col, ldb: L, beta: accumulate ? 1 : 0, yChunk, ldc: g.ohw)
        }
        if let b {
            for o in 0..<g.oc {
                let row = yChunk + o * g.ohw
                for i in 0..<L { row[i] += b[o] }
            }
        }
    }
}

/// With stride 1 and a square kernel, dx is itself a convolution: dy ⋆ W
/// flipped in space with in/out channels swapped, padded by k − 1 − p. That
/// runs as im2col + GEMM straight into dx, with no col2im scatter.
private func conv2dInputGradientStride1(_ w: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                        _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
    let k = g.kh
    Scratch.shared.with(g.oc * g.ckk) { flipped in  // [c, oc, k, k]
        for o in 0..<g.oc { for c in 0..<g.c { for i in 0..<k { for j in 0..<k {
            flipped[((c * g.oc + o) * k + i) * k + j] = w[((o * g.c + c) * k + (k - 1 - i)) * k + (k - 1 - j)]
        }}}}
        let t = ConvGeometry(n: g.n, c: g.oc, h: g.oh, w: g.ow, oc: g.c, kh: k, kw: k, stride: 1, pad: k - 1 - g.pad)
        conv2dForward(dy, flipped, nil, dx, t, accumulate: true)
    }
}

/// dW += dy·colᵀ (or by Winograd), db += Σdy, dx += col2im(Wᵀ·dy). Images are split across
/// threads (never rows of one image, whose col2im writes would overlap) and
/// each thread sums its own dW before one reduction.
func conv2dBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                    dx dxIn: UnsafeMutablePointer<Float>?, dw dwIn: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
                    _ g: ConvGeometry) {
    let viaConvolution = dxIn != nil && g.stride == 1 && g.kh == g.kw && g.pad <= g.kh - 1
    if viaConvolution { conv2dInputGradientStride1(w, dy, dxIn!, g) }
    let dx = viaConvolution ? nil : dxIn
    let winograd = dwIn != nil && Winograd.applies(g)
    if winograd { winogradWeightGradient(x, dy, dwIn!, g) }
    let dw = winograd ? nil : dwIn
    if dx == nil && dw == nil && db == nil { return }
    let chunks = g.rowChunks()
    let parts = min(Parallel.threads, g.n)
    let wCount = g.oc * g.ckk
    let accCount = (dw == nil ? 0 : wCount) + (db == nil ? 0 : g.oc)
    Scratch.shared.with(parts * max(accCount, 1)) { acc in
        acc.update(repeating: 0, count: parts * accCount)
        Parallel.forEach(parts) { p in
            let dwAcc = acc + p * accCount
            let dbAcc = dwAcc + (dw == nil ? 0 : wCount)
            for img in (g.n * p / parts)..<(g.n * (p + 1) / parts) {
                for rows in chunks {
                    let L = rows.count * g.ow
                    let dyChunk = dy + img * g.outPlane + rows.lowerBound * g.ow
                    if dw != nil {
                        Scratch.shared.with(g.ckk * L) { col in
                            im2col(x + img * g.inPlane, g, rows: rows, col)
                            gemm(transB: true, m: g.oc, n: g.ckk, k: L, dyChunk, lda: g.ohw, col, ldb: L,
                                 beta: 1, dwAcc, ldc: g.ckk)
                        }
                    }
                    if db != nil {
                        for o in 0..<g.oc { dbAcc[o] += sum(dyChunk + o * g.ohw, count: L) }
                    }
                    if let dx {
                        Scratch.shared.with(g.ckk * L) { dcol in
                            gemm(transA: true, m: g.ckk, n: L, k: g.oc, w, lda: g.ckk, dyChunk, ldb: g.ohw,
                                 beta: 0, dcol, ldc: L)
                            col2im(dcol, g, rows: rows, dx + img * g.inPlane)
                        }
                    }
                }
            }
        }
        for p in 0..<parts {
            let dwAcc = acc + p * accCount
            if let dw { axpy(dwAcc, into: dw, count: wCount) }
            if let db { axpy(dwAcc + (dw == nil ? 0 : wCount), into: db, count: g.oc) }
        }
    }
}

/// 2-D convolution of NCHW `x` with weight [out, in, kh, kw] and optional bias [out].
public func conv2d(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor {
    let g = try ConvGeometry(x, weight, stride: stride, pad: padding)
    if let bias, bias.count != g.oc {
        throw ShapeError("conv2d: bias \(bias.shape) does not match \(g.oc) output channels")
    }
    let y = Tensor(shape: [g.n, g.oc, g.oh, g.ow])
    conv2dForward(x.data, weight.data, bias?.data, y.data, g)
    return y.recorded(from: [x, weight] + (bias.map { [$0] } ?? [])) { y in
        guard let dy = y.gradData else { return }
        conv2dBackward(x.data, weight.data, dy,
                       dx: x.needsGrad ? x.gradBuffer() : nil,
                       dw: weight.needsGrad ? weight.gradBuffer() : nil,
                       db: (bias?.needsGrad ?? false) ? bias!.gradBuffer() : nil, g)
    }
}

/// Transposed 2-D convolution ("deconvolution"; PyTorch's ConvTranspose2d, ncnn's
/// Deconvolution): NCHW `x` [n, in, h, w] with weight [in, out, kh, kw] and optional
/// bias [out] → [n, out, (h − 1)·stride − 2·padding + kh, (w − 1)·stride − 2·padding + kw].
/// It is the adjoint of `conv2d` with the same weight, stride and padding, so its
/// forward is that convolution's input gradient and its input gradient that
/// convolution's forward.
/// - Throws: `ShapeError` for a weight that does not fit `x`, or an output with no pixels.
public func deconv2d(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor {
    let (n, c, h, w) = try x.nchw("deconv2d")
    guard weight.shape.count == 4, weight.shape[0] == c, weight.shape[2] == weight.shape[3] else {
        throw ShapeError("deconv2d: weight \(weight.shape) does not fit input \(x.shape) (want [\(c), out, k, k])")
    }
    let (oc, k) = (weight.shape[1], weight.shape[2])
    guard stride >= 1, padding >= 0 else { throw ShapeError("deconv2d: stride \(stride) and padding \(padding) must be ≥1 and ≥0") }
    let (oh, ow) = ((h - 1) * stride - 2 * padding + k, (w - 1) * stride - 2 * padding + k)
    guard oh >= 1, ow >= 1, k > padding else { throw ShapeError("deconv2d: input \(x.shape) with kernel \(k), stride \(stride), padding \(padding) gives no output") }
    if let bias, bias.count != oc { throw ShapeError("deconv2d: bias \(bias.shape) does not match \(oc) output channels") }
    // The convolution this is the adjoint of: from [n, oc, oh, ow] to [n, c, h, w].
    let g = ConvGeometry(n: n, c: oc, h: oh, w: ow, oc: c, kh: k, kw: k, stride: stride, pad: padding)
    let y = Tensor(zeros: [n, oc, oh, ow])
    conv2dBackward(x.data, weight.data, x.data, dx: y.data, dw: nil, db: nil, g)
    if let b = bias?.data {
        for img in 0..<n {
            for o in 0..<oc {
                let plane = y.data + (img * oc + o) * oh * ow
                for i in 0..<oh * ow { plane[i] += b[o] }
            }
        }
    }
    return y.recorded(from: [x, weight] + (bias.map { [$0] } ?? [])) { y in
        guard let dy = y.gradData else { return }
        if x.needsGrad { conv2dForward(dy, weight.data, nil, x.gradBuffer(), g, accumulate: true) }
        if weight.needsGrad { conv2dBackward(dy, weight.data, x.data, dx: nil, dw: weight.gradBuffer(), db: nil, g) }
        if let bias, bias.needsGrad {
            let db = bias.gradBuffer()
            for img in 0..<n { for o in 0..<oc { db[o] += sum(dy + (img * oc + o) * oh * ow, count: oh * ow) } }
        }
    }
}
