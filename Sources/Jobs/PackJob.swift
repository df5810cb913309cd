import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// The shipped base for `scale`, which packs are made from and rebuilt on.
/// - Throws: `FileError` when it is not installed beside hone.
func shippedBase(scale: Int) throws -> String {
    let relative = "checkpoints/base-x\(scale).safetensors"
    guard let path = ProjectFiles.find(relative) else {
        throw FileError(relative, "not found beside hone, in share/hone above it, or in the current folder (HONE_HOME names Hone's folder)")
    }
    return path
}

/// `hone pack`: a small video plus what restores it. The sender holds the
/// master, so it fine-tunes on exact pairs — the low-resolution frames the
/// receiver will decode, codec artifacts included, against the master's — and
/// ships what fine-tuning changed (`Delivery`) as a Matroska attachment beside
/// the low-resolution video and the master's audio and subtitles.
public struct PackJob {
    public var master: String
    /// A Matroska file; nil: `<master name>.hone.mkv` in the current folder.
    public var output: String?
    /// The receiver's upscale: 2 or 4.
    public var scale = 2
    /// The low-resolution stream's encoding (H.264; CRF, or a bit rate).
    public var encoder = EncoderSettings(codec: .h264, crf: PackJob.defaultCRF)
    public var tuning = Tuning.channelModulation
    /// Passes over the frames.
    public var epochs = PackJob.defaultEpochs
    /// Config (pixel loss, learning rate); nil: the shipped configs/pack.yaml.
    public var config: String?
    /// Frames learned from per second (nil: every frame, unless they overflow the budget).
    public var sampleRate: Double?
    public var cacheBudget = FrameSampling.defaultBudget

    public static let defaultCRF = 28
    public static let defaultEpochs = 6
    /// A short clip's epochs are lengthened to this many steps: on tears_of_steel.webm
    /// (48 frames, 11 steps an epoch) 308 steps gained 0.43 dB on held-out frames at CRF 28, 66 steps 0.28 dB.
    public static let minimumStepsPerEpoch = 50

    public init(master: String) { self.master = master }

    public var outputPath: String { output ?? outputName(for: master, ".hone.mkv") }

    public struct Report: Sendable {
        public let output: String
        public let frames: Int
        /// Bytes of the low-resolution video stream, of the attachment, and of the whole file (audio included).
        public let videoBytes: Int, attachmentBytes: Int, fileBytes: Int
        /// Held-out frames' Y-PSNR/SSIM of bicubic, the base and the packed network on the decoded stream.
        public let validation: [String: Score]
        public let seconds: Double
    }

    /// A master's frame [1, 3, h, w] cropped at the right and bottom to scale × its pack's stream size (`outputSize`).
    static func cropped(_ info: VideoInfo, scale: Int) -> (Tensor) throws -> Tensor {
        let low = outputSize(width: info.width, height: info.height, .down(scale))
        return { try crop($0, width: low.width * scale, height: low.height * scale) }
    }

    /// A master's frame [1, 3, h, w] as its pack's stream shows it at full size: `cropped`,
    /// and turned upright (Matroska has no rotation tag).
    public static func asPacked(_ info: VideoInfo, scale: Int) -> (Tensor) throws -> Tensor {
        let crop = cropped(info, scale: scale)
        return { frame in info.quarterTurns == 0 ? try crop(frame) : rotated(try crop(frame), quarterTurns: info.quarterTurns) }
    }

