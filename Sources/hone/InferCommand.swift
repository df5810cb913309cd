import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training
import VideoIO

/// `hone infer`: run an upscaler over every frame of a video, keeping its audio.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Write an enhanced, upscaled copy of a video, audio kept.",
        discussion: """
            The checkpoint is a file written by `hone finetune`, or one of the classical \
            baselines `bicubic` and `lanczos` (MATLAB-compatible kernels). A video written \
            by `hone pack` carries its own network, used when no checkpoint is given.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted.
            """)

    @Option(help: "The input: any file or URL FFmpeg reads, a picture, an image sequence (frames/%04d.png), or - for standard input. Given more than once, or a folder: each video (and picture) into the folder -o names, under its default name; those already there are skipped, so the same command run again finishes only what is missing. (default: the video the checkpoint was fine-tuned on)")
    var video: [String] = []

    @Option(name: .shortAndLong, help: "The output: a video (.mp4, .mkv, .mov), a picture, an image sequence (out/%04d.png), an animated .gif, or - for standard output (MPEG-TS). (default: <input name>.hone-x<scale>.mp4 (.hone-x<scale>-light.mp4 with --light), .png for a picture, <name>.hone-x<scale>.mkv for a pack <name>.hone.mkv, in the current folder)")
    var output: String?

    @Option(parsing: .unconditional, help: "Frames per second of an image-sequence input. (default: 25)")
    var fps: Double?

    @Option(help: "Also write a split-view video: bicubic (at ×1, the input) on the left against the enhanced output on the right, labelled.")
    var compare: String?

    @OptionGroup var settings: InferSettings

    @Option(help: ArgumentHelp("Start from the settings saved under this name (`hone presets`); options given here win over them.", valueName: "name"))
    var presetName: String?

    @Option(help: "The presets file --preset-name reads. (default: $XDG_CONFIG_HOME/hone/presets.yaml, or ~/.config/hone/presets.yaml)")
    var presetFile: String?

    @Option(help: "A light model from `hone finetune --light` to use for --light. (default: the shipped checkpoints/base-light.safetensors)")
    var lightCheckpoint: String?

    @Flag(help: "Tone-map HDR (PQ, HLG) to SDR BT.709 before the model (libavfilter's zscale and tonemap), instead of keeping HDR.")
    var toneMap = false

    @Option(help: "Deinterlace with libavfilter's bwdif: auto (when the stream or its frames say interlaced), on, off.")
    var deinterlace: DecodingOptions.Deinterlace = .auto

    @Option(parsing: .unconditional, help: ArgumentHelp("Write only segment I of N (1-based, equal shares of the frames), video alone, into .mkv for `hone join`: H.264 at CRF 12 (HEVC for HDR), or lossless with --codec ffv1. (default: <input name>.hone-x<scale>.partIofN.mkv)", valueName: "I/N"),
            transform: { text in
                guard let segment = SegmentNumber(text) else {
                    throw ValidationError("--segment takes I/N, segment I of N with 1 ≤ I ≤ N (e.g. 2/8), got \(text)")
                }
                return segment
            })
    var segment: SegmentNumber?

    @Option(parsing: .unconditional, help: ArgumentHelp("A video longer than this is encoded in parts of this many frames, kept in .<output name>.hone-parts beside the output until the end, so the same command run again after a kill (power cut, SIGKILL) continues where it stopped; 0: one encode. (default: 250)", valueName: "frames"))
    var partFrames: Int?

    func validate() throws {
        if let partFrames, partFrames < 0 { throw ValidationError("--part-frames must be 0 (off) or a number of frames, got \(partFrames)") }
        if let fps, !(fps > 0 && fps <= 1000) { throw ValidationError("--fps must be above 0 and at most 1000, got \(fps)") }
        if output == "-", isatty(STDOUT_FILENO) != 0 { throw ValidationError("-o - writes video to standard output: send it to a file or a pipe") }
        if presetFile != nil, presetName == nil { throw ValidationError("--preset-file is read for --preset-name: add the preset's name") }
        if isBatch {
            if compare != nil { throw ValidationError("--compare writes one split view; give one --video with it") }
            if segment != nil { throw ValidationError("--segment cuts one video; give one --video with it") }
            if output == "-" || output?.contains("%") == true || output.map({ Self.fileExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }) == true {
                throw ValidationError("with several videos, -o names a folder, not \(output!)")
            }
        }
    }

    /// Extensions of the files `infer` writes, which a folder for many outputs is not named with.
    static let fileExtensions: Set = ["mp4", "m4v", "mkv", "mov", "webm", "ts", "gif", "png", "jpg", "jpeg"]

    /// Several videos, or a folder of them.
    var isBatch: Bool {
        var isFolder: ObjCBool = false
        return video.count > 1 || video.first.map { FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder) && isFolder.boolValue } == true
    }

    func run() throws {
        let chosen = try presetName.map { try PresetFile(presetFile ?? PresetFile.defaultPath, mustExist: true).preset($0).overridden(by: settings.given) }
            ?? settings.given
        if let light = chosen.light { _ = try LightSetting(light) }  // its own message, as without a preset
        if let problem = chosen.problems().first { throw UsageError((presetName.map { "preset \($0) with the options given: " } ?? "") + problem) }
        if chosen.model == nil, video.isEmpty { throw UsageError("--checkpoint (or a preset's model) or --video (a pack from `hone pack`) is required") }
        if lightCheckpoint != nil, chosen.light == nil { throw UsageError("--light-checkpoint is used by --light: add --light auto (or a strength)") }
        // Light alone keeps the input's size: the input as it is at ×1, corrected.
        let lightOnly = chosen.model == nil && chosen.light != nil
        var job = InferJob(method: lightOnly ? .bicubic : try chosen.model.map { UpscalingMethod(try modelPath($0)) } ?? .attached)
        (job.video, job.output, job.scale, job.compare, job.segment) = (video.first, output, lightOnly ? 1 : chosen.scale, compare, segment)
        job.light = try chosen.light.map { try LightSetting($0, checkpoint: try lightCheckpoint.map(modelPath)) }
        job.selfEnsemble = chosen.selfEnsemble ?? false
        if let partFrames { job.partFrames = partFrames }
        job.encoder = EncoderOptions.settings(codec: chosen.codec, crf: chosen.crf, speed: chosen.speed,
                                              defaultCRF: segment == nil ? EncoderOptions.defaultCRF : InferJob.segmentCRF)
        (job.decoding.deinterlace, job.decoding.toneMap, job.decoding.frameRate) = (deinterlace, toneMap, fps)
        Console.stdoutIsData = output == "-"  // the video goes to standard output; messages to stderr
        if let presetName { say("preset \(presetName): \(chosen.summary)") }
        if isBatch { return try runBatch(job, chosen) }
        let report = try job.run(ConsoleObserver())
        sayReport(report, chosen)
    }

    /// Each video into the folder -o names; exits 1 when one failed.
    func runBatch(_ template: InferJob, _ chosen: InferPreset) throws {
        let job = BatchInferJob(template: template, inputs: video, folder: output ?? ".")
        let outcomes = try job.run(ConsoleObserver()) { video, outcome in
            switch outcome {
            case .written(let report): sayReport(report, chosen)
            case .skipped(let output): say("skipped \(video): \(output) is there already")
            case .failed(let reason): say("failed: \(reason)")
            }
        }
        let failed = outcomes.filter { if case .failed = $0.outcome { true } else { false } }.count
        let skipped = outcomes.filter { if case .skipped = $0.outcome { true } else { false } }.count
        say("\(outcomes.count - failed - skipped) written, \(skipped) skipped (there already), \(failed) failed, into \(job.folder)")
        if failed > 0 { throw ExitCode(1) }
    }

    func sayReport(_ report: InferJob.Report, _ chosen: InferPreset) {
        for w in report.warnings { say("note: \(w)") }
        if let compare {
            let lit = chosen.light != nil
            let right = chosen.model.map { lit ? "\($0) with the light correction" : $0 } ?? (lit ? "the light correction" : "the attached network")
            say("wrote \(compare): \(report.scale == 1 ? "the input" : "bicubic") (left) against \(right) (right)")
        }
        say("wrote \(report.output): \(report.frames) frame\(report.frames == 1 ? "" : "s")"
              + (report.reusedFrames > 0 ? " (and \(report.reusedFrames) reused from the interrupted run)" : "") + " in \(String(format: "%.1f", report.seconds)) s "
              + "(\(String(format: "%.1f", Double(report.frames) / max(report.seconds, 1e-9))) fps); "
              + String(format: "%@ took %.1f s of it, decoding and encoding ran alongside", report.scale == 1 ? "restoring" : "upscaling", report.enhanceSeconds))
        if let overshoot = report.overshoot {
            say(String(format: "overshoot against %@ (no reference; 8-bit luma levels, every 10th frame): mean %.3f, p99 %.2f",
                       report.scale == 1 ? "the input" : "bicubic", overshoot.mean, overshoot.p99))
        }
        if let blockiness = report.blockiness {
            say(String(format: "blockiness (the excess luma step at the input's 8×8 block edges; 0 = none; every 10th frame): output %.3f, %@ %.3f",
                       blockiness.output, report.scale == 1 ? "input" : "bicubic", blockiness.bicubic))
        }
        if let light = report.light, let highlights = light.highlights, let shares = light.shares {
            say(String(format: "light auto: highlights at %.2f–%.2f of white, so %.2f–%.2f of the correction applied (mean %.2f; the whole correction where a frame's highlights stay at %.2f or below, none from %.2f)",
                       highlights.lowerBound, highlights.upperBound, shares.lowerBound, shares.upperBound, light.shareSum / Float(light.pictures),
                       CurveNet.autoRange.lowerBound, CurveNet.autoRange.upperBound))
        }
    }
}

