import ArgumentParser
import Autograd
import Foundation
import SuperResolution

/// `hone eval`: image-quality scores against ground truth, bicubic alongside.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a checkpoint (or bicubic, lanczos) on images with ground truth.",
        discussion: """
            A folder holds *_HR.png with their *_LR.png (as ../shared/data/sr does), or \
            ground-truth images alone, whose inputs are made by antialiased bicubic \
            downscaling. Scores: Y-PSNR and Y-SSIM (MATLAB BT.601 luma) and RGB PSNR, \
            border of `scale` pixels cropped, per image and as a mean, next to bicubic.
            Exit codes: 0 done, 1 error, 64 bad options.
            """)

    @Option(help: "A checkpoint file, or the baseline `bicubic` or `lanczos`.")
    var checkpoint: String

    @Option(parsing: .upToNextOption, help: "Folders of images.")
    var images: [String]

    @Option(help: "Upscaling factor for the baselines: 2, 3 or 4 (a checkpoint has its own). (default: 2)")
    var scale: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    struct Row: Codable { let image: String; let bicubic: ImageScore; let method: ImageScore }
    struct Report: Codable { let method: String; let scale: Int; let rows: [Row]; let meanBicubic: ImageScore; let meanMethod: ImageScore }

    func validate() throws {
        if let scale, ![2, 3, 4].contains(scale) { throw ValidationError("--scale must be 2, 3 or 4, got \(scale)") }
    }

    func run() throws {
        let chosen = try ChosenUpscaler(checkpoint, requestedScale: scale)
        let s = chosen.scale
        var rows: [Row] = []
        try Grad.disabled {
            for folder in images {
                for image in try Evaluation.images(in: folder, scale: s) {
                    rows.append(Row(image: folder + "/" + image.name,
                                    bicubic: try Evaluation.score(image, scale: s) { try resizeBicubic($0, .up(s)) },
                                    method: try Evaluation.score(image, scale: s, chosen.enhance)))
                }
            }
        }
        func mean(_ pick: (Row) -> ImageScore) -> ImageScore {
            let n = Double(rows.count)
            return ImageScore(psnrY: rows.map { pick($0).psnrY }.reduce(0, +) / n, ssimY: rows.map { pick($0).ssimY }.reduce(0, +) / n,
                              psnrRGB: rows.map { pick($0).psnrRGB }.reduce(0, +) / n)
        }
        let report = Report(method: checkpoint, scale: s, rows: rows, meanBicubic: mean(\.bicubic), meanMethod: mean(\.method))
        if json { return try Console.emitJSON(report) }
        func cells(_ x: ImageScore) -> String { String(format: "%6.2f dB %.4f %6.2f dB", x.psnrY, x.ssimY, x.psnrRGB) }
        let width = max(5, rows.map(\.image.count).max() ?? 5)
        say("×\(s)  " + "image".padding(toLength: width, withPad: " ", startingAt: 0)
            + "   bicubic: Y-PSNR  Y-SSIM  RGB-PSNR   \(checkpoint): Y-PSNR  Y-SSIM  RGB-PSNR")
        for r in rows + [Row(image: "mean", bicubic: report.meanBicubic, method: report.meanMethod)] {
            say("     " + r.image.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + cells(r.bicubic) + "   " + cells(r.method))
        }
    }
}
