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
enum Winograd {
    static let m = 4, r = 3, alpha = 6, positions = 36

    /// Which convolutions run here. Few channels make the GEMMs too thin to
    /// beat im2col (measured in notebooks-notes/performance.md).
    static func applies(_ g: ConvGeometry) -> Bool {
        Conv2dAlgorithm.winograd && g.kh == 3 && g.kw == 3 && g.stride == 1 && g.pad <= 2 && g.c >= 8 && g.oc >= 8
    }

    /// Tiles of 4×4 output, numbered image by image, row by row.
    struct Tiling {
        let g: ConvGeometry
        let rows, cols: Int
        var perImage: Int { rows * cols }
        var count: Int { g.n * perImage }
        /// Tiles per block: one block's 36 GEMMs see this many columns. Sized so a
        /// block's transformed input and output (36·(C+OC)·T floats) stay near 4 MB,
        /// and so there are at least two blocks per core.
        let perBlock: Int

        init(_ g: ConvGeometry) {
            self.g = g
            (rows, cols) = ((g.oh + 3) / 4, (g.ow + 3) / 4)
            let total = g.n * (rows * cols)
            let byMemory = (1 << 20) / (Winograd.positions * (g.c + g.oc))
            let byCores = (total + 2 * Parallel.threads - 1) / (2 * Parallel.threads)
            perBlock = Winograd.padded(max(16, min(512, byMemory, byCores)))
        }

        var blocks: [Range<Int>] {
            Swift.stride(from: 0, to: count, by: perBlock).map { $0..<min(count, $0 + perBlock) }
        }

        /// Tiles lo..<hi located once: each one's output block, and input window if it lies inside the image.
        func locate(_ tiles: Range<Int>) -> Located {
            var located = Located(count: tiles.count)
            for t in tiles {
                let (img, k) = t.quotientAndRemainder(dividingBy: perImage)
                let (oy, ox) = (k / cols * 4, k % cols * 4)
                let (y0, x0) = (oy - g.pad, ox - g.pad)
                let inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= g.h && x0 + 6 <= g.w
                located.window.append(inside ? img * g.inPlane + y0 * g.w + x0 : -1)
                if !inside { located.edge.append((located.output.count, img, y0, x0)) }
                located.output.append((img * g.outPlane + oy * g.ow + ox, min(4, g.oh - oy), min(4, g.ow - ox)))
            }
            located.window += Array(repeating: -1, count: located.lanes - tiles.count)
            return located
        }
    }

    struct Located {
        /// The tiles, padded to whole vectors; padding lanes hold zeros.
        let lanes: Int
        /// Offset of each tile's 6×6 input window in x, channel 0; −1 where it crosses an edge or pads.
        var window: [Int] = []
        /// Tiles whose window crosses an edge: (lane, image, top row, left column).
        var edge: [(lane: Int, img: Int, y: Int, x: Int)] = []
        /// Offset of each tile's output block in y, channel 0, and how much of it lies inside.
        var output: [(offset: Int, rows: Int, cols: Int)] = []
        init(count: Int) {
            lanes = Winograd.padded(count)
            window.reserveCapacity(lanes)
            output.reserveCapacity(count)
        }
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

    // MARK: Whole-tensor steps. Lanes are the O·C kernel pairs, or the tiles of a block.

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

    /// Floats per position ξ of transformed kernels: O·C rounded up to whole vectors.
    static func kernelPlane(_ g: ConvGeometry) -> Int { padded(g.oc * g.c) }

    /// V[ξ][c][k] = (Bᵀ·d·B)[ξ] for the 6×6 input window d of each tile k. Scratch: 72 lanes.
    static func transformInput(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ tiles: Located,
                               _ v: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        let n = tiles.lanes, plane = g.c * n
        let (windows, columns) = (scratch, scratch + 36 * n)  // d as [6][6][n], then Bᵀ·d
        for c in 0..<g.c {
            let channel = x + c * g.h * g.w
            tiles.window.withUnsafeBufferPointer { window in
                for i in 0..<6 { for j in 0..<6 {
                    let (row, offset) = (windows + (6 * i + j) * n, i * g.w + j)
                    for k in 0..<n { row[k] = window[k] >= 0 ? channel[window[k] + offset] : 0 }
                }}
            }
            for (k, img, y0, x0) in tiles.edge {  // zero beyond the image
                let plane = channel + img * g.inPlane
                for i in 0..<6 { for j in 0..<6 {
                    let (y, x) = (y0 + i, x0 + j)
                    windows[(6 * i + j) * n + k] = y >= 0 && y < g.h && x >= 0 && x < g.w ? plane[y * g.w + x] : 0
                }}
            }
            for j in 0..<6 { inputTransform(windows + j * n, 6 * n, columns + j * n, 6 * n, lanes: n) }
            for i in 0..<6 { inputTransform(columns + 6 * i * n, n, v + 6 * i * plane + c * n, plane, lanes: n) }
        }
    }