/// What `infer` runs and how it encodes: the settings a preset saves (`hone presets save` takes the same options).
struct InferSettings: ParsableArguments {
    @Option(help: "A checkpoint file, a name from `hone models` (realesrgan-animevideov3-x2, …), or the baseline `bicubic` or `lanczos`. (default: the network a `hone pack` video carries)")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Upscaling factor for the baselines: 1 (restoration: the input as it is), 2, 3 or 4 (a checkpoint has its own). (default: 2)")
    var scale: Int?

    @Flag(help: "Run the network on the 8 flips and 90° turns of each frame and average them (self-ensemble): 8× the time, a little more fidelity (+0.07 to +0.25 dB Y-PSNR measured at ×2).")
    var selfEnsemble = false

    @Option(help: ArgumentHelp("Correct exposure and white balance with a light model (`CurveNet`): auto (the whole correction on a picture whose brightest parts stay at half of white or below, none from 0.65 of white up, so a night grade or an old film is kept), or a strength from 0 (none) to 1 (the whole correction) on every picture. It runs before an enlarging --checkpoint and after a ×1 one (noise is removed before brightening); without --checkpoint the output keeps the input's size.", valueName: "auto|0…1"))
    var light: String?

    @OptionGroup var encoding: EncoderOptions

    func validate() throws {
        if let scale, !(1...4).contains(scale) { throw ValidationError("--scale must be 1 (restoration), 2, 3 or 4, got \(scale)") }
    }

