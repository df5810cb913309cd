/// 3×3 stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3)
/// (Lavin & Gray, 2016): each 4×4 block of output comes from a 6×6 window of
/// input as Y = Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A. Across channels the ⊙ becomes 36
/// independent GEMMs (one per window position ξ), each with 4× fewer
/// multiply-adds than im2col's single GEMM: 36 instead of 16·9 per tile.
///
/// The weight gradient is the same computation run backwards (dU = dM·Vᵀ with
/// dM = A·dY·Aᵀ, then dg = Gᵀ·dU·G); the input gradient is a forward pass of
/// the flipped kernel (see conv2dInputGradientStride1), so it uses this too.
///
/// Transforms are exact in real arithmetic; in Float32 they add relative
/// errors around 1e-6, checked against im2col in the tests.
///
/// Every transform runs on 16 tiles at once, one per SIMD lane. A tile's 6×6
/// window starts at column 4·tx, so lane t would need every 4th float; instead
/// each plane is first split by column phase (x mod 4), where the 16 tiles'
/// values at one window position are 16 consecutive floats.
enum Winograd {
    static let positions = 36

    /// Which convolutions run here. Few channels make the GEMMs too thin to
    /// beat im2col.
    static func applies(_ g: ConvGeometry) -> Bool {
        Conv2dAlgorithm.specialised && g.kh == 3 && g.kw == 3 && g.stride == 1 && g.pad <= 2 && g.c >= 8 && g.oc >= 8
    }

    /// Tiles of 4×4 output in rows of `cols`, numbered image by image; blocks are
    /// whole tile rows, so a block's tiles sit in 16-wide runs along each row.
    struct Tiling {
        let g: ConvGeometry
        let rows, cols: Int
        /// How many blocks the tile rows are cut into: enough that a block's
        /// transformed input and output (36·(C+OC) floats a tile) stay near 1 MB
        /// (a core's L2 cache), at least two per core, and a multiple of the cores
        /// so that none waits on another's last block.
        let blockCount: Int
        /// Floats per row of a phase-split plane: whole vectors of tiles, plus the one
        /// column a window reaches past, rounded up to a group of 4 (phaseSplit writes 4 at a time).
        var phaseRow: Int { Winograd.padded(cols) + 4 }

        init(_ g: ConvGeometry) {
            self.g = g
            (rows, cols) = ((g.oh + 3) / 4, (g.ow + 3) / 4)
            let total = g.n * rows, threads = Parallel.threads
            let byMemory = max(1, (1 << 18) / (Winograd.positions * (g.c + g.oc) * cols))
            let wanted = max(2 * threads, (total + byMemory - 1) / byMemory)
            blockCount = min(total, (wanted + threads - 1) / threads * threads)
        }

        /// Blocks as ranges of tile rows over all images (row r is image r / rows, tile row r % rows),
        /// their sizes at most one row apart.
        var blocks: [Range<Int>] {
            let total = g.n * rows
            return (0..<blockCount).map { (total * $0 / blockCount)..<(total * ($0 + 1) / blockCount) }
        }

        /// Columns a block's transformed planes are laid out with: its tiles, plus room
        /// for the last vector's spill, in whole column strips of `multiply`.
        func lanes(_ block: Range<Int>) -> Int { (block.count * cols + Winograd.width + 31) / 32 * 32 }

        /// Floats per position ξ of a block's transformed planes with `channels` rows. One
        /// vector more than they hold, or the 36 planes, often 2ᵏ floats apart, would all
        /// fall in the same cache sets.
        func plane(_ channels: Int, _ block: Range<Int>) -> Int { channels * lanes(block) + Winograd.width }
    }

    // MARK: 1-D transforms and their adjoints
    // Each maps 6 (or 4, 3) rows of n lanes — row i at v[i·s ..< i·s + n] — to
    // rows at o[i·os …], 16 lanes (tiles, or kernels) per vector; n is a
    // multiple of 16. The 2-D transforms apply them down the columns, then
    // along the rows.

    typealias Lanes = SIMD16<Float>
    static let width = Lanes.scalarCount
    @inline(__always) static func padded(_ n: Int) -> Int { (n + width - 1) / width * width }