    /// - Throws: `UsageError` for an output that is not .mkv or a scale other than 2 or 4;
    ///   `FileError`/`VideoIOError` naming the file at fault; `JobCancelled` (nothing is left).
    public func run(_ observer: JobObserver) throws -> Report {
        let start = Date()
        if master == "-" { throw UsageError("a pack needs a video file: standard input cannot be read twice (to encode and to learn)") }
        guard [2, 4].contains(scale) else { throw UsageError("--scale must be 2 or 4, got \(scale)") }
        guard URL(fileURLWithPath: outputPath).pathExtension.lowercased() == "mkv" else {
            throw UsageError("a pack is a Matroska file, which can carry the network: -o \(outputPath) is not .mkv")
        }
        let lock = try OutputLock(outputPath, inputs: [master])
        defer { withExtendedLifetime(lock) {} }
        var settings = TrainingSettings()
        (settings.scale, settings.config) = (scale, config)
        let config = try settings.loadConfig(fallback: "configs/pack.yaml")
        let basePath = try shippedBase(scale: scale)
        guard StartingModel.shipped.resolved(scale: scale, config: config) == .checkpoint(basePath) else {
            throw UsageError("a pack starts from the shipped ×\(scale) base, which the receiver rebuilds from: the config's model must be its own")
        }
        let info = try MediaInput(master).info
        if info.isStill { throw FileError(master, "is a single picture; a pack holds a video") }
        let low = outputSize(width: info.width, height: info.height, .down(scale))
        guard low.width * scale >= config.training.patch, low.height * scale >= config.training.patch else {
            throw FileError(master, "\(info.width)×\(info.height) is too small to pack at ×\(scale)")
        }

        let sampling = FrameSampling(video: info, rate: sampleRate, budget: cacheBudget / 2)
        try sampling.requireEnoughFrames(of: info, path: master, config: config)

        // Beside the output, so the final rename stays on one disk; removed whatever happens. The output's
        // lock makes this run their only writer, so a run killed outright leaves them for the next to reuse.
        let folder = URL(fileURLWithPath: outputPath).deletingLastPathComponent()
        let stream = folder.appendingPathComponent(".\(URL(fileURLWithPath: outputPath).lastPathComponent).stream.mkv").path
        let checkpoint = folder.appendingPathComponent(".\(URL(fileURLWithPath: outputPath).lastPathComponent).training.ckpt").path
        defer { unlink(stream); unlink(checkpoint) }

        // 1. The low-resolution stream the receiver will decode, with the master's audio and subtitles.
        let rate = encoder.bitRate.map { String(format: "%.0f kbit/s", Double($0) / 1000) } ?? "CRF \(encoder.crf)"
        let (shownWidth, shownHeight) = info.quarterTurns % 2 == 1 ? (low.height, low.width) : (low.width, low.height)
        observer.report("\(master): \(info.width)×\(info.height)\(info.quarterTurns == 0 ? "" : ", turned \(info.quarterTurns * 90)°,") "
                        + "→ \(shownWidth)×\(shownHeight) H.264 at \(rate)")
        let crop = Self.cropped(info, scale: scale)
        _ = try Grad.disabled {
            try enhanceVideo(input: master, output: stream, resize: .down(scale), settings: encoder, enhance: { try resizeBicubic(try crop($0.image), .down(scale)) },
                             progress: observer.progress("encode", unit: "frames"))
        }
        observer.finishStage()
        let videoBytes = try FrameIndex(stream).videoBytes

        // 2. Exact pairs: the decoded stream and the master, the same frames of each,
        //    the master's cropped and turned as the stream's were.
        let decode = observer.progress("decode", unit: "frames")
        let inputs = try FrameCache(video: stream, sampling: sampling, progress: decode)
        let targets = try FrameCache(video: master, sampling: sampling, transform: Self.asPacked(info, scale: scale), progress: decode)
        observer.finishStage()

        // 3. Fine-tune from the shipped base on the pairs.
        unlink(checkpoint)  // one a killed run left
        var run = try TrainingRun(output: checkpoint, resume: false, inputs: [master]) {
            RunRecord(config: config, scale: scale, video: URL(fileURLWithPath: master).standardizedFileURL.path, base: .checkpoint(basePath), epochs: epochs)
        }
        run.savesWhenCancelled = false
        let (model, _) = try loadNetwork(checkpoint: basePath)
        let trainer = try Trainer(model: model, config: config, frames: targets, inputs: .paired(inputs), tuning: tuning, epochs: epochs,
                                  stepsPerEpoch: max(Trainer.stepsPerEpoch(pictures: targets.count, config: config), Self.minimumStepsPerEpoch))
        observer.report("\(targets.count) frame pairs: \(trainer.trainFrames.count) to train on, \(trainer.validationFrames.count) to validate; "
                        + "tuning \(tuning.rawValue) (\((trainer.modulation?.parameters.map(\.tensor) ?? model.parameters).reduce(0) { $0 + $1.count }) numbers); "
                        + "\(trainer.totalSteps) steps")
        try run.train(trainer, trained: "packed", observer: observer)
        // A signal after the last step still stops the pack before anything is written.
        if observer.isCancelled { throw JobCancelled() }
        let trained = try Checkpoint.load(checkpoint)
        let record = try RunRecord(trained, path: checkpoint)

        // 4. One file: the stream, copied, with the network attached beside the master's own attachments (subtitle fonts).
        let data = try Delivery.encode(trained, tuning: tuning, basePath: basePath, path: checkpoint)
        let kept = try MediaInput(master).attachments.filter { $0.mimeType != Delivery.mimeType }
        try remux(stream, to: outputPath, attachments: kept + [Attachment(fileName: Delivery.fileName(scale: scale), mimeType: Delivery.mimeType, data: data)])
        let share = Double(data.count) / Double(videoBytes + data.count)
        if share > 0.05 {
            observer.warn(String(format: "the network is %.0f%% of the pack's video bytes: on a clip this short or at a rate this low its gain may not "
                                 + "pay for its bytes (`hone evaluate --delivery` measures both)", 100 * share))
        }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: outputPath)[.size] as? Int) ?? 0
        return Report(output: outputPath, frames: targets.count, videoBytes: videoBytes, attachmentBytes: data.count, fileBytes: fileBytes,
                      validation: record.validation, seconds: Date().timeIntervalSince(start))
    }
}
