import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training

/// `hone eval`: image-quality scores against ground truth, bicubic alongside.
struct ScoreImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a checkpoint (or bicubic, lanczos) on images with ground truth.",
        discussion: """
            A folder holds *_HR.png with their *_LR.png (as ../shared/data/sr does), or \
            ground-truth images alone, whose inputs are made by antialiased bicubic \
            downscaling. Scores: Y-PSNR and Y-SSIM (MATLAB BT.601 luma) and RGB PSNR, \
            border of `scale` pixels cropped, per image and as a mean, next to bicubic.
            Exit codes: 0 done, 1 error, 64 bad options.
            """)

    @Option(help: "A checkpoint file, a name from `hone models`, or the baseline `bicubic` or `lanczos`.")
    var checkpoint: String

    @Option(parsing: .upToNextOption, help: "Folders of images.")
    var images: [String]

    @Option(help: "Upscaling factor for the baselines: 2, 3 or 4 (a checkpoint has its own). (default: 2)")
    var scale: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        if let scale, ![2, 3, 4].contains(scale) { throw ValidationError("--scale must be 2, 3 or 4, got \(scale)") }
    }

    func run() throws {
        var job = ScoreImagesJob(method: UpscalingMethod(try modelPath(checkpoint)), folders: images)
        job.scale = scale
        let report = try job.run()
        if json { return try Console.emitJSON(report) }
        func cells(_ x: ImageScore) -> String { String(format: "%6.2f dB %.4f %6.2f dB %.4f", x.psnrY, x.ssimY, x.psnrRGB, x.lpips) }
        let width = max(5, report.rows.map(\.image.count).max() ?? 5)
        say("×\(report.scale)  " + "image".padding(toLength: width, withPad: " ", startingAt: 0)
            + "   bicubic: Y-PSNR  Y-SSIM  RGB-PSNR  LPIPS    \(checkpoint): Y-PSNR  Y-SSIM  RGB-PSNR  LPIPS")
        for r in report.rows.map({ ($0.image, $0.bicubic, $0.method) }) + [("mean", report.meanBicubic, report.meanMethod)] {
            say("     " + r.0.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + cells(r.1) + "   " + cells(r.2))
        }
    }
}
