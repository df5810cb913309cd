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
        let observer = ConsoleObserver()
        var stages: [String: Double] = [:]
        var clock = Date()
        func lap(_ stage: String) { stages[stage] = Date().timeIntervalSince(clock); clock = Date() }

        let scale = training.scaleOrDefault
        let gt = try GroundTruth.load(gt, scale: scale, frames: frames, observer: observer)
        lap("decode and downscale")
        let name = URL(fileURLWithPath: self.gt).deletingPathExtension().lastPathComponent
        let base = try checkpoint ?? TrainingRun.shippedBase(scale: scale, config: training.loadConfig(fallback: "configs/default.yaml"))
        let (tuned, record) = try fineTune(on: gt, source: self.gt, base: base, epochs: epochs,
                                           output: output ?? "\(name).evaluate-x\(scale).ckpt", options: training, observer: observer)
        lap("fine-tune")
        let baseModel = try TrainingRun.model(base: base, config: record.config, scale: scale, observer: observer)
        let s = scale
        let methods: [(name: String, enhance: (Tensor) throws -> Tensor)] = [
            ("bicubic", { try resizeBicubic($0, .up(s)) }), ("lanczos", { try resizeLanczos($0, .up(s)) }),
            (baseLabel(base), Upscaler(baseModel).callAsFunction),
            ("fine-tuned", Upscaler(tuned).callAsFunction)]
        let scores = try score(gt, methods, observer: observer)
        lap("score")
        let report = Report(groundTruth: self.gt, scale: s, frames: gt.scored.count, epochs: epochs, methods: scores, stages: stages)
        if json { return try Console.emitJSON(report) }
        say("×\(s) on \(self.gt): \(gt.scored.count) \(gt.isVideo ? "frames" : "images") scored")
        printScores(scores)
        say(stages.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f s", $0.key, $0.value) }.joined(separator: ", "))
    }
}

extension GroundTruth {
    /// A ground-truth video or image folder, decoded with progress.
    static func load(_ path: String, scale: Int, frames: Int, observer: JobObserver) throws -> GroundTruth {
        var isFolder: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
        func progress(_ done: Int, _ total: Int) throws {
            try observer.checkCancelled()
            observer.progress("decode", done, of: total, unit: folder ? "images" : "frames", detail: "")
        }
        defer { observer.finishStage() }
        let truth = folder ? try FrameCache(images: try Pretrain.photographs(in: path), maxSide: .max, progress: progress)
                           : try FrameCache(video: path, progress: progress)
        return try GroundTruth(truth: truth, scale: scale, isVideo: !folder, count: frames)
    }
}

/// Fine-tunes `base` on the ground truth's low-resolution frames alone (as
/// `hone finetune` would on that clip), checkpointing to `output`; returns the
/// best-validated model and its record. With --resume, a finished run is reused.
func fineTune(on gt: GroundTruth, source: String, base: String, epochs: Int, output: String, options: TrainingOptions,
              observer: JobObserver) throws -> (SRNet, RunRecord) {
    if options.resume, let done = try? SRNet.load(checkpoint: output), done.1.epochsDone >= done.1.epochs {
        say("\(output): fine-tuning already finished")
        return done
    }
    var run = try options.run(output: output, fallback: "configs/default.yaml") { config in
        RunRecord(config: config, scale: options.scaleOrDefault, video: URL(fileURLWithPath: source).standardizedFileURL.path,
                  base: base, epochs: epochs)
    }
    let trainer = try Trainer(model: try run.startingModel(observer), config: run.record.config, frames: gt.lowRes, epochs: run.record.epochs)
    try trainOrExplain("evaluate", &run, trainer, trained: "fine-tuned", observer: observer)
    return try SRNet.load(checkpoint: output)
}

/// How score tables name the base model.
func baseLabel(_ base: String) -> String { base == "random" ? "base (random init)" : "base" }

/// Scores methods on the ground truth with progress.
func score(_ gt: GroundTruth, _ methods: [(name: String, enhance: (Tensor) throws -> Tensor)], observer: JobObserver) throws -> [MethodScore] {
    let lpips = try LPIPS()
    defer { observer.finishStage() }
    return try gt.score(methods, lpips: lpips) { done, total in
        try observer.checkCancelled()
        observer.progress("score", done, of: total, unit: gt.isVideo ? "frames" : "images", detail: "")
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