    /// (Bᵀ·d): 6 rows to 6.
    @inline(__always)
    static func inputTransform(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int, lanes n: Int) {
        for k in Swift.stride(from: 0, to: n, by: width) {
            let (d0, d1, d2, d3, d4, d5) = (load(d + k), load(d + s + k), load(d + 2 * s + k), load(d + 3 * s + k), load(d + 4 * s + k), load(d + 5 * s + k))
            store(4 * d0 - 5 * d2 + d4, o + k)
            store(-4 * (d1 + d2) + d3 + d4, o + os + k)
            store(4 * (d1 - d2) - d3 + d4, o + 2 * os + k)
            store(2 * (d3 - d1) - d2 + d4, o + 3 * os + k)
            store(2 * (d1 - d3) - d2 + d4, o + 4 * os + k)
            store(4 * d1 - 5 * d3 + d5, o + 5 * os + k)
        }
    }

    /// (Aᵀ·m): 6 rows to 4.
    @inline(__always)
    static func outputTransform(_ v: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int, lanes n: Int) {
        for k in Swift.stride(from: 0, to: n, by: width) {
            let (m0, m1, m2, m3, m4, m5) = (load(v + k), load(v + s + k), load(v + 2 * s + k), load(v + 3 * s + k), load(v + 4 * s + k), load(v + 5 * s + k))
            let (p12, d12, p34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4)
            store(m0 + p12 + p34, o + k)
            store(d12 + 2 * d34, o + os + k)
            store(p12 + 4 * p34, o + 2 * os + k)
            store(d12 + 8 * d34 + m5, o + 3 * os + k)
        }
    }

    /// (A·y), the adjoint of outputTransform: 4 rows to 6.
    @inline(__always)
    static func outputTransformAdjoint(_ v: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int, lanes n: Int) {
        for k in Swift.stride(from: 0, to: n, by: width) {
            let (y0, y1, y2, y3) = (load(v + k), load(v + s + k), load(v + 2 * s + k), load(v + 3 * s + k))
            let (even, odd, even4, odd2) = (y0 + y2, y1 + y3, y0 + 4 * y2, 2 * y1 + 8 * y3)
            store(y0, o + k)
            store(even + odd, o + os + k)
            store(even - odd, o + 2 * os + k)
            store(even4 + odd2, o + 3 * os + k)
            store(even4 - odd2, o + 4 * os + k)
            store(y3, o + 5 * os + k)
        }
    }

    /// (G·g): 3 kernel rows to 6.
    @inline(__always)
    static func kernelTransform(_ v: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int, lanes n: Int) {
        for k in Swift.stride(from: 0, to: n, by: width) {
            let (g0, g1, g2) = (load(v + k), load(v + s + k), load(v + 2 * s + k))
            store(g0 / 4, o + k)
            store(-(g0 + g1 + g2) / 6, o + os + k)
            store(-(g0 - g1 + g2) / 6, o + 2 * os + k)
            store(g0 / 24 + g1 / 12 + g2 / 6, o + 3 * os + k)
            store(g0 / 24 - g1 / 12 + g2 / 6, o + 4 * os + k)
            store(g2, o + 5 * os + k)
        }
    }

