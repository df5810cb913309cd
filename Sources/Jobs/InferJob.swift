import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// How a picture is upscaled: a classical kernel or a checkpoint's network.
public enum UpscalingMethod: Equatable, Sendable, CustomStringConvertible {
    /// MATLAB's imresize kernels: Keys' cubic (a = −0.5) and Lanczos-3.
    case bicubic, lanczos
    /// A checkpoint written by `hone finetune` or `hone pretrain`.
    case checkpoint(String)
    /// The network attached to the input video by `hone pack`.
    case attached

    /// `bicubic`, `lanczos`, or a checkpoint's path.
    public init(_ argument: String) {
        switch argument {
        case "bicubic": self = .bicubic
        case "lanczos": self = .lanczos
        default: self = .checkpoint(argument)
        }
    }

    public var description: String {
        switch self {
        case .bicubic: "bicubic"
        case .lanczos: "lanczos"
        case .checkpoint(let path): path
        case .attached: "the network attached to the video"
        }
    }
}

/// A method loaded and ready: a frame [1, 3, h, w], with its neighbours when the
/// network reads them (`radius`), → [1, 3, h·scale, w·scale].
public struct Enhancer {
    public let method: UpscalingMethod
    public let scale: Int
    /// The checkpoint's record; nil for a classical kernel.
    public let record: RunRecord?
    /// Frames read each side of the one enhanced (a multi-frame network's k; else 0).
    public let radius: Int
    public let enhance: (FrameWindow) throws -> Tensor

    /// `scale` is the kernels' factor (nil: 2); a checkpoint has its own, which `scale` must match.
    /// `video` holds the attachment of `.attached`. With `selfEnsemble`, a network runs as its
    /// 8-way self-ensemble (`TiledUpscaler.selfEnsemble`: 8× the time).
    /// - Throws: `FileError` naming a checkpoint or attachment that cannot be read, or a video with none;
    ///   `UsageError` when the network has another scale than `scale`, or for a self-ensemble of a kernel.
    public init(_ method: UpscalingMethod, scale requested: Int?, video: String? = nil, selfEnsemble: Bool = false) throws {
        self.method = method
        func run(_ model: any UpscalingNetwork) throws -> (FrameWindow) throws -> Tensor {
            if model.config.propagation != nil {  // frames come in order: the state is carried from each to the next
                if selfEnsemble { throw UsageError("--self-ensemble: a recurrent network carries one state through the frames; it cannot run 8 ways") }
                let recurrent = try RecurrentUpscaler(model)
                return { try recurrent($0.image) }
            }
            let upscale = TiledUpscaler(model)
            return selfEnsemble ? upscale.selfEnsemble : upscale.callAsFunction
        }
        switch method {
        case .bicubic, .lanczos:
            if selfEnsemble { throw UsageError("--self-ensemble runs a network 8 ways; \(method) gives the same picture every way") }
            let scale = requested ?? 2
            // At ×1 a kernel is the input as it is: no resampling pass on the way.
            enhance = scale == 1 ? { $0.image } : method == .bicubic ? { try resizeBicubic($0.image, .up(scale)) } : { try resizeLanczos($0.image, .up(scale)) }
            (self.scale, record, radius) = (scale, nil, 0)
        case .checkpoint(let path):
            let (model, record) = try loadNetwork(checkpoint: path)
            if model is CurveNet { throw UsageError("\(path) is a light model: pass it as --light-checkpoint with --light") }
            if let requested, requested != model.scale {
                throw UsageError("\(path) is a ×\(model.scale) model; drop --scale or pass --scale \(model.scale)")
            }
            (enhance, scale, self.record, radius) = (try run(model), model.scale, record, model.radius)
        case .attached:
            guard let video, video != "-" else { throw UsageError("--checkpoint is required when the input is standard input") }
            guard let attachment = try Self.attachment(of: video) else {
                throw FileError(video, "holds no network from `hone pack`; pass --checkpoint (a fine-tuned checkpoint, bicubic or lanczos)")
            }
            let (model, _) = try Delivery.decode(attachment.data, source: video)
            if let requested, requested != model.scale {
                throw UsageError("\(video) carries a ×\(model.scale) network; drop --scale or pass --scale \(model.scale)")
            }
            (enhance, scale, record, radius) = (try run(model), model.scale, nil, model.radius)
        }
    }

