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
    public let psnrY: Double, ssimY: Double, psnrRGB: Double
    public init(psnrY: Double, ssimY: Double, psnrRGB: Double) { (self.psnrY, self.ssimY, self.psnrRGB) = (psnrY, ssimY, psnrRGB) }
}

public enum Evaluation {
    /// The images of a folder: `*_HR.png` with their `*_LR.png` (as in Set5/Set14),
    /// or, without LR files, every image as ground truth with its LR made by
    /// antialiased bicubic downscaling and 8-bit rounding. HR is cropped to a
    /// multiple of the scale.
    public static func images(in folder: String, scale: Int) throws -> [EvaluationImage] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        let pictures = files.filter { ["png", "jpg", "jpeg", "bmp"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
        let pairs = pictures.filter { $0.contains("_HR.") }
        let usePairs = !pairs.isEmpty
        var out: [EvaluationImage] = []
        for name in usePairs ? pairs : pictures {
            let hr = try crop(try Still.read(folder + "/" + name), toMultipleOf: scale)
            let lr: Tensor
            if usePairs {
                let lrName = name.replacingOccurrences(of: "_HR.", with: "_LR.")
                guard pictures.contains(lrName) else { throw CheckpointError(folder + "/" + name, "has no \(lrName) beside it") }
                lr = try Still.read(folder + "/" + lrName)
                guard lr.shape[2] * scale == hr.shape[2], lr.shape[3] * scale == hr.shape[3] else {
                    throw CheckpointError(folder + "/" + lrName, "is \(lr.shape[3])×\(lr.shape[2]), not 1/\(scale) of its HR image")
                }
            } else {
                lr = try bicubicInput(hr, scale: scale)
            }
            out.append(EvaluationImage(name: name, hr: hr, lr: lr))
        }
        guard !out.isEmpty else { throw CheckpointError(folder, "holds no PNG, JPEG or BMP images") }
        return out
    }

    /// Scores `enhance` (LR → SR) against the ground truth, border of `scale` pixels cropped.
    public static func score(_ image: EvaluationImage, scale: Int, _ enhance: (Tensor) throws -> Tensor) throws -> ImageScore {
        let sr = try enhance(image.lr)
        return ImageScore(psnrY: Metrics.psnrY(sr, image.hr, border: scale), ssimY: Metrics.ssimY(sr, image.hr, border: scale),
                          psnrRGB: Metrics.psnrRGB(sr, image.hr, border: scale))
    }
}
