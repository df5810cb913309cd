import ArgumentParser
import Autograd
import Foundation
import SuperResolution
import VideoIO

/// `hone infer`: run an upscaler over every frame of a video, keeping its audio.
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an enhanced, upscaled copy of a video, audio kept.",
        discussion: """
            The checkpoint is a file written by `hone finetune`, or one of the classical \
            baselines `bicubic` and `lanczos` (MATLAB-compatible kernels).
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted.
            """)

    @Option(help: "A checkpoint file, or the baseline `bicubic` or `lanczos`.")
    var checkpoint: String

    @Option(help: "The input video (any file or URL FFmpeg reads). (default: the video the checkpoint was fine-tuned on)")
    var video: String?

    @Option(name: .shortAndLong, help: "The output video. (default: <input name>.hone-x<scale>.mp4 in the current folder)")
    var output: String?

    @Option(parsing: .unconditional, help: "Upscaling factor for the baselines: 2 or 4 (a checkpoint has its own). (default: 2)")
    var scale: Int?

    @Option(help: "Also write a split-view video: bicubic (left) against the enhanced output (right), labelled.")
    var compare: String?

    @Option(help: "Video codec: h264 (plays everywhere) or ffv1 (lossless, for evaluation; use .mkv).")
    var codec: EncoderSettings.Codec = .h264

    @Option(parsing: .unconditional, help: "x264 quality: lower is better and larger (0–51).")
    var crf = 18

    @Option(help: "x264 speed preset (ultrafast … veryslow).")
    var preset = "medium"

    func validate() throws {
        if let scale, ![2, 4].contains(scale) { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        guard (0...51).contains(crf) else { throw ValidationError("--crf must be between 0 and 51, got \(crf)") }
    }

    func run() throws {
        let chosen = try ChosenUpscaler(checkpoint, requestedScale: scale)
        let video = self.video ?? chosen.record.flatMap { $0.video.isEmpty ? nil : $0.video }
        guard let video else { throw ValidationError("--video is required with a baseline or a pretrained checkpoint") }
        let name = URL(fileURLWithPath: video).deletingPathExtension().lastPathComponent
        let outputPath = output ?? "\(name).hone-x\(chosen.scale).mp4"
        let inputs = [video, checkpoint]
        let locks = try [OutputLock(outputPath, inputs: inputs)] + (compare.map { [try OutputLock($0, inputs: inputs + [outputPath])] } ?? [])
        defer { withExtendedLifetime(locks) {} }
        Interrupt.install()
        let bar = ProgressBar("infer")
        defer { bar.finish() }
        // No-reference overshoot against the bicubic upscale, on every 10th frame (a cost the fast model would feel on all).
        var overshoot = (mean: 0.0, p99: 0.0, frames: 0), seen = 0
        let s = chosen.scale
        let enhance: (Tensor) throws -> Tensor = { lr in
            let sr = try chosen.enhance(lr)
            if seen % 10 == 0 {
                let o = Quality.overshoot(sr, reference: try resizeBicubic(lr, .up(s)), border: s, radius: s)
                overshoot = (overshoot.mean + o.mean, overshoot.p99 + o.p99, overshoot.frames + 1)
            }
            seen += 1
            return sr
        }
        let report = try Grad.disabled {
            try enhanceVideo(input: video, output: outputPath, scale: chosen.scale,
                             settings: EncoderSettings(codec: codec, crf: crf, preset: preset),
                             comparison: compare, enhance: enhance) { done, total in
                if Interrupt.requested != 0 { throw ExitCode(130) }
                bar.update(done, of: total)
            }
        }
        for w in report.warnings { say("note: \(w)") }
        if let compare { say("wrote \(compare): bicubic (left) against \(checkpoint) (right)") }
        say("wrote \(outputPath): \(report.frames) frames in \(String(format: "%.1f", report.seconds)) s "
              + "(\(String(format: "%.1f", Double(report.frames) / max(report.seconds, 1e-9))) fps); "
              + String(format: "upscaling took %.1f s of it, decoding and encoding ran alongside", report.enhanceSeconds))
        if overshoot.frames > 0 {
            let n = Double(overshoot.frames)
            say(String(format: "overshoot against bicubic (no reference; 8-bit luma levels, every 10th frame): mean %.3f, p99 %.2f",
                       overshoot.mean / n, overshoot.p99 / n))
        }
    }
}

extension EncoderSettings.Codec: ExpressibleByArgument {}