    /// y (+)= Aᵀ·M·A + bias for each tile, clipped to the output. Scratch: 40 lanes.
    static func transformOutput(_ mm: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, _ g: ConvGeometry, _ tiles: Located,
                                _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ scratch: UnsafeMutablePointer<Float>) {
        let n = tiles.lanes, plane = g.oc * n
        let (rows, blocks) = (scratch, scratch + 24 * n)  // Aᵀ·M as [4][6][n], then [4][4][n]
        for o in 0..<g.oc {
            for j in 0..<6 { outputTransform(mm + j * plane + o * n, 6 * plane, rows + j * n, 6 * n, lanes: n) }
            for i in 0..<4 { outputTransform(rows + 6 * i * n, n, blocks + 4 * i * n, n, lanes: n) }
            let bias = b?[o] ?? 0
            for (k, (offset, rows, cols)) in tiles.output.enumerated() {  // scatter, clipped
                let dst = y + o * g.ohw + offset
                for i in 0..<rows { for j in 0..<cols {
                    let value = blocks[(4 * i + j) * n + k] + bias
                    dst[i * g.ow + j] = accumulate ? dst[i * g.ow + j] + value : value
                }}
            }
        }
    }

    /// dM[ξ][o][k] = (A·dy·Aᵀ)[ξ], dy being zero beyond the output: the adjoint of transformOutput. Scratch: 40 lanes.
    static func transformOutputAdjoint(_ dy: UnsafePointer<Float>, _ g: ConvGeometry, _ tiles: Located,
                                       _ dm: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        let n = tiles.lanes, plane = g.oc * n
        let (blocks, columns) = (scratch, scratch + 16 * n)  // dy as [4][4][n], then A·dy as [6][4][n]
        blocks.update(repeating: 0, count: 16 * n)
        for o in 0..<g.oc {
            for (k, (offset, h, w)) in tiles.output.enumerated() {  // gather; what lies beyond the output stays zero
                let src = dy + o * g.ohw + offset
                for i in 0..<h { for j in 0..<w { blocks[(4 * i + j) * n + k] = src[i * g.ow + j] } }
            }
            for j in 0..<4 { outputTransformAdjoint(blocks + j * n, 4 * n, columns + j * n, 4 * n, lanes: n) }
            for i in 0..<6 { outputTransformAdjoint(columns + 4 * i * n, n, dm + 6 * i * plane + o * n, plane, lanes: n) }
        }
    }
}

/// Which convolution kernels run; the switch lets tests and `hone bench`
/// compare Winograd against the im2col path it replaces.
public enum Conv2dAlgorithm {
    public nonisolated(unsafe) static var winograd = true
}

/// y = conv(x, w) + b (or y += conv(x, w)) by Winograd F(4×4, 3×3), one block of tiles per task.
func winogradForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                     _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry, accumulate: Bool) {
    let tiling = Winograd.Tiling(g)
    let blocks = tiling.blocks, T = tiling.perBlock, P = Winograd.kernelPlane(g)
    Scratch.shared.with(63 * P) { u in
        Winograd.transformKernels(w, g, u, u + 36 * P)
        Parallel.forEach(blocks.count) { k in
            Scratch.shared.with((36 * (g.c + g.oc) + 72) * T) { buffer in
                let tiles = tiling.locate(blocks[k]), n = tiles.lanes
                let (v, mm, scratch) = (buffer, buffer + 36 * g.c * n, buffer + 36 * (g.c + g.oc) * n)
                Winograd.transformInput(x, g, tiles, v, scratch)
                for xi in 0..<36 {
                    gemm(m: g.oc, n: n, k: g.c, u + xi * P, lda: g.c, v + xi * g.c * n, ldb: n,
                         beta: 0, mm + xi * g.oc * n, ldc: n)
                }
                Winograd.transformOutput(mm, b, g, tiles, y, accumulate: accumulate, scratch)
            }
        }
    }
}

/// dw += ∂(Σ dy·y)/∂w: per block dU[ξ] += dM[ξ]·V[ξ]ᵀ, summed per thread, then mapped back by Gᵀ·dU·G.
func winogradWeightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                            _ g: ConvGeometry) {
    let tiling = Winograd.Tiling(g)
    let blocks = tiling.blocks, T = tiling.perBlock, P = Winograd.kernelPlane(g)
    let parts = min(Parallel.threads, blocks.count), uCount = 36 * P
    Scratch.shared.with(parts * uCount + 27 * P) { acc in
        acc.update(repeating: 0, count: parts * uCount)
        Parallel.forEach(parts) { p in
            let du = acc + p * uCount
            Scratch.shared.with((36 * (g.c + g.oc) + 72) * T) { buffer in
                for range in blocks[(blocks.count * p / parts)..<(blocks.count * (p + 1) / parts)] {
                    let tiles = tiling.locate(range), n = tiles.lanes
                    let (v, dm, scratch) = (buffer, buffer + 36 * g.c * n, buffer + 36 * (g.c + g.oc) * n)
                    Winograd.transformInput(x, g, tiles, v, scratch)
                    Winograd.transformOutputAdjoint(dy, g, tiles, dm, scratch)
                    for xi in 0..<36 {
                        gemm(transB: true, m: g.oc, n: g.c, k: n, dm + xi * g.oc * n, lda: n,
                             v + xi * g.c * n, ldb: n, beta: 1, du + xi * P, ldc: g.c)
                    }
                }
            }
        }
        for p in 1..<max(parts, 1) { axpy(acc + p * uCount, into: acc, count: uCount) }
        Winograd.transformKernelsAdjoint(acc, g, dw, acc + parts * uCount)
    }
}