    /// (Gᵀ·u), the adjoint of kernelTransform: 6 rows to 3.
    @inline(__always)
    static func kernelTransformAdjoint(_ v: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int, lanes n: Int) {
        for k in Swift.stride(from: 0, to: n, by: width) {
            let (u0, u1, u2, u3, u4, u5) = (load(v + k), load(v + s + k), load(v + 2 * s + k), load(v + 3 * s + k), load(v + 4 * s + k), load(v + 5 * s + k))
            store(u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24, o + k)
            store((u2 - u1) / 6 + (u3 - u4) / 12, o + os + k)
            store((u3 + u4 - u1 - u2) / 6 + u5, o + 2 * os + k)
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }

    /// 16 floats to 4 groups of 4 by column phase: out[φ·stride + i] = x[4i + φ].
    /// Element-wise construction compiles to shuffles.
    @inline(__always)
    static func splitPhases(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
        let v = load(x)
        for φ in 0..<4 {
            UnsafeMutableRawPointer(out + φ * stride).storeBytes(of: SIMD4(v[φ], v[φ + 4], v[φ + 8], v[φ + 12]), as: SIMD4<Float>.self)
        }
    }

    /// The inverse of splitPhases: 4 groups of 4, one per phase, back to 16 floats in column order.
    @inline(__always)
    static func joinPhases(_ v: UnsafePointer<Float>, _ stride: Int) -> Lanes {
        func group(_ φ: Int) -> SIMD4<Float> { UnsafeRawPointer(v + φ * stride).loadUnaligned(as: SIMD4<Float>.self) }
        let (a, b, c, d) = (group(0), group(1), group(2), group(3))
        return Lanes(a[0], b[0], c[0], d[0], a[1], b[1], c[1], d[1], a[2], b[2], c[2], d[2], a[3], b[3], c[3], d[3])
    }

    // MARK: The 36 products

    /// c = a·b (c += a·b when `accumulate`) for an m×k `a` and a k×n `b`, n a
    /// multiple of 32: the forward product of each position ξ, and the weight
    /// gradient's with `b` transposed first. OpenBLAS's sgemm would pack both
    /// operands for each of these small products; here `b` is already laid out
    /// for 32-column strips and each row of `a` is broadcast.
    static func multiply(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
                         _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        var row = 0
        while m - row >= 8 { strips(rows: 8); row += 8 }
        while m - row >= 4 { strips(rows: 4); row += 4 }
        while row < m { strips(rows: 1); row += 1 }

        func strips(rows: Int) {
            for col in Swift.stride(from: 0, to: n, by: 32) {
                let (a, b, c) = (a + row * lda, b + col, c + row * ldc + col)
                switch rows {
                case 8: strip(Rows<8>(), a, lda, b, ldb, k, c, ldc, accumulate)
                case 4: strip(Rows<4>(), a, lda, b, ldb, k, c, ldc, accumulate)
                default: strip(Rows<1>(), a, lda, b, ldb, k, c, ldc, accumulate)
                }
            }
        }
    }

    struct Rows<let count: Int> {}

    /// R rows × 32 columns of c, accumulated in 2R vector registers over k.
    @inline(__always)
    static func strip<let R: Int>(_: Rows<R>, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                  _ k: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
        var (left, right) = (InlineArray<R, Lanes>(repeating: .zero), InlineArray<R, Lanes>(repeating: .zero))
        if accumulate {
            for r in 0..<R { (left[r], right[r]) = (load(c + r * ldc), load(c + r * ldc + width)) }
        }
        for p in 0..<k {
            let (b0, b1) = (load(b + p * ldb), load(b + p * ldb + width))
            for r in 0..<R {
                let x = Lanes(repeating: a[r * lda + p])
                left[r] = left[r].addingProduct(x, b0)
                right[r] = right[r].addingProduct(x, b1)
            }
        }
        for r in 0..<R {
            store(left[r], c + r * ldc)
            store(right[r], c + r * ldc + width)
        }
    }

    /// out[j][i] = a[i][j] for i < `rows` (zero for i ≥ `rows`) and j < 16: one
    /// 16×16 transpose in registers, by four rounds of interleaving row i with
    /// row i + 8 (the perfect shuffle).
    @inline(__always)
    static func transpose16(_ a: UnsafePointer<Float>, lda: Int, rows: Int, _ out: UnsafeMutablePointer<Float>, ldo: Int) {
        var v = InlineArray<16, Lanes>(repeating: .zero)
        for i in 0..<min(rows, 16) { v[i] = load(a + i * lda) }
        for _ in 0..<4 {
            var next = InlineArray<16, Lanes>(repeating: .zero)
            for i in 0..<8 {
                (next[2 * i].evenHalf, next[2 * i].oddHalf) = (v[i].lowHalf, v[i + 8].lowHalf)
                (next[2 * i + 1].evenHalf, next[2 * i + 1].oddHalf) = (v[i].highHalf, v[i + 8].highHalf)
            }
            v = next
        }
        for j in 0..<16 { store(v[j], out + j * ldo) }
    }

    // MARK: Whole-tensor steps

    /// U[ξ][o·C + c] = (G·w[o][c]·Gᵀ)[ξ], each ξ a plane of `kernelPlane(g)` floats. Scratch: 27 planes.
    static func transformKernels(_ w: UnsafePointer<Float>, _ g: ConvGeometry, _ u: UnsafeMutablePointer<Float>,
                                 _ scratch: UnsafeMutablePointer<Float>) {
        let n = kernelPlane(g)
        let (taps, columns) = (scratch, scratch + 9 * n)  // [3][3][n], then G·g as [6][3][n]
        taps.update(repeating: 0, count: 9 * n)
        for p in 0..<(g.oc * g.c) { for k in 0..<9 { taps[k * n + p] = w[p * 9 + k] } }
        for j in 0..<3 { kernelTransform(taps + j * n, 3 * n, columns + j * n, 3 * n, lanes: n) }
        for i in 0..<6 { kernelTransform(columns + 3 * i * n, n, u + 6 * i * n, n, lanes: n) }
    }

    /// dw[o][c] += (Gᵀ·dU[o][c]·G), the adjoint of transformKernels. Scratch: 27 planes.
    static func transformKernelsAdjoint(_ du: UnsafePointer<Float>, _ g: ConvGeometry, _ dw: UnsafeMutablePointer<Float>,
                                        _ scratch: UnsafeMutablePointer<Float>) {
        let n = kernelPlane(g)
        let (rows, taps) = (scratch, scratch + 18 * n)  // dU·G as [6][3][n], then [3][3][n]
        for i in 0..<6 { kernelTransformAdjoint(du + 6 * i * n, n, rows + 3 * i * n, n, lanes: n) }
        for j in 0..<3 { kernelTransformAdjoint(rows + j * n, 3 * n, taps + j * n, 3 * n, lanes: n) }
        for p in 0..<(g.oc * g.c) { for k in 0..<9 { dw[p * 9 + k] += taps[k * n + p] } }
    }

    /// Floats per position ξ of transformed kernels: O·C in whole vectors, plus one (see Tiling.plane).
    static func kernelPlane(_ g: ConvGeometry) -> Int { padded(g.oc * g.c) + width }

    /// Splits `lines` consecutive rows of an h×w plane, starting at row `top`, by column
    /// phase, shifted by `pad` and zero outside the plane:
    /// out[i][φ][q] = plane[top + i][4q + φ − pad] for q < `count`, in rows of `row`
    /// floats. Each line is first copied between zeros into `line` (4·row floats),
    /// so the split runs 4 groups per vector with no edge cases; lanes past `count`
    /// only reach tiles past the row's end, whose results are never read.
    @inline(__always)
    static func phaseSplit(_ plane: UnsafePointer<Float>, h: Int, w: Int, top: Int, lines: Int, pad: Int, count: Int, row: Int,
                           _ out: UnsafeMutablePointer<Float>, line: UnsafeMutablePointer<Float>) {
        let span = 4 * ((count + 3) / 4), inside = min(w, 4 * span - pad)  // groups in whole vectors; floats of a line used
        line.update(repeating: 0, count: pad)
        (line + pad + inside).update(repeating: 0, count: 4 * span - pad - inside)
        for i in 0..<lines {
            let phases = out + i * 4 * row
            guard top + i >= 0 && top + i < h else {
                for phase in 0..<4 { (phases + phase * row).update(repeating: 0, count: count) }
                continue
            }
            (line + pad).update(from: plane + (top + i) * w, count: inside)
            for q in Swift.stride(from: 0, to: span, by: 4) { splitPhases(line + 4 * q, phases + q, row) }
        }
    }

    /// V[ξ][c][k] = (Bᵀ·d·B)[ξ] for each tile k of a block's tile rows. Scratch: `scratchCount`.
    static func transformInput(_ x: UnsafePointer<Float>, _ tiling: Tiling, _ block: Range<Int>,
                               _ v: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        let g = tiling.g, ld = tiling.lanes(block), plane = tiling.plane(g.c, block), row = tiling.phaseRow
        // Bᵀ·d as [6][6][16]; the block's input lines by phase, 4 new ones per tile row (its
        // window's first 2 are the previous row's last 2) and 6 where an image starts.
        let (columns, split) = (scratch, scratch + 36 * width), lineCopy = split + block.count * 24 * row
        // Where tile row r's window starts in `split`, in lines (4·row floats each).
        func firstLine(after previous: Int, _ r: Int, _ ty: Int) -> Int { r == 0 ? 0 : previous + (ty > 0 ? 4 : 6) }
        for c in 0..<g.c {
            // All rows first, so the vector loads below never wait on the scalar stores.
            var first = 0
            for (r, tileRow) in block.enumerated() {
                let (img, ty) = tileRow.quotientAndRemainder(dividingBy: tiling.rows)
                let shared = r > 0 && ty > 0 ? 2 : 0
                first = firstLine(after: first, r, ty)
                phaseSplit(x + (img * g.c + c) * g.h * g.w, h: g.h, w: g.w, top: 4 * ty - g.pad + shared, lines: 6 - shared,
                           pad: g.pad, count: tiling.cols + 1, row: row, split + (first + shared) * 4 * row, line: lineCopy)
            }
            for (r, tileRow) in block.enumerated() {  // in order: a run's spill past its row is overwritten by the next
                first = firstLine(after: first, r, tileRow % tiling.rows)
                let rows = split + first * 4 * row
                for tx in Swift.stride(from: 0, to: tiling.cols, by: width) {
                    for j in 0..<6 {
                        inputTransform(rows + (j % 4) * row + j / 4 + tx, 4 * row, columns + j * width, 6 * width, lanes: width)
                    }
                    let out = v + c * ld + r * tiling.cols + tx
                    for i in 0..<6 { inputTransform(columns + 6 * i * width, width, out + 6 * i * plane, plane, lanes: width) }
                }
            }
        }
    }

    /// y (+)= Aᵀ·M·A + bias for each tile of a block's tile rows, clipped to the output.
    static func transformOutput(_ mm: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, _ tiling: Tiling, _ block: Range<Int>,
                                _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ scratch: UnsafeMutablePointer<Float>) {
        let g = tiling.g, ld = tiling.lanes(block), plane = tiling.plane(g.oc, block)
        let (rows, out) = (scratch, scratch + 24 * width)  // Aᵀ·M as [4][6][16], then [4][4][16]
        for o in 0..<g.oc {
            let bias = b?[o] ?? 0
            for (r, tileRow) in block.enumerated() {
                let (img, ty) = tileRow.quotientAndRemainder(dividingBy: tiling.rows)
                for tx in Swift.stride(from: 0, to: tiling.cols, by: width) {
                    let src = mm + o * ld + r * tiling.cols + tx
                    for j in 0..<6 { outputTransform(src + j * plane, 6 * plane, rows + j * width, 6 * width, lanes: width) }
                    for i in 0..<4 { outputTransform(rows + 6 * i * width, width, out + 4 * i * width, width, lanes: width) }
                    // Back to rows of pixels: 4 floats per tile, clipped at the right and bottom edges.
                    let (x0, x1) = (4 * tx, min(g.ow, 4 * (tx + width)))
                    for i in 0..<min(4, g.oh - 4 * ty) {
                        let line = y + img * g.outPlane + o * g.ohw + (4 * ty + i) * g.ow
                        let values = out + 4 * i * width
                        var x = x0
                        while x + width <= x1 {  // 4 tiles per vector
                            let part = joinPhases(values + (x - x0) >> 2, width) + bias
                            store(accumulate ? load(line + x) + part : part, line + x)
                            x += width
                        }
                        for x in x..<x1 {
                            let value = values[(x & 3) * width + (x - x0) >> 2] + bias
                            line[x] = accumulate ? line[x] + value : value
                        }
                    }
                }
            }
        }
    }

    /// dM[ξ][o][k] = (A·dy·Aᵀ)[ξ] for each tile k of a block's tile rows, dy being
    /// zero beyond the output: the adjoint of transformOutput. Scratch: `scratchCount`.
    static func transformOutputAdjoint(_ dy: UnsafePointer<Float>, _ tiling: Tiling, _ block: Range<Int>,
                                       _ dm: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        let g = tiling.g, ld = tiling.lanes(block), plane = tiling.plane(g.oc, block), row = tiling.phaseRow
        let (columns, split) = (scratch, scratch + 36 * width)  // A·dy as [6][4][16]; each tile row's 4 rows of dy by phase
        for o in 0..<g.oc {
            for (r, tileRow) in block.enumerated() {
                let (img, ty) = tileRow.quotientAndRemainder(dividingBy: tiling.rows)
                phaseSplit(dy + (img * g.oc + o) * g.ohw, h: g.oh, w: g.ow, top: 4 * ty, lines: 4, pad: 0,
                           count: tiling.cols, row: row, split + r * 16 * row, line: split + block.count * 24 * row)
            }
            for r in 0..<block.count {
                let rows = split + r * 16 * row
                for tx in Swift.stride(from: 0, to: tiling.cols, by: width) {
                    for j in 0..<4 { outputTransformAdjoint(rows + j * row + tx, 4 * row, columns + j * width, 4 * width, lanes: width) }
                    let out = dm + o * ld + r * tiling.cols + tx
                    for i in 0..<6 { outputTransformAdjoint(columns + 4 * i * width, width, out + 6 * i * plane, plane, lanes: width) }
                }
            }
        }
    }

    /// Floats of scratch the transforms of one block need.
    static func scratchCount(_ tiling: Tiling, _ block: Range<Int>) -> Int { 36 * width + (block.count * 24 + 4) * tiling.phaseRow }
}

/// y = conv(x, w) + b (or y += conv(x, w)) by Winograd F(4×4, 3×3), one block of tile rows per task.
func winogradForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                     _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry, accumulate: Bool) {
    let tiling = Winograd.Tiling(g), blocks = tiling.blocks, P = Winograd.kernelPlane(g)
    Scratch.shared.with(63 * P) { u in
        Winograd.transformKernels(w, g, u, u + 36 * P)
        Parallel.forEach(blocks.count) { k in
            let block = blocks[k], ld = tiling.lanes(block), count = block.count * tiling.cols
            let (vPlane, mPlane) = (tiling.plane(g.c, block), tiling.plane(g.oc, block))
            Scratch.shared.with(36 * (vPlane + mPlane) + Winograd.scratchCount(tiling, block)) { buffer in
                let (v, mm, scratch) = (buffer, buffer + 36 * vPlane, buffer + 36 * (vPlane + mPlane))
                Winograd.transformInput(x, tiling, block, v, scratch)
                for xi in 0..<36 {
                    Winograd.multiply(m: g.oc, n: (count + 31) / 32 * 32, k: g.c, u + xi * P, lda: g.c, v + xi * vPlane, ldb: ld,
                                      mm + xi * mPlane, ldc: ld)
                }
                Winograd.transformOutput(mm, b, tiling, block, y, accumulate: accumulate, scratch)
            }
        }
    }
}

