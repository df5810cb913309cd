import Foundation

/// A 1-D linear resampling, out[o] = Σ_t weight[o·taps + t] · in[index[o·taps + t]].
/// Nearest, bilinear and bicubic are all tables of this form, applied along
/// width then height; the backward pass applies the transposed table.
struct Resampling1D: Sendable {
    let inSize, outSize, taps: Int
    let index: [Int]
    let weight: [Float]

    /// From per-output lists of (input index, weight); zero weights are dropped.
    init(inSize: Int, contributions: [[(Int, Double)]]) {
        let kept = contributions.map { $0.filter { $0.1 != 0 } }
        let taps = max(1, kept.map(\.count).max() ?? 1)
        var index = [Int](), weight = [Float]()
        for row in kept {
            for t in 0..<taps {
                index.append(t < row.count ? row[t].0 : (row.first?.0 ?? 0))
                weight.append(t < row.count ? Float(row[t].1) : 0)
            }
        }
        (self.inSize, self.outSize, self.taps, self.index, self.weight) = (inSize, kept.count, taps, index, weight)
    }

    /// PyTorch's `nearest` upsampling by an integer factor.
    static func nearest(_ n: Int, scale s: Int) -> Resampling1D {
        Resampling1D(inSize: n, contributions: (0..<n * s).map { [($0 / s, 1)] })
    }

    /// PyTorch's `bilinear` upsampling with align_corners=False.
    static func bilinear(_ n: Int, scale s: Int) -> Resampling1D {
        Resampling1D(inSize: n, contributions: (0..<n * s).map { o in
            let src = max(0, (Double(o) + 0.5) / Double(s) - 0.5)
            let i0 = min(Int(src), n - 1), i1 = min(i0 + 1, n - 1)
            let f = src - Double(i0)
            return i0 == i1 ? [(i0, 1)] : [(i0, 1 - f), (i1, f)]
        })
    }

    /// Bicubic interpolation without antialiasing, `n` → `out` samples: Keys'
    /// cubic with a = −0.75, half-pixel centres (source x = (o + ½)·n/out − ½),
    /// indices clamped at the edges. This is PyTorch's `interpolate(mode="bicubic",
    /// align_corners=False)` and ncnn's Interp resize type 3 (`interpolate_cubic` in ncnn's interp.cpp).
    static func cubicConvolution(_ n: Int, out: Int) -> Resampling1D {
        let a = -0.75, ratio = Double(n) / Double(out)
        func cubic(_ x: Double) -> Double {
            let x = abs(x)
            if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            return 0
        }
        return Resampling1D(inSize: n, contributions: (0..<out).map { o in
            let src = (Double(o) + 0.5) * ratio - 0.5
            let left = Int(src.rounded(.down))
            let f = src - Double(left)
            // Taps at the same clamped index are summed, so the table holds each index once.
            var row: [(Int, Double)] = []
            for t in -1...2 {
                let i = min(max(left + t, 0), n - 1), w = cubic(f - Double(t))
                if let k = row.firstIndex(where: { $0.0 == i }) { row[k].1 += w } else { row.append((i, w)) }
            }
            return row
        })
    }

    /// MATLAB `imresize(…, 'bicubic')`: Keys' cubic with a = −0.5.
    static func bicubic(_ n: Int, _ factor: ResizeFactor) -> Resampling1D {
        matlab(n, factor, width: 4) { x in
            let a = abs(x), a2 = a * a, a3 = a2 * a
            if a <= 1 { return 1.5 * a3 - 2.5 * a2 + 1 }
            if a <= 2 { return -0.5 * a3 + 2.5 * a2 - 4 * a + 2 }
            return 0
        }
    }

    /// MATLAB `imresize(…, 'lanczos3')`.
    static func lanczos3(_ n: Int, _ factor: ResizeFactor) -> Resampling1D {
        matlab(n, factor, width: 6) { x in
            if x == 0 { return 1 }
            if abs(x) >= 3 { return 0 }
            let px = Double.pi * x
            return 3 * sin(px) * sin(px / 3) / (px * px)
        }
    }

