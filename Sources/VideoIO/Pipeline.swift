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
/// frame in memory at a time. With `comparison`, a second video shows
/// bicubic (left) against the enhanced frame (right). Nothing appears under
/// either name unless the whole run succeeds; `progress` may throw (e.g. on
/// Ctrl-C) to stop it cleanly.
public func enhanceVideo(input: String, output: String, scale: Int, settings: EncoderSettings = EncoderSettings(),
                         comparison: String? = nil,
                         enhance: (Tensor) throws -> Tensor,
                         progress: (_ done: Int, _ total: Int) throws -> Void) throws -> PipelineReport {
    let start = Date()
    let reader = try VideoReader(input)
    let (w, h) = (reader.info.width * scale, reader.info.height * scale)
    let out = try MediaOutput(output, input: reader.input, width: w, height: h, settings: settings)
    let compare = try comparison.map { try MediaOutput($0, input: reader.input, width: w, height: h, settings: settings) }
    var frames = 0
    do {
        while let frame = try reader.next(other: { packet in try out.pass(packet); try compare?.pass(packet) }) {
            let enhanced = try enhance(frame.image)
            try out.write(enhanced, pts: frame.pts)
            if let compare {
                let bicubic = try resizeBicubic(frame.image, .up(scale))
                try compare.write(splitView(left: bicubic, right: enhanced, leftLabel: "bicubic", rightLabel: "hone"), pts: frame.pts)
            }
            frames += 1
            try progress(frames, max(frames, reader.info.estimatedFrames))
        }
        try out.finish()
        try compare?.finish()
    } catch {
        out.abort()
        compare?.abort()
        throw error
    }
    return PipelineReport(frames: frames, seconds: Date().timeIntervalSince(start), warnings: out.warnings)
}
