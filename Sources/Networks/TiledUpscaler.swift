import Autograd
import VideoIO

/// Runs a model over an image of any size in overlapping tiles, so memory
/// stays bounded. The overlap covers the model's receptive field, so tiled
/// output equals whole-image output. Tiles split the image evenly, as few as
/// the size limit allows, because the overlap is computed twice: 640×360 runs
/// whole, 1920×1080 as 3×3 tiles of 640×360 (16% overlap).
/// A graph that pools over the whole picture (squeeze-and-excitation: Real-CUGAN, waifu2x cunet)
/// is given the whole picture's means, gathered over the tiles one pooling layer at a time
/// (as Real-CUGAN's ncnn build does in its sync mode): one partial pass more per pooling layer.
public struct TiledUpscaler {
    public let model: any UpscalingNetwork
    /// Largest tile core in input pixels (activations scale with it: 2¹⁸ pixels
    /// is ~170 MB for the default model's widest layer), and tiles per batch.
    public let maxPixels: Int, batch: Int
    /// Input pixels each tile reads beyond its core: the model's receptive radius unless set.
    public let overlap: Int

    /// `maxPixels` nil: 2¹⁸, or fewer when the model's activations would pass `memory` bytes.
    public init(_ model: any UpscalingNetwork, maxPixels: Int? = nil, batch: Int = 1, memory: Int = 768 << 20, overlap: Int? = nil) {
        (self.model, self.overlap) = (model, overlap ?? model.receptiveRadius)
        self.maxPixels = maxPixels ?? min(1 << 18, memory / (batch * model.activationBytesPerPixel))
        self.batch = batch
    }

    /// Rows and columns of tiles whose cores fit maxPixels with the least total window area.
    public func grid(height h: Int, width w: Int, overlap o: Int) -> (rows: Int, cols: Int) {
        var best = (rows: h, cols: w, area: Int.max)
        for rows in 1...h {
            let coreH = (h + rows - 1) / rows
            guard coreH <= maxPixels else { continue }
            let cols = (w + maxPixels / coreH - 1) / (maxPixels / coreH)
            let coreW = (w + cols - 1) / cols
            let area = rows * cols * min(h, coreH + 2 * o) * min(w, coreW + 2 * o)
            if area < best.area { best = (rows, cols, area) }
            if cols == 1 { break }
        }
        return (best.rows, best.cols)
    }

    /// [1, c, h, w] → [1, 3, h·s, w·s], without recording a graph: c = 3, or
    /// for a multi-frame model its aligned stack of 3(2k + 1) (a lone picture
    /// given to one stands for its own neighbours).
    public func callAsFunction(_ image: Tensor) throws -> Tensor {
        if model.radius > 0 && image.shape[1] == 3 { return try self(try Alignment.stack(FrameWindow(image), radius: model.radius)) }
        return try Grad.disabled {
            let (channels, h, w, s) = (image.shape[1], image.shape[2], image.shape[3], model.scale)
            let o = overlap
            let (rows, cols) = grid(height: h, width: w, overlap: o)
            if rows == 1 && cols == 1 { return try model(image) }
            let out = Tensor(shape: [1, 3, h * s, w * s])
            // Core regions, split evenly; each read through one window size, clamped inside the image.
            let ys = (0..<rows).map { (h * $0 / rows, h * ($0 + 1) / rows) }
            let xs = (0..<cols).map { (w * $0 / cols, w * ($0 + 1) / cols) }
            let cores = ys.flatMap { y in xs.map { x in Core(y: y, x: x) } }
            let (sideH, sideW) = ((h + rows - 1) / rows + 2 * o, (w + cols - 1) / cols + 2 * o)
            // Windows share the image's parity, so even origins can always reach its far edge.
            let (eh, ew) = (h <= sideH ? h : sideH - (h - sideH) % 2, w <= sideW ? w : sideW - (w - sideW) % 2)
            // Even origins keep the U-Net's stride-2 grid where the whole image has it.
            func origin(_ core: Core) -> (y: Int, x: Int) {
                (y: min(max(core.y.0 - o, 0), h - eh) / 2 * 2, x: min(max(core.x.0 - o, 0), w - ew) / 2 * 2)
            }
            func windows(_ group: ArraySlice<Core>) -> Tensor {
                let input = Tensor(shape: [group.count, channels, eh, ew])
                for (k, core) in group.enumerated() {
                    let origin = origin(core)
                    for c in 0..<channels { for r in 0..<eh {
                        (input.data + ((k * channels + c) * eh + r) * ew).update(from: image.data + (c * h + origin.y + r) * w + origin.x, count: ew)
                    }}
                }
                return input
            }
            let graph = (model as? NCNNGraph).flatMap { $0.poolsWholePicture ? $0 : nil }
            let means = try graph.map { try wholePictureMeans($0, cores: cores, windows: { windows(cores[$0...$0]) }, origin: origin, height: h, width: w) }
            for first in Swift.stride(from: 0, to: cores.count, by: batch) {
                let group = cores[first..<min(first + batch, cores.count)]
                let origins = group.map(origin)
                let input = windows(group)
                let sr = try graph.map { try $0(input, means: means!) } ?? model(input)
                // `src` points into `sr`'s buffer: keep `sr` alive until the last copy from it.
                withExtendedLifetime(sr) {
                    for (k, (core, origin)) in zip(group, origins).enumerated() {
                        let (y0, y1, x0, x1) = (core.y.0 * s, core.y.1 * s, core.x.0 * s, core.x.1 * s)
                        for c in 0..<3 { for r in y0..<y1 {
                            let src = sr.data + ((k * 3 + c) * eh * s + r - origin.y * s) * ew * s + x0 - origin.x * s
                            (out.data + (c * h * s + r) * w * s + x0).update(from: src, count: x1 - x0)
                        }}
                    }
                }
            }
            return out
        }
    }
}