    /// MATLAB `imresize(…, 'bilinear')`: the triangle kernel (antialiased when shrinking).
    static func triangle(_ n: Int, _ factor: ResizeFactor) -> Resampling1D {
        matlab(n, factor, width: 2) { x in max(0, 1 - abs(x)) }
    }

    /// MATLAB `imresize(…, 'box')`: each output the mean of the inputs it covers when shrinking
    /// by an integer factor (OpenCV's INTER_AREA there); nearest when enlarging.
    static func box(_ n: Int, _ factor: ResizeFactor) -> Resampling1D {
        matlab(n, factor, width: 1) { x in -0.5 <= x && x < 0.5 ? 1 : 0 }
    }

    /// MATLAB's `contributions()`: centres aligned, symmetric edges, and when
    /// shrinking the kernel stretched by 1/scale (antialiasing). Output size
    /// is ⌈in·scale⌉, as in MATLAB.
    private static func matlab(_ n: Int, _ factor: ResizeFactor, width kernelWidth: Double,
                               _ cubic: @escaping (Double) -> Double) -> Resampling1D {
        let scale = factor.ratio
        let shrink = scale < 1
        let width = shrink ? kernelWidth / scale : kernelWidth
        let kernel: (Double) -> Double = shrink ? { scale * cubic(scale * $0) } : cubic
        let taps = Int(width.rounded(.up)) + 2
        return Resampling1D(inSize: n, contributions: (1...factor.outSize(n)).map { o in
            // 1-based coordinates, as in MATLAB.
            let u = Double(o) / scale + 0.5 * (1 - 1 / scale)
            let left = Int((u - width / 2).rounded(.down))
            let row = (0..<taps).map { t in (left + t, kernel(u - Double(left + t))) }
            let total = row.reduce(0) { $0 + $1.1 }
            return row.map { (mirror($0.0, n), $0.1 / total) }
        })
    }

    /// Maps a 1-based index outside 1...n into it by symmetric reflection; returns 0-based.
    private static func mirror(_ j: Int, _ n: Int) -> Int {
        let period = 2 * n
        var k = (j - 1) % period
        if k < 0 { k += period }
        return k < n ? k : period - 1 - k
    }
}

/// Applies separable tables (along width, then height) to every plane of x.
/// `transposed` runs the adjoint: from an output-sized gradient into an input-sized one.
private func resample(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, planes: Int,
                      _ rw: Resampling1D, _ rh: Resampling1D, transposed: Bool) {
    let (ih, iw, oh, ow) = (rh.inSize, rw.inSize, rh.outSize, rw.outSize)
    rw.index.withUnsafeBufferPointer { iwIdx in rw.weight.withUnsafeBufferPointer { iwW in
    rh.index.withUnsafeBufferPointer { ihIdx in rh.weight.withUnsafeBufferPointer { ihW in
        Parallel.forEach(planes) { p in
            Scratch.shared.with(ih * ow) { tmp in  // width-resampled, height not yet
                if !transposed {
                    let x = src + p * ih * iw, y = dst + p * oh * ow
                    for r in 0..<ih {
                        let (xr, tr) = (x + r * iw, tmp + r * ow)
                        for o in 0..<ow {
                            var s: Float = 0
                            for t in 0..<rw.taps { s += iwW[o * rw.taps + t] * xr[iwIdx[o * rw.taps + t]] }
                            tr[o] = s
                        }
                    }
                    for o in 0..<oh {
                        let yr = y + o * ow
                        yr.update(repeating: 0, count: ow)
                        for t in 0..<rh.taps {
                            let (wt, tr) = (ihW[o * rh.taps + t], tmp + ihIdx[o * rh.taps + t] * ow)
                            for k in 0..<ow { yr[k] += wt * tr[k] }
                        }
                    }
                } else {
                    let dy = src + p * oh * ow, dx = dst + p * ih * iw
                    tmp.update(repeating: 0, count: ih * ow)
                    for o in 0..<oh {
                        let dyr = dy + o * ow
                        for t in 0..<rh.taps {
                            let (wt, tr) = (ihW[o * rh.taps + t], tmp + ihIdx[o * rh.taps + t] * ow)
                            for k in 0..<ow { tr[k] += wt * dyr[k] }
                        }
                    }
                    for r in 0..<ih {
                        let (dxr, tr) = (dx + r * iw, tmp + r * ow)
                        for o in 0..<ow {
                            for t in 0..<rw.taps { dxr[iwIdx[o * rw.taps + t]] += iwW[o * rw.taps + t] * tr[o] }
                        }
                    }
                }
            }
        }
    }}}}
}

