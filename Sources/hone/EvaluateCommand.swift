import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training

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
            With --degrade (needed at --scale 1), the low-resolution clip (at ×1, the truth \
            itself) is also damaged: a lens blur of the truth before the downscale, blur, noise, \
            JPEG or x264 at set strengths, the clip as one stream. FFmpeg's filters are then scored too, each at the best \
            of three settings: hqdn3d, nlmeans and deblock for noise and compression, unsharp for a blur; and at ×1 the damaged input stands where bicubic and lanczos would.
            With --delivery, what `hone pack` is worth in bytes instead: for each --crf the \
            master is packed, and the pack's stream is upscaled by its own network, the generic \
            base and bicubic, next to x264 at full resolution over CRFs that bracket the same \
            byte counts; bytes are the video stream's plus the attachment (no audio). Prints \
            Bjøntegaard deltas (BD-rate, BD-PSNR; cubic fit, VCEG-M33) and writes the packs, \
            results.json and rate-distortion.png into -o (default: <gt name>.delivery); \
            running it again reuses finished packs and encodes.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (checkpoint saved).
            """)

    @Option(help: "The ground truth: a video, or a folder of images.")
    var gt: String

    @Option(parsing: .unconditional, help: "Fine-tuning passes over the low-resolution frames; 0 scores the base and --also models as they are. (default: 3; \(PackJob.defaultEpochs) with --delivery)")
    var epochs: Int?

    @Flag(help: "Score `hone pack` against full-resolution x264 at equal bytes (see above).")
    var delivery = false

    @Option(help: ArgumentHelp("With --delivery: the packs' x264 CRFs, comma-separated, at least 4 different. (default: 18,23,28,33,38)", valueName: "crfs"),
            transform: { text in
                let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !values.isEmpty, values.allSatisfy({ $0.map { (0...51).contains($0) } ?? false }) else {
                    throw ValidationError("--crf takes CRFs from 0 to 51 separated by commas (e.g. 18,23,28,33,38), got \(text)")
                }
                return values.map { $0! }
            })
    var crf: [Int] = [18, 23, 28, 33, 38]

    @Option(help: "With --delivery: what packs tune (channel-modulation, low-rank or all-weights; see `hone pack --help`).")
    var tuning: Tuning = .channelModulation

    @Option(help: "The base model, scored and fine-tuned from: a checkpoint or a name from `hone models`. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(help: ArgumentHelp("Another model scored beside the rest as it is (not fine-tuned): a checkpoint or a name from `hone models` (e.g. realesrgan-animevideov3-x4, the tool a user might otherwise use); repeatable.", valueName: "model"))
    var also: [String] = []

    @Option(parsing: .unconditional, help: "Frames (or images) scored, spread through the ground truth.")
    var frames = 16

    @Option(name: .shortAndLong, help: "Where to keep the fine-tuned checkpoint (with --delivery, the folder of results). (default: <gt name>.evaluate-x<scale>.ckpt in the current folder)")
    var output: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: "Also score the base and fine-tuned models as self-ensembles: each run on the 8 flips and turns of a frame, averaged (8× the time).")
    var selfEnsemble = false

    @Option(help: ArgumentHelp("Damage the ground truth into the input: lens:sigma=S[,across=S2,angle=A][,beta=B|,plateau=B] (a camera's blur: Gaussian σ in ground-truth pixels, before the downscale; with across, σ along the direction A° from the horizontal and S2 across it; beta a generalized Gaussian's exponent, plateau a plateau kernel's), then after the downscale blur:sigma=S (σ in low-resolution pixels), noise:sigma=S[,poisson=P] (8-bit levels), jpeg:quality=Q, x264:crf=C; joined with + or repeated, e.g. lens:sigma=1.0+x264:crf=28; FFmpeg's filters are scored too (hqdn3d, nlmeans and deblock for noise and compression, unsharp for a blur), each at its best of a small grid. Needed with --scale 1.", valueName: "damage"))
    var degrade: [String] = []

    @Flag(help: "Score light and colour correction at ×1 instead: the shipped light base (with the ×1 restoration base after and before it when the damage holds noise or compression), the light model fine-tuned on the damaged clip for --epochs (0: none) with zero-reference losses, and FFmpeg's normalize, histeq, eq and a levels-and-gamma lookup table (lutrgb) at each one's best setting against the truth (a ceiling). Damage the truth with dark:gamma=G,gain=K and tint:r=R,g=G,b=B (and noise, x264); without --degrade, it shows what the correction does to good footage.")
    var light = false

    @OptionGroup var training: TrainingOptions
    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        guard epochs ?? 1 >= (delivery ? 1 : 0), frames >= 1 else { throw ValidationError("--frames must be at least 1, --epochs at least 0 (1 with --delivery)") }
        if light {
            if delivery { throw ValidationError("--light and --delivery are separate protocols: give one") }
            let unused = training.givenButNotForLight.filter { $0 != "--scale" } + (checkpoint != nil ? ["--checkpoint"] : [])
                + (selfEnsemble ? ["--self-ensemble"] : []) + (sampling.sample != nil ? ["--sample"] : [])
            if !unused.isEmpty { throw ValidationError("--light scores the shipped light base and its fine-tune: drop \(unused.joined(separator: ", "))") }
        }
        if delivery {
            if Set(crf).count < 4 { throw ValidationError("--delivery needs at least 4 different CRFs for a Bjøntegaard fit, got \(Set(crf).count)") }
            let unused = [("--checkpoint", checkpoint != nil), ("--also", !also.isEmpty), ("--resume", training.resume), ("--log", training.log != nil),
                          ("--loss-pixel", training.lossPixel != nil), ("--loss-perceptual", training.lossPerceptual != nil),
                          ("--loss-gram", training.lossGram != nil), ("--sample", sampling.sample != nil)].filter(\.1).map(\.0)
            if !unused.isEmpty {
                throw ValidationError("--delivery packs from the shipped base with --config (default configs/pack.yaml) and reuses a folder's finished packs: "
                                      + "drop \(unused.joined(separator: ", "))")
            }
        }
    }

    func run() throws {
        Console.stdoutIsData = json
        if delivery { return try runDelivery() }
        var job = EvaluateJob(groundTruth: gt)
        (job.epochs, job.frames, job.output, job.settings) = (epochs ?? 3, frames, output, sampling.applied(to: try training.settings()))
        job.start = try checkpoint.map { StartingModel(try modelPath($0)) } ?? .shipped
        job.selfEnsemble = selfEnsemble
        job.also = try also.map(modelPath)
        job.damages = try degrade.flatMap(Damage.parse)
        job.light = light
        let report = try trainOrExplain("evaluate") { try job.run(ConsoleObserver()) }
        if json { return try Console.emitJSON(report) }
        say("×\(report.scale) on \(gt)\(report.damages.isEmpty ? "" : ", damaged by " + report.damages.joined(separator: " + ")): "
            + "\(report.frames) \(report.isVideo ? "frames" : "images") scored")
        if let damage = report.inputDamage { say("input: \(damage.summary)") }
        printScores(report.methods)
        if light {
            if let truth = report.truthMeanLuma {
                say(String(format: "mean luma (BT.601, 8-bit): truth %.1f, ", truth)
                    + report.methods.map { String(format: "%@ %.1f", $0.method, $0.meanLuma ?? 0) }.joined(separator: ", "))
            }
            say("FFmpeg's tools are each at the setting that scored best against the truth (a ceiling); every setting is in --json's settings")
            return say(report.stages.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f s", $0.key, $0.value) }.joined(separator: ", "))
        }
        say(report.checkpoints.isEmpty ? "no fine-tune (--epochs 0): the models as they are"
            : "fine-tuned on \(report.targets) targets; checkpoint\(report.checkpoints.count == 1 ? "" : "s") \(report.checkpoints.joined(separator: ", "))")
        say(report.stages.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f s", $0.key, $0.value) }.joined(separator: ", "))
    }
}

extension EvaluateCommand {
    func runDelivery() throws {
        var job = DeliveryJob(master: gt)
        (job.scale, job.crfs, job.frames, job.tuning, job.output, job.config) = (training.scale ?? 2, crf, frames, tuning, output, training.config)
        job.epochs = epochs ?? PackJob.defaultEpochs
        let report = try job.run(ConsoleObserver())
        if json { return try Console.emitJSON(report) }
        say("×\(report.scale) delivery of \(gt): \(report.frames) frames scored; bytes are video (+ attachment), no audio")
        say("  method                 CRF      bytes   kbit/s   Y-PSNR   Y-SSIM   LPIPS")
        for p in report.points.sorted(by: { ($0.method, $0.crf) < ($1.method, $1.crf) }) {
            say("  " + p.method.padding(toLength: 21, withPad: " ", startingAt: 0)
                  + String(format: "  %3d  %9d  %7.1f   %6.2f   %.4f   %.4f", p.crf, p.bytes, p.kbps, p.score.psnrY, p.score.ssimY, p.score.lpips))
        }
        for name in DeliveryJob.deltaNames {
            say("  \(name): " + (report.deltas[name].map { String(format: "%+.2f", $0) } ?? "n/a (the curves share no range, or have under 4 points)"))
        }
        say(report.crossoverKbps.map { String(format: "  the pack beats full-resolution x264 below about %.0f kbit/s", $0) }
            ?? "  no crossover with full-resolution x264 in the measured range")
        say("wrote \(job.folder)/results.json and \(report.plot)")
    }
}

/// One row per method: Y-PSNR, Y-SSIM, LPIPS, overshoot, flicker, upscaling time.
func printScores(_ scores: [MethodScore]) {
    let width = max(10, scores.map(\.method.count).max() ?? 10)
    say("  " + "method".padding(toLength: width, withPad: " ", startingAt: 0)
          + "  Y-PSNR   Y-SSIM   LPIPS   overshoot mean/p99   flicker   seconds")
    for s in scores {
        say("  " + s.method.padding(toLength: width, withPad: " ", startingAt: 0)
              + String(format: "  %6.2f   %.4f   %.4f   %6.3f / %5.2f       %@   %7.1f", s.psnrY, s.ssimY, s.lpips, s.overshootMean, s.overshootP99,
                       s.flicker.map { String(format: "%7.3f", $0) } ?? "      -", s.seconds))
    }
}
