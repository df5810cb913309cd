import Autograd
import Foundation
import Networks
import VideoIO

/// One image of an evaluation set: its ground truth and the low-resolution input.
public struct EvaluationImage {
    public let name: String
    public let hr: Tensor, lr: Tensor
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