/// `table` gives the same resampling for height and width; `tables` one each.
private func resampleOp(_ x: Tensor, op: String, _ table: ((Int) -> Resampling1D)? = nil,
                        tables: ((Int, Int) -> (Resampling1D, Resampling1D))? = nil) throws -> Tensor {
    let (n, c, h, w) = try x.nchw(op)
    let (rh, rw) = tables?(h, w) ?? (table!(h), table!(w))
    guard rh.outSize > 0, rw.outSize > 0 else { throw ShapeError("\(op): \(x.shape) resamples to an empty image") }
    let y = Tensor(shape: [n, c, rh.outSize, rw.outSize])
    resample(x.data, y.data, planes: n * c, rw, rh, transposed: false)
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        resample(dy, x.gradBuffer(), planes: n * c, rw, rh, transposed: true)
    }
}

public func upsampleNearest(_ x: Tensor, scale: Int) throws -> Tensor {
    try resampleOp(x, op: "upsampleNearest") { .nearest($0, scale: scale) }
}

public func upsampleBilinear(_ x: Tensor, scale: Int) throws -> Tensor {
    try resampleOp(x, op: "upsampleBilinear") { .bilinear($0, scale: scale) }
}

/// An integer resize factor, enlarging or shrinking.
public enum ResizeFactor: Sendable {
    case up(Int), down(Int)
    public var isUp: Bool { if case .up = self { true } else { false } }
    var ratio: Double {
        switch self {
        case .up(let s): Double(s)
        case .down(let s): 1 / Double(s)
        }
    }
    public func outSize(_ n: Int) -> Int {
        switch self {
        case .up(let s): n * s
        case .down(let s): (n + s - 1) / s
        }
    }
}

/// MATLAB-compatible bicubic resize (antialiased when shrinking).
public func resizeBicubic(_ x: Tensor, _ factor: ResizeFactor) throws -> Tensor {
    try resampleOp(x, op: "resizeBicubic") { .bicubic($0, factor) }
}

/// Bicubic interpolation to `height`×`width` without antialiasing, as PyTorch's
/// `interpolate(mode="bicubic", align_corners=False)` and ncnn's Interp: how
/// networks exported to ncnn resize inside the graph (Real-ESRGAN's ×2 and ×3 files).
/// [n, c, h, w] → [n, c, height, width].
public func interpolateBicubic(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
    try resampleOp(x, op: "interpolateBicubic", tables: { h, w in (.cubicConvolution(h, out: height), .cubicConvolution(w, out: width)) })
}

/// MATLAB-compatible Lanczos-3 resize (antialiased when shrinking).
public func resizeLanczos(_ x: Tensor, _ factor: ResizeFactor) throws -> Tensor {
    try resampleOp(x, op: "resizeLanczos") { .lanczos3($0, factor) }
}

/// The kernel of a MATLAB-compatible resize (`imresize`'s method names), each antialiased when shrinking.
public enum ResizeKernel: String, CaseIterable, Sendable {
    case bicubic, bilinear, box, lanczos3

    /// x [n, c, h, w] resized by `factor` → [n, c, ⌈h·r⌉, ⌈w·r⌉] with this kernel.
    public func resize(_ x: Tensor, _ factor: ResizeFactor) throws -> Tensor {
        try resampleOp(x, op: "resize(\(rawValue))") { n in
            switch self {
            case .bicubic: .bicubic(n, factor)
            case .bilinear: .triangle(n, factor)
            case .box: .box(n, factor)
            case .lanczos3: .lanczos3(n, factor)
            }
        }
    }
}
