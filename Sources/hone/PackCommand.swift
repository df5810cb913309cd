import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training
import VideoIO

/// `hone pack`: a small video plus the network that restores it, in one Matroska file.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Ship a small video with the network that restores it: one .mkv that plays anywhere at low resolution.",
        discussion: """
            The master is downscaled (antialiased bicubic) and encoded with x264; that stream \
            is decoded back, and the shipped base is fine-tuned on exact pairs: the decoded \
            low-resolution frames, codec artifacts included, against the master's. The file \
            holds the low-resolution video, the master's audio and subtitles (copied), and \
            what fine-tuning changed as a Matroska attachment (application/x-hone-delivery). \
            The receiver runs `hone infer --video PACK.mkv`, which finds the attachment.
            Sides are rounded down to multiples of 2 × scale (the right and bottom edges cropped).
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (nothing written).
            """)

    @Option(help: "The full-resolution master (any file or URL FFmpeg reads).")
    var video: String

    @Option(name: .shortAndLong, help: "The pack, a .mkv file. (default: <video name>.hone.mkv in the current folder)")
    var output: String?

    @Option(parsing: .unconditional, help: "The receiver's upscale: 2 or 4.")
    var scale = 2

    @Option(parsing: .unconditional, help: "x264 quality of the low-resolution stream: lower is better and larger (0–51). (default: \(PackJob.defaultCRF))")
    var crf: Int?

    @Option(parsing: .unconditional, help: "An average bit rate for the low-resolution stream instead of a CRF, in kbit/s.")
    var bitrate: Double?

    @Option(help: "x264 speed preset (ultrafast … veryslow).")
    var preset = "medium"

    @Option(help: "What fine-tuning changes and the attachment carries: channel-modulation (a scale per channel with the biases: about 6 kB), low-rank (plus a rank-2 change of each convolution: about 30 kB) or all-weights (every weight in half precision: about 440 kB).")
    var tuning: Tuning = .channelModulation

    @Option(parsing: .unconditional, help: "Passes over the frame pairs (an epoch is at least \(PackJob.minimumStepsPerEpoch) steps).")
    var epochs = PackJob.defaultEpochs

    @Option(help: "A YAML config for the fine-tuning (its model must be the shipped base's). (default: configs/pack.yaml)")
    var config: String?

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        if ![2, 4].contains(scale) { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        if let crf, !(0...51).contains(crf) { throw ValidationError("--crf must be between 0 and 51, got \(crf)") }
        if let bitrate, !(bitrate >= 10 && bitrate <= 1_000_000) { throw ValidationError("--bitrate must be between 10 and 1000000 kbit/s, got \(bitrate)") }
        if crf != nil, bitrate != nil { throw ValidationError("give --crf or --bitrate, not both") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        try EncoderOptions.check(preset: preset)
    }

    func run() throws {
        var job = PackJob(master: video)
        (job.output, job.scale, job.tuning, job.epochs, job.config) = (output, scale, tuning, epochs, config)
        job.encoder = EncoderSettings(codec: .h264, crf: crf ?? PackJob.defaultCRF, bitRate: bitrate.map { Int($0 * 1000) }, preset: preset)
        let settings = sampling.applied(to: TrainingSettings())
        (job.sampleRate, job.cacheBudget) = (settings.sampleRate, settings.cacheBudget)
        let report = try job.run(ConsoleObserver())
        let total = report.videoBytes + report.attachmentBytes
        say(String(format: "wrote %@: %d frames, %@ in all; video %@ + network %@ (%.1f%% of the two); %.0f s", report.output, report.frames,
                   kilobytes(report.fileBytes), kilobytes(report.videoBytes), kilobytes(report.attachmentBytes),
                   100 * Double(report.attachmentBytes) / Double(max(total, 1)), report.seconds))
        if let bicubic = report.validation["bicubic"], let base = report.validation["base"], let packed = report.validation["model"] {
            say("held-out frames, Y-PSNR/SSIM against the master: bicubic \(bicubic)  base \(base)  packed \(packed)")
        }
        say("next: hone infer --video \(report.output)")
    }
}

/// Bytes in kilobytes with one decimal ("12.3 kB").
func kilobytes(_ bytes: Int) -> String { String(format: "%.1f kB", Double(bytes) / 1000) }

extension Tuning: ExpressibleByArgument {}
