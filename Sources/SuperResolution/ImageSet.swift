import Autograd
import Foundation
import VideoIO

/// One image of an evaluation set: its ground truth and the low-resolution input.
public struct EvaluationImage {
    public let name: String
    public let hr: Tensor, lr: Tensor
}

/// Scores of one method on one image.
public struct ImageScore: Codable, Sendable {
    /// LPIPS-VGG v0.1 over the whole image (lower is closer).
    public let psnrY: Double, ssimY: Double, psnrRGB: Double, lpips: Double
    public init(psnrY: Double, ssimY: Double, psnrRGB: Double, lpips: Double) {
        (self.psnrY, self.ssimY, self.psnrRGB, self.lpips) = (psnrY, ssimY, psnrRGB, lpips)
    }
}

/// Folders of images: photographs to train on, and evaluation sets.
public enum ImageSet {
    /// The picture files Hone reads (through FFmpeg's image decoders).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp"]

    /// The image files directly inside `folder`, sorted, as absolute paths.
    /// - Throws: `FileError` when the folder is missing or holds no images.
    public static func pictures(in folder: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { throw FileError(folder, "no such folder") }
        let found = names.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
            .sorted().map { URL(fileURLWithPath: folder).appendingPathComponent($0).standardizedFileURL.path }
        guard !found.isEmpty else { throw FileError(folder, "holds no images (\(extensions.sorted().joined(separator: ", ")))") }
        return found
    }

    /// The images of a folder: `*_HR.png` with their `*_LR.png` (as in Set5/Set14),
    /// or, without LR files, every image as ground truth with its LR made by
    /// antialiased bicubic downscaling and 8-bit rounding. HR is cropped to a
    /// multiple of the scale.
    /// - Throws: `FileError` naming the folder or the image that is missing, unreadable or of the wrong size.
    public static func evaluationImages(in folder: String, scale: Int) throws -> [EvaluationImage] {
        let pictures = try pictures(in: folder).map { URL(fileURLWithPath: $0).lastPathComponent }
        let pairs = pictures.filter { $0.contains("_HR.") }
        let usePairs = !pairs.isEmpty
        var out: [EvaluationImage] = []
        for name in usePairs ? pairs : pictures {
            let hr = try crop(try Still.read(folder + "/" + name), toMultipleOf: scale)
            let lr: Tensor
            if usePairs {
                let lrName = name.replacingOccurrences(of: "_HR.", with: "_LR.")
                guard pictures.contains(lrName) else { throw FileError(folder + "/" + name, "has no \(lrName) beside it") }
                lr = try Still.read(folder + "/" + lrName)
                guard lr.shape[2] * scale == hr.shape[2], lr.shape[3] * scale == hr.shape[3] else {
                    throw FileError(folder + "/" + lrName, "is \(lr.shape[3])×\(lr.shape[2]), not 1/\(scale) of its HR image")
                }
            } else {
                lr = try bicubicInput(hr, scale: scale)
            }
            out.append(EvaluationImage(name: name, hr: hr, lr: lr))
        }
        return out
    }

    /// Scores `enhance` (LR → SR) against the ground truth, border of `scale` pixels cropped.
    public static func score(_ image: EvaluationImage, scale: Int, lpips: LPIPS, _ enhance: (Tensor) throws -> Tensor) throws -> ImageScore {
        let sr = try enhance(image.lr)
        return ImageScore(psnrY: Metrics.psnrY(sr, image.hr, border: scale), ssimY: Metrics.ssimY(sr, image.hr, border: scale),
                          psnrRGB: Metrics.psnrRGB(sr, image.hr, border: scale),
                          lpips: Double(lpips.distance(try lpips.features(sr), try lpips.features(image.hr))))
    }
}

/// One method's scores on a ground-truth clip or image set: means over the
/// scored frames. Overshoot and flicker are in 8-bit luma levels; flicker is
/// nil for still images.
public struct MethodScore: Codable, Sendable {
    public let method: String
    public var psnrY = 0.0, ssimY = 0.0, lpips = 0.0, overshootMean = 0.0, overshootP99 = 0.0
    public var flicker: Double?
    /// Seconds spent upscaling (metrics excluded).
    public var seconds = 0.0
}

/// The ground-truth protocol of `hone evaluate` and `hone sweep`: the truth's
/// frames are downscaled (antialiased bicubic, 8 bits; not at ×1) and damaged
/// as asked (`Damage`, the clip as one stream) into the input clip every
/// method — and any fine-tuning — sees; methods are scored against the truth
/// on `count` frames spread through it (each with its successor, for flicker,
/// when the truth is a video).
public final class GroundTruth {
    public let truth: FrameCache, lowRes: FrameCache
    public let scale: Int, isVideo: Bool
    public let scored: [Int]
    /// What damaged the input clip, in order.
    public let damages: [Damage]
    /// The mean H.264 quantiser of the input clip when x264 made it.
    public let inputQP: Double?
    /// The truth is cropped to a multiple of this: the scale, twice it when x264 needs even inputs.
    let multiple: Int