    /// The network `hone pack` attached to `video`, if any.
    /// - Throws: `VideoIOError` when the video cannot be read.
    public static func attachment(of video: String) throws -> Attachment? {
        try MediaInput(video).attachments.first { $0.mimeType == Delivery.mimeType }
    }
}

/// `hone infer`: an enhanced, upscaled copy of a video with its audio,
/// subtitles and metadata, and optionally a bicubic | enhanced split view.
public struct InferJob {
    public var method: UpscalingMethod
    /// The input: a video, a picture, an image sequence (`frames/%04d.png`), or `-`
    /// for standard input; nil: the video the checkpoint was fine-tuned on.
    public var video: String?
    /// A video, a picture, an image sequence (`out/%04d.png`), a `.gif`, or `-` for
    /// standard output (MPEG-TS); nil: `<input name>.hone-x<scale>.mp4` (`.png` for a picture; `<name>.hone-x<scale>.mkv`
    /// for a pack `<name>.hone.mkv`) in the current folder.
    public var output: String?
    /// The kernels' factor (a checkpoint has its own).
    public var scale: Int?
    /// Where an output named by default goes; nil: the current folder.
    public var outputFolder: String?
    /// Leave an output that is already there and report it `skipped` (a batch run again).
    public var skipWritten = false
    /// A split-view video to write beside the output: bicubic (left) against the enhanced frame (right).
    public var compare: String?
    public var encoder = EncoderSettings()
    /// Deinterlacing, tone mapping, an image sequence's frame rate.
    public var decoding = DecodingOptions()
    /// Run the network as its 8-way self-ensemble (8× the time, a little more PSNR).
    public var selfEnsemble = false
    /// Exposure and white balance corrected by a light model: after a ×1 (restoring) method, before an enlarging one; nil: the light as it is.
    public var light: LightSetting?
    /// Write only this segment of the video (video alone, in Matroska), for
    /// `JoinJob` to put together; nil: the whole video.
    public var segment: SegmentNumber?

    /// Frames per part of a resumable run (`ResumePlan`): a video longer than one part
    /// is encoded in parts kept beside the output, so the same command run again after
    /// a kill continues where it stopped; nil: one encode, started over if killed.
    /// 250 by default, x264's own keyframe interval, so parts add few keyframes.
    public var partFrames: Int? = 250

    /// The CRF a segment is encoded at unless told otherwise: at 4K, 0.11 MB a frame and
    /// 52 dB Y-PSNR from lossless, where FFV1 takes 11.7 MB and 4× longer to join
    /// (measured, notebooks-notes/long-videos.md).
    public static let segmentCRF = 12

    public init(method: UpscalingMethod) { self.method = method }

    public struct Report: Sendable {
        public let output: String
        public let frames: Int
        /// Wall time of the whole run, and the part spent upscaling.
        public let seconds: Double, enhanceSeconds: Double
        /// What could not be carried over (an audio codec re-encoded, a subtitle dropped).
        public let warnings: [String]
        /// No-reference overshoot against the bicubic upscale (at ×1, the input; every 10th frame), in 8-bit luma levels;
        /// nil with `light`, whose brightening would read as overshoot.
        public let overshoot: (mean: Double, p99: Double)?
        /// No-reference blockiness of the output and of the bicubic upscale (`Artifacts.blockiness`; every 10th frame).
        public let blockiness: (output: Double, bicubic: Double)?
        /// What `--light auto` judged of the frames; nil without it.
        public let light: AutoLightTally?
        public let scale: Int
        /// Frames an interrupted run had finished, reused (not counted in `frames`).
        public let reusedFrames: Int
        /// The output was there already and was left as it is (`skipWritten`).
        public let skipped: Bool
    }

