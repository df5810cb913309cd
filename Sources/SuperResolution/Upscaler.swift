import Autograd

/// Runs a model over an image of any size in overlapping tiles of fixed size,
/// batched, so memory stays bounded. The overlap covers the model's receptive
/// field, so tiled output equals whole-image output.
public struct Upscaler {
    public let model: SRNet
    /// Core tile side in input pixels, and tiles per batch.
    public let tile: Int, batch: Int

    public init(_ model: SRNet, tile: Int = 320, batch: Int = 2) {
        (self.model, self.tile, self.batch) = (model, tile, batch)
    }

    /// [1, 3, h, w] → [1, 3, h·s, w·s], without recording a graph.
    public func callAsFunction(_ image: Tensor) throws -> Tensor {
        try Grad.disabled {
            let (h, w, s) = (image.shape[2], image.shape[3], model.scale)
            let o = model.receptiveRadius, side = tile + 2 * o
            if h <= side && w <= side { return try model(image) }
            let out = Tensor(shape: [1, 3, h * s, w * s])
            // Core regions; each read through a side×side window clamped inside the image.
            let ys = Swift.stride(from: 0, to: h, by: tile).map { ($0, min($0 + tile, h)) }
            let xs = Swift.stride(from: 0, to: w, by: tile).map { ($0, min($0 + tile, w)) }
            let cores = ys.flatMap { y in xs.map { x in (y: y, x: x) } }
            // Windows share the image's parity, so even origins can always reach its far edge.
            let (eh, ew) = (h <= side ? h : side - (h - side) % 2, w <= side ? w : side - (w - side) % 2)
            for first in Swift.stride(from: 0, to: cores.count, by: batch) {
                let group = cores[first..<min(first + batch, cores.count)]
                let input = Tensor(shape: [group.count, 3, eh, ew])
                // Even origins keep the U-Net's stride-2 grid where the whole image has it.
                let origins = group.map { core in
                    (y: min(max(core.y.0 - o, 0), h - eh) / 2 * 2, x: min(max(core.x.0 - o, 0), w - ew) / 2 * 2)
                }
                for (k, origin) in origins.enumerated() {
                    for c in 0..<3 { for r in 0..<eh {
                        (input.data + ((k * 3 + c) * eh + r) * ew).update(from: image.data + (c * h + origin.y + r) * w + origin.x, count: ew)
                    }}
                }
                let sr = try model(input)
                for (k, (core, origin)) in zip(group, origins).enumerated() {
                    let (y0, y1, x0, x1) = (core.y.0 * s, core.y.1 * s, core.x.0 * s, core.x.1 * s)
                    for c in 0..<3 { for r in y0..<y1 {
                        let src = sr.data + ((k * 3 + c) * eh * s + r - origin.y * s) * ew * s + x0 - origin.x * s
                        (out.data + (c * h * s + r) * w * s + x0).update(from: src, count: x1 - x0)
                    }}
                }
            }
            return out
        }
    }
}

extension SRNet {
    /// How far (in input pixels) an output pixel's inputs reach, rounded up, plus a margin.
    public var receptiveRadius: Int {
        let body = 2 * config.blocks + 1  // residual convs and the body's tail
        let lowRes = config.unet ? 2 * (body + 1) + 2 : body  // at half resolution each conv reaches twice as far
        return 1 + lowRes + upsample.count + 1 + 2 + 2  // head, body, upsamplers, tail, bicubic skip, margin
    }
}
