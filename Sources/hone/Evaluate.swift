import ArgumentParser
import Autograd
import Foundation
import SuperResolution

/// `hone evaluate`: what fine-tuning buys, measured against ground truth.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
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

    @Option(help: "Fine-tuning passes over the low-resolution frames.")
    var epochs = 3

    @Option(help: "The base model, scored and fine-tuned from. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(help: "Frames (or images) scored, spread through the ground truth.")
    var frames = 16

    @Option(name: .shortAndLong, help: "Where to keep the fine-tuned checkpoint. (default: <gt name>.evaluate-x<scale>.ckpt in the current folder)")
    var output: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup var training: TrainingOptions

    struct Report: Codable {
        let groundTruth: String, scale: Int, frames: Int, epochs: Int
        let methods: [MethodScore]
        /// Wall seconds of each stage.
        let stages: [String: Double]
    }

    func validate() throws {
        guard epochs >= 1, frames >= 1 else { throw ValidationError("--epochs and --frames must be at least 1") }
    }

    func run() throws {
        Console.stdoutIsData = json
        Interrupt.install()
        var stages: [String: Double] = [:]
        var clock = Date()
        func lap(_ stage: String) { stages[stage] = Date().timeIntervalSince(clock); clock = Date() }

        let gt = try GroundTruth.load(gt, scale: training.scale, frames: frames)
        lap("decode and downscale")
        let name = URL(fileURLWithPath: self.gt).deletingPathExtension().lastPathComponent
        let base = try checkpoint ?? shippedBase(scale: training.scale, config: training.loadConfig(fallback: "configs/default.yaml"))
        let (tuned, record) = try fineTune(on: gt, source: self.gt, base: base, epochs: epochs,
                                 output: output ?? "\(name).evaluate-x\(training.scale).ckpt", options: training)
        lap("fine-tune")
        let baseModel = try TrainingRun.model(base: base, config: record.config, scale: training.scale)
        let s = training.scale
        let methods: [(name: String, enhance: (Tensor) throws -> Tensor)] = [
            ("bicubic", { try resizeBicubic($0, .up(s)) }), ("lanczos", { try resizeLanczos($0, .up(s)) }),
            (baseLabel(base), Upscaler(baseModel).callAsFunction),
            ("fine-tuned", Upscaler(tuned).callAsFunction)]
        let scores = try score(gt, methods)
        lap("score")
        let report = Report(groundTruth: self.gt, scale: s, frames: gt.scored.count, epochs: epochs, methods: scores, stages: stages)
        if json { return try Console.emitJSON(report) }
        say("×\(s) on \(self.gt): \(gt.scored.count) \(gt.isVideo ? "frames" : "images") scored")
        printScores(scores)
        say(stages.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f s", $0.key, $0.value) }.joined(separator: ", "))
    }
}

extension GroundTruth {
    /// A ground-truth video or image folder, decoded with a progress bar.
    static func load(_ path: String, scale: Int, frames: Int) throws -> GroundTruth {
        var isFolder: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
        let bar = ProgressBar("decode", unit: folder ? "images" : "frames")
        defer { bar.finish() }
        func progress(_ done: Int, _ total: Int) throws {
            if Interrupt.requested != 0 { throw ExitCode(130) }
            bar.update(done, of: total)
        }
        let truth = folder ? try FrameCache(images: try Pretrain.photographs(in: path), maxSide: .max, progress: progress)
                           : try FrameCache(video: path, progress: progress)
        return try GroundTruth(truth: truth, scale: scale, isVideo: !folder, count: frames)
    }
}

/// Fine-tunes `base` on the ground truth's low-resolution frames alone (as
/// `hone finetune` would on that clip), checkpointing to `output`; returns the
/// best-validated model and its record. With --resume, a finished run is reused.
func fineTune(on gt: GroundTruth, source: String, base: String, epochs: Int, output: String, options: TrainingOptions) throws -> (SRNet, RunRecord) {
    if options.resume, let done = try? SRNet.load(checkpoint: output), done.1.epochsDone >= done.1.epochs {
        say("\(output): fine-tuning already finished")
        return done
    }
    var run = try TrainingRun("evaluate", output: output, options: options) {
        RunRecord(config: try options.loadConfig(fallback: "configs/default.yaml"), scale: options.scale,
                  video: URL(fileURLWithPath: source).standardizedFileURL.path, base: base, epochs: epochs)
    }
    let trainer = try Trainer(model: try run.startingModel(), config: run.record.config, frames: gt.lowRes, epochs: run.record.epochs)
    try run.train(trainer, trained: "fine-tuned")
    return try SRNet.load(checkpoint: output)
}

/// How score tables name the base model.
func baseLabel(_ base: String) -> String { base == "random" ? "base (random init)" : "base" }

/// Scores methods on the ground truth with a progress bar.
func score(_ gt: GroundTruth, _ methods: [(name: String, enhance: (Tensor) throws -> Tensor)]) throws -> [MethodScore] {
    let lpips = try LPIPS()
    let bar = ProgressBar("score", unit: gt.isVideo ? "frames" : "images")
    defer { bar.finish() }
    return try gt.score(methods, lpips: lpips) { done, total in
        if Interrupt.requested != 0 { throw ExitCode(130) }
        bar.update(done, of: total)
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
