import ArgumentParser
import Autograd
import Foundation
import SuperResolution
import VideoIO

/// `hone compare`: the pictures people share — the same crop, method by method.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a PNG montage of one zoomed crop: input, bicubic, base, fine-tuned (and ground truth), labelled.",
        discussion: """
            With --video, the input is the footage itself; with --gt, it is the ground truth \
            downscaled (antialiased bicubic, 8 bits), and the truth is the last panel. Panels \
            are zoomed by pixel repetition (nearest neighbour, ×--zoom). Without --crop, the \
            crop is the window with the most edges. --toggle also writes a short video that \
            switches between the input and the fine-tuned output every half second, as people \
            share before/after clips.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options.
            """)

    @Option(help: "Real footage to upscale.")
    var video: String?

    @Option(help: "A ground-truth video or image: its downscale is the input and it is shown last.")
    var gt: String?

    @Option(help: "The fine-tuned checkpoint.")
    var checkpoint: String

    @Option(help: "The base checkpoint. (default: checkpoints/base-x<scale>.safetensors when it holds the checkpoint's model, else none)")
    var base: String?

    @Option(help: "Time of the frame, in seconds. (default: the middle)")
    var at: Double?

    @Option(help: "Top-left corner of the crop in output pixels, X,Y. (default: the window with the most edges)")
    var crop: String?

    @Option(help: "Side of the crop in output pixels.")
    var size = 96

    @Option(help: "Zoom of each panel.")
    var zoom = 4

    @Option(name: .shortAndLong, help: "The montage. (default: <input name>.compare.png)")
    var output: String?

    @Option(help: "Also write a 2-second video toggling input and fine-tuned output (.mp4).")
    var toggle: String?

    func validate() throws {
        guard (video == nil) != (gt == nil) else { throw ValidationError("give one of --video and --gt") }
        guard size >= 8, zoom >= 1 else { throw ValidationError("--size must be at least 8 and --zoom at least 1") }
        if let crop, crop.split(separator: ",").compactMap({ Int($0) }).count != 2 { throw ValidationError("--crop takes X,Y, got \(crop)") }
    }

    func run() throws {
        let source = (gt ?? video)!
        let (tuned, record) = try SRNet.load(checkpoint: checkpoint)
        let s = tuned.scale
        guard size % s == 0 else { throw ValidationError("--size must be a multiple of the scale \(s)") }
        let shipped = TrainingRun.shippedBase(scale: s, config: record.config)
        let basePath = base ?? (shipped == "random" ? nil : shipped)
        let baseModel = try basePath.map { try SRNet.load(checkpoint: $0).0 }

        let reader = try VideoReader(source)
        let start = at ?? reader.info.duration / 2
        let wanted = toggle == nil ? 1 : max(2, Int((2 * reader.info.frameRate).rounded()))
        let timeBase = Double(reader.info.timeBase.num) / Double(reader.info.timeBase.den)
        var frames: [Frame] = []
        while frames.count < wanted, let frame = try reader.next() {
            if Double(frame.pts) * timeBase >= start - 1e-3 || reader.info.estimatedFrames <= 1 { frames.append(frame) }
        }
        guard let first = frames.first else { throw Failure("\(source): no frame at \(start) s") }

        // Input and truth for a frame.
        func pair(_ frame: Frame) throws -> (lr: Tensor, hr: Tensor?) {
            guard gt != nil else { return (frame.image, nil) }
            let hr = try SuperResolution.crop(frame.image, toMultipleOf: s)
            return (try bicubicInput(hr, scale: s), hr)
        }
        let (lr0, _) = try pair(first)
        let (lh, lw, side) = (lr0.shape[2], lr0.shape[3], size / s)
        guard lh >= side, lw >= side else { throw Failure("\(source): the input is \(lw)×\(lh), smaller than the \(side)² crop") }
        let corner: (x: Int, y: Int)
        if let crop {
            let v = crop.split(separator: ",").compactMap { Int($0) }
            corner = (min(max(v[0] / s, 0), lw - side), min(max(v[1] / s, 0), lh - side))
        } else {
            corner = busiestWindow(lr0, side: side)
        }

        // One panel per method, all size×size in output pixels.
        let margin = max(tuned.receptiveRadius, 4)
        func panels(_ lr: Tensor, _ hr: Tensor?) throws -> [(label: String, image: Tensor)] {
            let (x0, y0) = (max(corner.x - margin, 0), max(corner.y - margin, 0))
            let (x1, y1) = (min(corner.x + side + margin, lw), min(corner.y + side + margin, lh))
            let patch = region(lr, x: x0, y: y0, width: x1 - x0, height: y1 - y0)
            func cut(_ up: Tensor) -> Tensor { region(up, x: (corner.x - x0) * s, y: (corner.y - y0) * s, width: size, height: size) }
            var out: [(String, Tensor)] = [("input", try upsampleNearest(region(lr, x: corner.x, y: corner.y, width: side, height: side), scale: s)),
                                           ("bicubic", cut(try resizeBicubic(patch, .up(s))))]
            try Grad.disabled {
                if let baseModel { out.append(("base", cut(try baseModel(patch)))) }
                out.append(("fine-tuned", cut(try tuned(patch))))
            }
            if let hr { out.append(("ground truth", region(hr, x: corner.x * s, y: corner.y * s, width: size, height: size))) }
            return out
        }

        let name = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        let montagePath = output ?? "\(name).compare.png"
        try Still.writePNG(montage(try panels(lr0, try pair(first).hr), zoom: zoom), to: montagePath)
        say("wrote \(montagePath): crop at (\(corner.x * s), \(corner.y * s)), \(size)² output pixels, ×\(zoom), frame at \(String(format: "%.2f", Double(first.pts) * timeBase)) s")

        if let toggle {
            let out = try MediaOutput(toggle, input: reader.input, width: size * zoom, height: size * zoom, videoOnly: true)
            do {
                let half = max(1, Int((reader.info.frameRate / 2).rounded()))
                for (n, frame) in frames.enumerated() {
                    let (lr, hr) = try pair(frame)
                    let shown = try panels(lr, hr)[(n / half) % 2 == 0 ? 0 : (baseModel == nil ? 2 : 3)]
                    try out.write(montage([shown], zoom: zoom), pts: frame.pts)
                }
                try out.finish()
            } catch {
                out.abort()
                throw error
            }
            say("wrote \(toggle): input and fine-tuned, switching every half second")
        }
    }
}

