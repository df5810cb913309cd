import Autograd
import Foundation

/// What a finished run did.
public struct PipelineReport: Sendable {
    public let frames: Int
    public let seconds: Double
    public let warnings: [String]
}

/// The path of every frame: decode → RGB tensor → `enhance` → RGB tensor →
/// encode, while the input's audio and subtitles pass through. Streams: one
/// frame in memory at a time. Nothing appears under `output` unless the whole
/// run succeeds; `progress` may throw (e.g. on Ctrl-C) to stop it cleanly.
public func enhanceVideo(input: String, output: String, scale: Int, settings: EncoderSettings = EncoderSettings(),
                         enhance: (Tensor) throws -> Tensor,
                         progress: (_ done: Int, _ total: Int) throws -> Void) throws -> PipelineReport {
    let start = Date()
    let reader = try VideoReader(input)
    let out = try MediaOutput(output, input: reader.input, width: reader.info.width * scale,
                              height: reader.info.height * scale, settings: settings)
    var frames = 0
    do {
        while let frame = try reader.next(other: out.pass) {
            try out.write(try enhance(frame.image), pts: frame.pts)
            frames += 1
            try progress(frames, max(frames, reader.info.estimatedFrames))
        }
        try out.finish()
    } catch {
        out.abort()
        throw error
    }
    return PipelineReport(frames: frames, seconds: Date().timeIntervalSince(start), warnings: out.warnings)
}