    public init(truth: FrameCache, scale: Int, isVideo: Bool, count: Int, damages: [Damage] = []) throws {
        (self.truth, self.scale, self.isVideo, self.damages) = (truth, scale, isVideo, damages)
        let multiple = damages.contains { $0.crf != nil } ? 2 * scale : scale
        self.multiple = multiple
        var i = 0
        var ready: [Tensor] = []
        let stream = DamagedStream(damages)
        let label = (scale > 1 ? ["downscaled ×\(scale)"] : []) + damages.map(\.description)
        lowRes = try FrameCache(source: truth.source + (label.isEmpty ? "" : " (\(label.joined(separator: ", ")))")) {
            while ready.isEmpty && i <= truth.count {
                defer { i += 1 }
                ready = i < truth.count ? try stream.push(try bicubicInput(try crop(truth.frame(i), toMultipleOf: multiple), scale: scale))
                                        : try stream.finish()
            }
            return ready.isEmpty ? nil : ready.removeFirst()
        }
        inputQP = stream.meanQP
        let last = isVideo ? truth.count - 1 : truth.count
        guard last >= 1 else { throw FileError(truth.source, "the ground truth needs at least \(isVideo ? 2 : 1) \(isVideo ? "frames" : "image")") }
        scored = Array(Set((0..<min(count, last)).map { $0 * last / min(count, last) })).sorted()
    }

    /// Frames each side of a scored frame that a method sees: a multi-frame model's widest window (`model.neighbours` ≤ 2).
    public static let windowRadius = 2

    /// Frame i of the low-resolution clip with its neighbours (a video's; an image stands alone).
    public func window(_ i: Int) -> FrameWindow {
        FrameWindow(around: i, count: lowRes.count, radius: isVideo ? Self.windowRadius : 0, frame: lowRes.frame)
    }

    /// Scores every method on the low-resolution clip; the truth's LPIPS features are computed once per frame.
    public func score(_ methods: [(name: String, enhance: (FrameWindow) throws -> Tensor)], lpips: LPIPS,
                      progress: (Int, Int) throws -> Void) throws -> [MethodScore] {
        try score(outputs: methods.map { method in (method.name, { try method.enhance(self.window($0)) }) }, lpips: lpips, progress: progress)
    }

    /// Scores methods that make frame i of the truth's size from inputs of their own
    /// (another encoding of the truth, say): `output(i)` is called for the scored frames and their successors.
    public func score(outputs methods: [(name: String, output: (Int) throws -> Tensor)], lpips: LPIPS,
                      progress: (Int, Int) throws -> Void) throws -> [MethodScore] {
        var scores = methods.map { MethodScore(method: $0.name) }
        for (done, i) in scored.enumerated() {
            let hr = try crop(truth.frame(i), toMultipleOf: multiple)
            let next = isVideo ? try crop(truth.frame(i + 1), toMultipleOf: multiple) : nil
            let truthFeatures = try lpips.features(hr)
            for (m, method) in methods.enumerated() {
                let start = Date()
                let sr = try Grad.disabled { try method.output(i) }
                let srNext = try next.map { _ in try Grad.disabled { try method.output(i + 1) } }
                guard sr.shape == hr.shape, srNext.map({ $0.shape == hr.shape }) ?? true else {
                    throw ShapeError("\(method.name) made frame \(i) of \(sr.shape), the truth is \(hr.shape)")
                }
                scores[m].seconds += Date().timeIntervalSince(start)
                scores[m].psnrY += Metrics.psnrY(sr, hr, border: scale)
                scores[m].ssimY += Metrics.ssimY(sr, hr, border: scale)
                scores[m].lpips += lpips.distance(try lpips.features(sr), truthFeatures)
                let o = Quality.overshoot(sr, reference: hr, border: scale, radius: scale)
                scores[m].overshootMean += o.mean
                scores[m].overshootP99 += o.p99
                if let next, let srNext {
                    scores[m].flicker = (scores[m].flicker ?? 0) + Quality.flicker((sr, srNext), truth: (hr, next), border: scale)
                }
            }
            try progress(done + 1, scored.count)
        }
        let n = Double(scored.count)
        return scores.map { s in
            var s = s
            (s.psnrY, s.ssimY, s.lpips) = (s.psnrY / n, s.ssimY / n, s.lpips / n)
            (s.overshootMean, s.overshootP99, s.flicker) = (s.overshootMean / n, s.overshootP99 / n, s.flicker.map { $0 / n })
            return s
        }
    }
}
