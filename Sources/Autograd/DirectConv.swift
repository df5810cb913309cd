/// Stride-1 convolution with few output channels (the models' last layer,
/// 40 → 3), computed directly. im2col would copy the input k² times (1.3 GB
/// per 1280×720 frame for the default model's tail) to feed a GEMM only 3 rows
/// tall, which OpenBLAS then packs again. Here bands of input rows are copied
/// once, between zeros, and every output row is summed tap by tap in vector
/// registers, 64 pixels at a time.
enum DirectConv {
    typealias Lanes = SIMD16<Float>
    static let width = Lanes.scalarCount

    static func applies(_ g: ConvGeometry) -> Bool { Conv2dAlgorithm.specialised && g.stride == 1 && g.oc < 8 }

    /// out[0..<16·R] (+)= Σ_c Σ_taps w · row of the padded input, for one output row.
    @inline(__always)
    static func row<let R: Int>(_: Winograd.Rows<R>, _ padded: UnsafePointer<Float>, _ g: ConvGeometry, pw: Int, plane: Int,
                                _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var sums = InlineArray<R, Lanes>(repeating: .zero)
        for c in 0..<g.c {
            for ki in 0..<g.kh {
                let src = padded + c * plane + ki * pw
                for kj in 0..<g.kw {
                    let weight = Lanes(repeating: w[(c * g.kh + ki) * g.kw + kj])
                    for r in 0..<R { sums[r] = sums[r].addingProduct(weight, Winograd.load(src + kj + r * width)) }
                }
            }
        }
        for r in 0..<R { Winograd.store(sums[r], out + r * width) }
    }
}

/// y = conv(x, w) + b (or y += conv(x, w)), one band of output rows of one image per task.
func directForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                   _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry, accumulate: Bool) {
    let band = 8, width = DirectConv.width
    let bands = (g.oh + band - 1) / band, vectors = (g.ow + width - 1) / width
    // A band's input rows, zero-padded: `pad` columns each side and a vector of
    // slack, so the last vector's reads past the output's width stay inside.
    let (pw, rows) = (g.ow + g.kw - 1 + width, band + g.kh - 1)
    Parallel.forEach(g.n * bands) { unit in
        let (img, k) = unit.quotientAndRemainder(dividingBy: bands)
        let (top, count) = (k * band, min(band, g.oh - k * band))
        Scratch.shared.with(g.c * rows * pw + vectors * width) { padded in
            for c in 0..<g.c {
                for r in 0..<(count + g.kh - 1) {
                    let (dst, iy) = (padded + (c * rows + r) * pw, top - g.pad + r)
                    guard iy >= 0 && iy < g.h else { dst.update(repeating: 0, count: pw); continue }
                    dst.update(repeating: 0, count: g.pad)
                    (dst + g.pad).update(from: x + ((img * g.c + c) * g.h + iy) * g.w, count: g.w)
                    (dst + g.pad + g.w).update(repeating: 0, count: pw - g.pad - g.w)
                }
            }
            let sums = padded + g.c * rows * pw  // one output row in whole vectors
            for o in 0..<g.oc {
                let bias = b?[o] ?? 0
                for i in 0..<count {
                    let (src, weights) = (UnsafePointer(padded) + i * pw, w + o * g.ckk)
                    var v = 0
                    while v + 4 <= vectors {
                        DirectConv.row(Winograd.Rows<4>(), src + v * width, g, pw: pw, plane: rows * pw, weights, sums + v * width)
                        v += 4
                    }
                    for v in v..<vectors {
                        DirectConv.row(Winograd.Rows<1>(), src + v * width, g, pw: pw, plane: rows * pw, weights, sums + v * width)
                    }
                    let line = y + img * g.outPlane + o * g.ohw + (top + i) * g.ow
                    for ox in 0..<g.ow { line[ox] = (accumulate ? line[ox] : 0) + sums[ox] + bias }
                }
            }
        }
    }
}