/// A width×height window of a [1, 3, h, w] image.
func region(_ t: Tensor, x: Int, y: Int, width: Int, height: Int) -> Tensor {
    let (h, w) = (t.shape[2], t.shape[3])
    let out = Tensor(shape: [1, 3, height, width])
    for c in 0..<3 { for r in 0..<height {
        (out.data + (c * height + r) * width).update(from: t.data + (c * h + y + r) * w + x, count: width)
    }}
    return out
}

/// Top-left corner of the side×side window (on a half-window grid) with the
/// largest sum of absolute green-channel differences: where edges, and so
/// halos and lost detail, are.
func busiestWindow(_ image: Tensor, side: Int) -> (x: Int, y: Int) {
    let (h, w) = (image.shape[2], image.shape[3])
    let g = image.data + h * w
    var best = (score: -1.0, x: 0, y: 0)
    let step = max(1, side / 2)
    for y in Swift.stride(from: 0, through: h - side, by: step) {
        for x in Swift.stride(from: 0, through: w - side, by: step) {
            var score = 0.0
            for r in y..<(y + side - 1) { for q in x..<(x + side - 1) {
                score += Double(abs(g[r * w + q + 1] - g[r * w + q]) + abs(g[(r + 1) * w + q] - g[r * w + q]))
            }}
            if score > best.score { best = (score, x, y) }
        }
    }
    return (best.x, best.y)
}