extension TiledUpscaler {
    /// A tile's core: the rows and columns [start, end) of the input it writes the output of.
    typealias Core = (y: (Int, Int), x: (Int, Int))

    /// The means [1, c, 1, 1] each pooling layer of `graph` takes over the whole picture (`h` × `w`),
    /// gathered over the tiles: layer k's from every tile run with layers 0…k−1 given the means found
    /// before. Each tile counts the part of its blob over its core (blob and padded window centred on
    /// each other, the blob's pitch from the graph), and beyond it where the core meets the picture's
    /// edge, whose mirrored margin the whole picture's blob holds too: the parts cover that blob once.
    func wholePictureMeans(_ graph: NCNNGraph, cores: [Core], windows: (Int) -> Tensor, origin: (Core) -> (y: Int, x: Int),
                           height h: Int, width w: Int) throws -> [Tensor] {
        var means: [Tensor] = []
        for pitch in graph.poolingPitches {
            var sums: [Double] = [], count = 0
            for (k, core) in cores.enumerated() {
                let (blob, ph, pw) = try graph.poolingInput(windows(k), means: means)
                let (c, bh, bw) = (blob.shape[1], blob.shape[2], blob.shape[3])
                if sums.isEmpty { sums = Array(repeating: 0, count: c) }
                let at = origin(core)
                // Window row y (padded by `prepadding` to `padded` rows) lies at blob row (y + p − padded/2)/pitch + blob/2.
                func span(_ from: Int, _ to: Int, _ side: Int, padded: Int, blob: Int, start: Int) -> Range<Int> {
                    func place(_ y: Int) -> Int {
                        min(blob, max(0, Int(((Double(y - start + graph.prepadding) - Double(padded) / 2) / pitch + Double(blob) / 2).rounded())))
                    }
                    let (a, b) = (from == 0 ? 0 : place(from), to == side ? blob : place(to))
                    return a..<max(a, b)
                }
                let rows = span(core.y.0, core.y.1, h, padded: ph, blob: bh, start: at.y)
                let cols = span(core.x.0, core.x.1, w, padded: pw, blob: bw, start: at.x)
                for ch in 0..<c {
                    var total = 0.0
                    for r in rows { let row = blob.data + (ch * bh + r) * bw; for q in cols { total += Double(row[q]) } }
                    sums[ch] += total
                }
                count += rows.count * cols.count
            }
            guard count > 0 else { throw ShapeError("tiles: no blob pixel lies over any tile's core") }
            means.append(try Tensor(shape: [1, sums.count, 1, 1], values: sums.map { Float($0 / Double(count)) }))
        }
        return means
    }

    /// The window's frame t enlarged, [1, 3, h·s, w·s]: by a multi-frame model from
    /// t and its neighbours aligned onto it (`Alignment.stack`), else from t alone.
    /// - Throws: `ShapeError` when the window's frames differ in size.
    public func callAsFunction(_ window: FrameWindow) throws -> Tensor {
        try self(try input(window))
    }

    /// `selfEnsemble` of the window's frame t (with its aligned neighbours for a multi-frame model).
    public func selfEnsemble(_ window: FrameWindow) throws -> Tensor {
        try selfEnsemble(try input(window))
    }

    /// What the model reads for the window's frame t: t, or its aligned stack.
    func input(_ window: FrameWindow) throws -> Tensor {
        model.radius == 0 ? window.image : try Alignment.stack(window, radius: model.radius)
    }
}

extension TiledUpscaler {
    /// The geometric self-ensemble (Lim et al., EDSR, CVPR 2017 workshops, "×8"): the model
    /// run on the 8 flips and 90° turns of `image` ([1, c, h, w], as `callAsFunction`), each
    /// output turned back, averaged. Eight times the cost; usually a little more PSNR.
    public func selfEnsemble(_ image: Tensor) throws -> Tensor {
        var sum: Tensor?
        for t in 0..<8 {
            let out = dihedral(try self(dihedral(image, t, inverse: false)), t, inverse: true)
            if let sum { for i in 0..<sum.count { sum.data[i] += out.data[i] } } else { sum = out }
        }
        for i in 0..<sum!.count { sum!.data[i] *= 1 / 8 }
        return sum!
    }
}

/// One of the 8 flips and 90° turns of a [n, c, h, w] tensor (`t` 0…7; bit 2 swaps
/// rows and columns), or, when `inverse`, what undoes it.
func dihedral(_ x: Tensor, _ t: Int, inverse: Bool) -> Tensor {
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let swap = t & 4 != 0
    let (oh, ow) = swap ? (w, h) : (h, w)
    let out = Tensor(shape: [x.shape[0], x.shape[1], oh, ow])
    // Pixel (r, q) of the transformed picture (th × tw) is pixel (sr, sq) of the original.
    func original(_ r: Int, _ q: Int, _ th: Int, _ tw: Int) -> (Int, Int) {
        let (fr, fq) = (t & 2 != 0 ? th - 1 - r : r, t & 1 != 0 ? tw - 1 - q : q)
        return swap ? (fq, fr) : (fr, fq)
    }
    for p in 0..<planes {
        let (src, dst) = (x.data + p * h * w, out.data + p * h * w)
        if inverse {
            for r in 0..<h { for q in 0..<w { let (sr, sq) = original(r, q, h, w); dst[sr * ow + sq] = src[r * w + q] } }
        } else {
            for r in 0..<oh { for q in 0..<ow { let (sr, sq) = original(r, q, oh, ow); dst[r * ow + q] = src[sr * w + sq] } }
        }
    }
    return out
}