    /// - Throws: `UsageError` when no video is given and the method names none;
    ///   `FileError`/`VideoIOError` naming the file at fault; `JobCancelled` (nothing is left under either output name).
    public func run(_ observer: JobObserver) throws -> Report {
        let enhancer = try Enhancer(method, scale: scale, video: video, selfEnsemble: selfEnsemble)
        let curves = try light?.load()
        guard let video = video ?? enhancer.record.flatMap({ $0.video.isEmpty ? nil : $0.video }) else {
            throw UsageError("--video is required with a baseline or a pretrained checkpoint")
        }
        if self.video == nil, !FileManager.default.fileExists(atPath: video) {
            throw FileError(video, "no such file (the video \(method) was fine-tuned on); pass --video")
        }
        let s = enhancer.scale
        // A picture in gives a picture out; standard input can be read only once, so it is not probed.
        let still = output == nil && video != "-" ? try MediaInput(video, frameRate: decoding.frameRate).info.isStill : false
        let part = try segment.map { try Self.plan($0, of: video, frameRate: decoding.frameRate, compare: compare, output: output) }
        // A pack's upscale is Matroska too, so its subtitles stay, and named without the pack's ".hone".
        let named = video == "-" ? "stdin" : method == .attached && video.hasSuffix(".hone.mkv") ? String(video.dropLast(".hone.mkv".count)) + ".mkv" : video
        // A light-corrected output is named apart, so it does not replace the same video's plain ×1 or ×2 output.
        let tag = ".hone-x\(s)" + (light == nil ? "" : "-light")
        let defaultName = outputName(for: named, segment.map { "\(tag).part\($0.number)of\($0.count).mkv" }
                                         ?? "\(tag).\(still ? "png" : method == .attached ? "mkv" : "mp4")")
        let outputPath = output ?? outputFolder.map { URL(fileURLWithPath: $0).appendingPathComponent(defaultName).path } ?? defaultName
        if skipWritten, FileManager.default.fileExists(atPath: outputPath) {
            return Report(output: outputPath, frames: 0, seconds: 0, enhanceSeconds: 0, warnings: [], overshoot: nil, blockiness: nil, light: nil, scale: s,
                          reusedFrames: 0, skipped: true)
        }
        if let compare, compare == outputPath { throw UsageError("--compare and -o name the same file, \(compare)") }
        let inputs = if case .checkpoint(let path) = method { [video, path] } else { [video] }
        let locks = try (outputPath == "-" ? [] : [OutputLock(outputPath, inputs: inputs)])
            + (compare.map { [try OutputLock($0, inputs: inputs + [outputPath])] } ?? [])
        defer { withExtendedLifetime(locks) {} }
        if method == .attached { observer.report("\(video): upscaling ×\(s) with the network `hone pack` attached to it") }
        let resume = try resumePlan(video: video, output: outputPath, scale: s)
        if let resume {
            resume.notes.forEach(observer.report)
            if resume.reused > 0 {
                observer.report("\(outputPath): continuing an interrupted run: \(resume.reusedFrames) of \(resume.index.count) frames "
                                + "(\(resume.reused) of \(resume.parts.count) parts) reused from \(resume.folder)")
            }
        }
        let artifacts = Artifacts.NoReferenceMeter(every: 10, scale: s)
        let splitView = compare.map { path in
            SecondView(path: path) { original, enhanced in
                Jobs.splitView(left: try resizeBicubic(original, .up(s)), right: enhanced, leftLabel: s == 1 ? "input" : "bicubic", rightLabel: "hone")
            }
        }
        defer { observer.finishStage() }
        let report = try Grad.disabled {
            do {
                return try enhanceVideo(input: video, output: outputPath, resize: .up(s), settings: encoder, decoding: decoding, secondView: splitView,
                                        segment: try part.map { ($0.part, $0.index, try methodIdentity(video: video, scale: s)) },
                                        resume: resume, radius: enhancer.radius, enhance: { window in
                    let sr = try curves?.around(window, scale: s, enhancer.enhance) ?? enhancer.enhance(window)
                    try artifacts.add(sr, input: window.image)
                    return sr
                }, progress: observer.progress("infer", unit: "frames"))
            } catch {
                guard let resume, resume.keepsFinishedParts() else { throw error }
                observer.report("the finished parts stay in \(resume.folder): the same command continues from them")
                throw error is JobCancelled ? JobCancelled(saved: resume.folder) : error
            }
        }
        return Report(output: outputPath, frames: report.frames, seconds: report.seconds, enhanceSeconds: report.enhanceSeconds,
                      warnings: report.warnings, overshoot: light == nil ? artifacts.overshoot : nil, blockiness: artifacts.blockiness,
                      light: curves?.strength == .auto ? curves?.tally : nil, scale: s,
                      reusedFrames: resume?.reusedFrames ?? 0, skipped: false)
    }