/// dw += ∂(Σ dy·y)/∂w: per block dU[ξ] += dM[ξ]·V[ξ]ᵀ, summed per thread, then mapped back by Gᵀ·dU·G.
/// Each V[ξ] (C × tiles) is transposed to tiles × C first, so the product runs in
/// `multiply`'s strips with C along the vector lanes: OpenBLAS would pack both
/// operands for each of the 36 small products of every block.
func winogradWeightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                            _ g: ConvGeometry) {
    let tiling = Winograd.Tiling(g), blocks = tiling.blocks, P = Winograd.kernelPlane(g)
    let parts = min(Parallel.threads, blocks.count), cw = (g.c + 31) / 32 * 32, uCount = 36 * g.oc * cw  // dU[ξ][o][c], rows of cw
    Scratch.shared.with(parts * uCount + 63 * P) { acc in
        acc.update(repeating: 0, count: parts * uCount)
        Parallel.forEach(parts) { p in
            let du = acc + p * uCount
            let mine = blocks[(blocks.count * p / parts)..<(blocks.count * (p + 1) / parts)]
            let most = mine.map {
                36 * (tiling.plane(g.c, $0) + tiling.plane(g.oc, $0)) + Winograd.scratchCount(tiling, $0) + Winograd.padded($0.count * tiling.cols) * cw
            }.max() ?? 0
            Scratch.shared.with(most) { buffer in
                for block in mine {
                    let ld = tiling.lanes(block), count = block.count * tiling.cols
                    let (vPlane, mPlane) = (tiling.plane(g.c, block), tiling.plane(g.oc, block))
                    let (v, dm, scratch) = (buffer, buffer + 36 * vPlane, buffer + 36 * (vPlane + mPlane))
                    let vt = scratch + Winograd.scratchCount(tiling, block)  // V[ξ]ᵀ: tiles × cw
                    Winograd.transformInput(x, tiling, block, v, scratch)
                    Winograd.transformOutputAdjoint(dy, tiling, block, dm, scratch)
                    for xi in 0..<36 {
                        // Columns of vt from C to cw are never written: they only reach dU's columns past C, never read.
                        for c in Swift.stride(from: 0, to: g.c, by: Winograd.width) {
                            for k in Swift.stride(from: 0, to: count, by: Winograd.width) {
                                Winograd.transpose16(v + xi * vPlane + c * ld + k, lda: ld, rows: g.c - c, vt + k * cw + c, ldo: cw)
                            }
                        }
                        Winograd.multiply(m: g.oc, n: cw, k: count, dm + xi * mPlane, lda: ld, vt, ldb: cw,
                                          du + xi * g.oc * cw, ldc: cw, accumulate: true)
                    }
                }
            }
        }
        // The parts' sums into the kernel-transform layout U[ξ][o·C + c], planes of P.
        let u = acc + parts * uCount
        for xi in 0..<36 {
            for o in 0..<g.oc {
                for c in 0..<g.c {
                    var sum: Float = 0
                    for p in 0..<parts { sum += acc[p * uCount + (xi * g.oc + o) * cw + c] }
                    u[xi * P + o * g.c + c] = sum
                }
            }
        }
        Winograd.transformKernelsAdjoint(u, g, dw, u + 36 * P)
    }
}
