import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// `hone compare`: the pictures people share — one crop, zoomed, method by
/// method (input, bicubic, base, fine-tuned — a multi-frame model and a
/// single-frame one side by side when both are given — and the ground truth when there
/// is one) as a labelled PNG montage, and optionally a short video toggling
/// the input and the fine-tuned output.
public struct CompareJob {
    public enum Source: Sendable {
        /// Real footage: the input is the footage itself.
        case footage(String)
        /// Ground truth (video or image): its downscale is the input, and it is shown last.
        case groundTruth(String)
        var path: String { switch self { case .footage(let p), .groundTruth(let p): p } }
    }

    public var source: Source
    /// The fine-tuned checkpoint.
    public var checkpoint: String
    /// Another fine-tuned checkpoint shown after it (a single-frame model beside a multi-frame one, say).
    public var other: String?
    /// The base checkpoint; nil: the shipped base when it holds the checkpoint's model, else none.
    public var base: String?
    /// Time of the frame in seconds; nil: the middle.
    public var at: Double?
    /// Top-left corner of the crop in output pixels; nil: the window with the most edges.
    public var crop: (x: Int, y: Int)?
    /// Side of the crop in output pixels (a multiple of the scale), and each panel's zoom.
    public var size = 96, zoom = 4
    /// The montage; nil: `<input name>.compare.png`.
    public var output: String?
    /// A 2-second video toggling input and fine-tuned output.
    public var toggle: String?

    public init(source: Source, checkpoint: String) { (self.source, self.checkpoint) = (source, checkpoint) }

    public var montagePath: String { output ?? outputName(for: source.path, ".compare.png") }

