import ArgumentParser
import Foundation
import SuperResolution

/// `hone evaluate`: what fine-tuning buys, measured against ground truth.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure bicubic, lanczos, the base model and a fine-tuned model against a ground-truth video or image folder.",
        discussion: """
            The protocol in one command. The ground truth is downscaled (antialiased bicubic, \
            8 bits) into a low-resolution clip; a model is fine-tuned on that clip alone, \
            never seeing the truth; then each method upscales the low-resolution frames and \
            is scored against the truth on --frames frames spread through it: Y-PSNR and \
            Y-SSIM (BT.601 luma, border of `scale` pixels cropped), LPIPS-VGG v0.1 (lower is \
            closer), overshoot (how far the output leaves the truth's local range, in 8-bit \
            levels: mean and 99th percentile; see notebooks-notes/overshoot.md) and, for a \
            video, flicker (mean difference between the output's and the truth's frame-to-frame \
            change, in levels). The wall time of each stage is reported.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (checkpoint saved).
            """)

    @Option(help: "The ground truth: a video, or a folder of images.")
    var gt: String

    @Option(parsing: .unconditional, help: "Fine-tuning passes over the low-resolution frames.")
    var epochs = 3

    @Option(help: "The base model, scored and fine-tuned from. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Frames (or images) scored, spread through the ground truth.")
    var frames = 16

    @Option(name: .shortAndLong, help: "Where to keep the fine-tuned checkpoint. (default: <gt name>.evaluate-x<scale>.ckpt in the current folder)")
    var output: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup var training: TrainingOptions
    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        guard epochs >= 1, frames >= 1 else { throw ValidationError("--epochs and --frames must be at least 1") }
    }

    func run() throws {
        Console.stdoutIsData = json
        var job = EvaluateJob(groundTruth: gt)
        (job.epochs, job.frames, job.output, job.settings) = (epochs, frames, output, sampling.applied(to: try training.settings()))
        job.start = checkpoint.map(StartingModel.init) ?? .shipped
        let report = try trainOrExplain("evaluate") { try job.run(ConsoleObserver()) }
        if json { return try Console.emitJSON(report) }
        say("×\(report.scale) on \(gt): \(report.frames) \(report.isVideo ? "frames" : "images") scored")
        printScores(report.methods)
        say(report.stages.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f s", $0.key, $0.value) }.joined(separator: ", "))
    }
}

/// One row per method: Y-PSNR, Y-SSIM, LPIPS, overshoot, flicker, upscaling time.
func printScores(_ scores: [MethodScore]) {
    let width = max(10, scores.map(\.method.count).max() ?? 10)
    say("  " + "method".padding(toLength: width, withPad: " ", startingAt: 0)
          + "  Y-PSNR   Y-SSIM   LPIPS   overshoot mean/p99   flicker   upscale s")
    for s in scores {
        say("  " + s.method.padding(toLength: width, withPad: " ", startingAt: 0)
              + String(format: "  %6.2f   %.4f   %.4f   %6.3f / %5.2f       %@   %7.1f", s.psnrY, s.ssimY, s.lpips, s.overshootMean, s.overshootP99,
                       s.flicker.map { String(format: "%7.3f", $0) } ?? "      -", s.seconds))
    }
}