    /// What enhanced the frames, for a segment's or a part's tags.
    func methodIdentity(video: String, scale: Int) throws -> String {
        try Self.identity(of: method, scale: scale, video: video) + (selfEnsemble ? " ×8" : "") + (light.map { ", \($0)" } ?? "")
    }

    /// The parts of a resumable run, or nil for a run written in one go: standard input or output,
    /// pictures, a GIF, a split view, a segment, or a video no longer than one part.
    func resumePlan(video: String, output: String, scale: Int) throws -> ResumePlan? {
        let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
        guard let partFrames, partFrames > 0, video != "-", output != "-", !output.contains("%"), !["png", "jpg", "jpeg", "gif"].contains(ext),
              compare == nil, segment == nil,
              let input = try? MediaInput(video, frameRate: decoding.frameRate), !input.info.isStill, input.info.estimatedFrames > partFrames
        else { return nil }
        let identity = ["METHOD": try methodIdentity(video: video, scale: scale), "SCALE": "\(scale)",
                        "ENCODER": "\(encoder.codec?.rawValue ?? "auto") crf \(encoder.crf) bitrate \(encoder.bitRate ?? 0) preset \(encoder.preset)",
                        "DECODING": "deinterlace \(decoding.deinterlace) tone-map \(decoding.toneMap) fps \(decoding.frameRate ?? 0)",
                        "OUTPUT": ext]
        return try ResumePlan(source: video, output: output, partFrames: partFrames, identity: identity, decoding: decoding)
    }

    /// Where segment `number` lies in `video`, from its packets.
    /// - Throws: `UsageError` for standard input, a split view or an output other than .mkv; `VideoIOError` naming the video.
    static func plan(_ number: SegmentNumber, of video: String, frameRate: Double?, compare: String?, output: String?) throws -> (part: VideoSegment, index: FrameIndex) {
        if video == "-" { throw UsageError("--segment needs a video file: standard input cannot be cut") }
        if compare != nil { throw UsageError("--compare writes a whole video; drop it with --segment") }
        if let output, URL(fileURLWithPath: output).pathExtension.lowercased() != "mkv" {
            throw UsageError("a segment is written as .mkv, whose tags tell `hone join` where it belongs; -o \(output) is not")
        }
        let index = try FrameIndex(video, frameRate: frameRate)
        return (try VideoSegment(number: number.number, of: number.count, in: index), index)
    }

    /// What segments record of the method, so that `join` refuses to mix two:
    /// a kernel and its scale, or a checkpoint's (or attachment's) file name and its `fingerprint`.
    static func identity(of method: UpscalingMethod, scale: Int, video: String) throws -> String {
        switch method {
        case .bicubic, .lanczos:
            return "\(method) ×\(scale)"
        case .checkpoint(let path):
            guard let bytes = FileManager.default.contents(atPath: path) else { throw FileError(path, "cannot be read") }
            return "\(URL(fileURLWithPath: path).lastPathComponent) (FNV-1a \(fingerprint(bytes)))"
        case .attached:
            let attachment = try Enhancer.attachment(of: video)
            return "\(attachment?.fileName ?? "attachment") (FNV-1a \(fingerprint(attachment?.data ?? Data())))"
        }
    }
}

/// `hone join`: segments written by `hone infer --segment I/N` (on any
/// machines) put back together with the source's audio, subtitles and metadata.
public struct JoinJob {
    public var segments: [String]
    /// The video they were cut from; nil: the path the segments record.
    public var source: String?
    public var output: String
    public var encoder = EncoderSettings()

    public init(segments: [String], output: String) { (self.segments, self.output) = (segments, output) }

    /// - Throws: `VideoIOError`/`FileError` naming the segment, source or output at fault; `JobCancelled` (nothing left under `output`).
    public func run(_ observer: JobObserver) throws -> JoinReport {
        guard !segments.isEmpty else { throw UsageError("name the segments to join") }
        let lock = try OutputLock(output, inputs: segments + (source.map { [$0] } ?? []))
        defer { withExtendedLifetime(lock) {} }
        defer { observer.finishStage() }
        return try Grad.disabled {
            try joinSegments(segments, source: source, output: output, settings: encoder, progress: observer.progress("join", unit: "frames"))
        }
    }
}