    /// Writes the montage (and the toggle video); returns a line for each file written.
    /// - Throws: `UsageError` for a crop size that is not a multiple of the scale;
    ///   `FileError`/`VideoIOError` naming the file at fault.
    public func run() throws -> [String] {
        let path = source.path
        let inputs = [path, checkpoint] + (base.map { [$0] } ?? []) + (other.map { [$0] } ?? [])
        let locks = try [OutputLock(montagePath, inputs: inputs)] + (toggle.map { [try OutputLock($0, inputs: inputs + [montagePath])] } ?? [])
        defer { withExtendedLifetime(locks) {} }
        let (tuned, record) = try loadNetwork(checkpoint: checkpoint)
        let s = tuned.scale
        guard size % s == 0 else { throw UsageError("--size must be a multiple of the scale \(s)") }
        let baseModel: (any UpscalingNetwork)? = switch base.map(StartingModel.checkpoint) ?? StartingModel.shipped.resolved(scale: s, config: record.config) {
        case .checkpoint(let path): try loadNetwork(checkpoint: path).0
        default: nil
        }
        let otherModel = try other.map { try loadNetwork(checkpoint: $0).0 }
        if let otherModel, otherModel.scale != s { throw UsageError("\(other!) upscales ×\(otherModel.scale), \(checkpoint) ×\(s)") }
        // Fine-tuned models are told apart by the frames they read.
        func label(_ model: any UpscalingNetwork) -> String { model.radius == 0 ? "fine-tuned" : "fine-tuned, \(2 * model.radius + 1) frames" }
        let tunedModels = [tuned] + (otherModel.map { [$0] } ?? [])
        // A multi-frame model's neighbours are read too, up to `radius` frames either side of those shown.
        let radius = tunedModels.map(\.radius).max()!

        let reader = try VideoReader(path)
        let start = at ?? reader.info.duration / 2
        let wanted = toggle == nil ? 1 : max(2, Int((2 * reader.info.frameRate).rounded()))
        let timeBase = Double(reader.info.timeBase.num) / Double(reader.info.timeBase.den)
        // Up to `radius` frames before the first shown, those shown, and `radius` after.
        var frames: [Frame] = [], firstShown: Int?
        while let frame = try reader.next() {
            frames.append(frame)
            if firstShown == nil {
                if Double(frame.pts) * timeBase >= start - 1e-3 || reader.info.estimatedFrames <= 1 { firstShown = frames.count - 1 } else { frames = frames.suffix(radius) }
            }
            if let firstShown, frames.count >= firstShown + wanted + radius { break }
        }
        guard let firstShown else { throw FileError(path, "no frame at \(start) s") }
        let shown = firstShown..<min(frames.count, firstShown + wanted)
        let first = frames[firstShown]

        // Input and truth for a frame.
        func pair(_ frame: Frame) throws -> (lr: Tensor, hr: Tensor?) {
            guard case .groundTruth = source else { return (frame.image, nil) }
            let hr = try Quality.crop(frame.image, toMultipleOf: s)
            return (try bicubicInput(hr, scale: s), hr)
        }
        let pairs = try frames.map(pair)
        let lr0 = pairs[firstShown].lr
        let (lh, lw, side) = (lr0.shape[2], lr0.shape[3], size / s)
        guard lh >= side, lw >= side else { throw FileError(path, "the input is \(lw)×\(lh), smaller than the \(side)² crop") }
        let corner = crop.map { (min(max($0.x / s, 0), lw - side), min(max($0.y / s, 0), lh - side)) } ?? busiestWindow(lr0, side: side)

        // One panel per method, all size×size in output pixels; the models see a margin of their receptive field around the crop.
        let margin = max(tuned.receptiveRadius, 4)
        func panels(_ n: Int) throws -> [(label: String, image: Tensor)] {
            let (lr, hr) = pairs[n]
            let (x0, y0) = (max(corner.0 - margin, 0), max(corner.1 - margin, 0))
            let (x1, y1) = (min(corner.0 + side + margin, lw), min(corner.1 + side + margin, lh))
            func patch(_ t: Tensor) -> Tensor { region(t, x: x0, y: y0, width: x1 - x0, height: y1 - y0) }
            func cut(_ up: Tensor) -> Tensor { region(up, x: (corner.0 - x0) * s, y: (corner.1 - y0) * s, width: size, height: size) }
            var out: [(String, Tensor)] = [("input", try upsampleNearest(region(lr, x: corner.0, y: corner.1, width: side, height: side), scale: s)),
                                           ("bicubic", cut(try resizeBicubic(patch(lr), .up(s))))]
            try Grad.disabled {
                if let baseModel { out.append(("base", cut(try baseModel(patch(lr))))) }
                for model in tunedModels {
                    // A multi-frame model reads its neighbours aligned over the whole frame, as in inference, then cut.
                    let input = model.radius == 0 ? lr : try Alignment.stack(FrameWindow(around: n, count: pairs.count, radius: model.radius) { pairs[$0].lr },
                                                                             radius: model.radius)
                    out.append((label(model), cut(try model(patch(input)))))
                }
            }
            if let hr { out.append(("ground truth", region(hr, x: corner.0 * s, y: corner.1 * s, width: size, height: size))) }
            return out
        }

        try Still.writePNG(montage(try panels(firstShown), zoom: zoom), to: montagePath)
        var written = ["wrote \(montagePath): crop at (\(corner.0 * s), \(corner.1 * s)), \(size)² output pixels, ×\(zoom), "
                       + "frame at \(String(format: "%.2f", Double(first.pts) * timeBase)) s"]
        if let toggle {
            let out = try MediaOutput(toggle, input: reader.input, width: size * zoom, height: size * zoom, videoOnly: true)
            do {
                let half = max(1, Int((reader.info.frameRate / 2).rounded()))
                for n in shown {
                    let panel = try panels(n)[((n - firstShown) / half) % 2 == 0 ? 0 : (baseModel == nil ? 2 : 3)]
                    try out.write(montage([panel], zoom: zoom), pts: frames[n].pts, duration: frames[n].duration)
                }
                try out.finish()
            } catch {
                out.abort()
                throw error
            }
            written.append("wrote \(toggle): input and fine-tuned, switching every half second")
        }
        return written
    }
}