    /// The options given, as a preset (a flag not given is nil, so a saved preset's value stays).
    var given: InferPreset {
        InferPreset(model: checkpoint, scale: scale, light: light, selfEnsemble: selfEnsemble ? true : nil,
                    codec: encoding.codec, crf: encoding.crf, speed: encoding.preset)
    }
}

/// The video encoder's options (`infer`, `join`).
struct EncoderOptions: ParsableArguments {
    static let defaultCRF = 18

    @Option(help: "Video codec: h264 (8-bit, plays everywhere), hevc (10-bit HEVC with HDR10 metadata), av1 (10-bit SVT-AV1: the smallest files; its --crf is 0–63, default 24), prores (ProRes 422 HQ for editing, .mov or .mkv; no CRF) or ffv1 (lossless, for evaluation; use .mkv). (default: h264, or hevc for HDR and wide-gamut sources)")
    var codec: EncoderSettings.Codec?

    @Option(parsing: .unconditional, help: "x264/x265 quality: lower is better and larger (0–51). (default: 18; 12 for `infer --segment`)")
    var crf: Int?

    @Option(help: "x264/x265 speed preset (ultrafast … veryslow). (default: medium)")
    var preset: String?

    func validate() throws {
        if let preset { try Self.check(preset: preset) }
        let most = codec == .av1 ? 63 : 51
        if crf != nil, codec == .prores { throw ValidationError("--crf does not apply to ProRes, whose quality is its profile (422 HQ)") }
        if let crf, !(0...most).contains(crf) { throw ValidationError("--crf must be between 0 and \(most)\(codec == .av1 ? " for AV1" : ""), got \(crf)") }
    }

    func settings() -> EncoderSettings { Self.settings(codec: codec, crf: crf, speed: preset) }

    /// The encoder for these choices, each nil for its default (CRF: `defaultCRF`, or AV1's own).
    static func settings(codec: EncoderSettings.Codec?, crf: Int?, speed: String?, defaultCRF: Int = defaultCRF) -> EncoderSettings {
        EncoderSettings(codec: codec, crf: crf ?? (codec == .av1 ? EncoderSettings.av1CRF : defaultCRF), preset: speed ?? "medium")
    }

    /// The speed presets' names, for checking another command's --preset.
    static func check(preset: String) throws {
        let names = EncoderSettings.speedPresets
        guard names.contains(preset) else { throw ValidationError("--preset must be one of \(names.joined(separator: ", ")), got \(preset)") }
    }
}

extension EncoderSettings.Codec: ExpressibleByArgument {}

extension DecodingOptions.Deinterlace: ExpressibleByArgument {}
