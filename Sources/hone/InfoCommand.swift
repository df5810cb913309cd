import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training
import VideoIO

/// `hone info`: what Hone sees in a video, and optionally how fast it decodes.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a video's stream as Hone reads it: size, rate, frames, colour, rotation, attachments.")

    @Argument(help: "The video (any file or URL FFmpeg reads).")
    var video: String

    @Flag(help: "Decode every frame and report the count and speed.")
    var decode = false

    @Flag(help: "Estimate what the video suffers from (its codec's quantiser, noise, blur) and the damage a ×1 fine-tune (--scale 1) learns to undo.")
    var analyse = false

    func run() throws {
        let reader = try VideoReader(video)
        let i = reader.info
        say("""
            \(video)
              video      \(i.codec) \(i.width)×\(i.height), \(i.bitDepth)-bit, \(i.colorSpace)
              colour     \(i.color)
              rate       \(String(format: "%.3f", i.frameRate)) fps, time base \(i.timeBase.num)/\(i.timeBase.den)
              duration   \(String(format: "%.3f", i.duration)) s, about \(i.estimatedFrames) frames
              scan       \(i.fieldOrder)\(i.fieldOrder.isInterlaced ? " (deinterlaced with bwdif unless --deinterlace off)" : "")
              rotation   \(i.rotation == 0 ? "none" : String(format: "%.0f° counterclockwise: kept as a tag in MP4 and MOV outputs, turned into the pixels in others", i.rotation))
            """)
        for a in video == "-" ? [] : try MediaInput(video).attachments {
            var what = ""
            if a.mimeType == Delivery.mimeType {
                do {
                    let (model, tuning) = try Delivery.decode(a.data, source: video)
                    what = ": a ×\(model.scale) network from `hone pack` (\(tuning.rawValue)), which `hone infer --video` uses"
                } catch let error as FileError {
                    what = ": a network from `hone pack` that cannot be used: \(error.problem)"
                }
            }
            say("  attached   \(a.fileName) (\(a.mimeType), \(kilobytes(a.data.count)))" + what)
        }
        if analyse {
            let estimate = try DamageEstimate.analyse(video)
            say("  damage     \(estimate.summary)")
            say("  restore    a --scale 1 fine-tune with --targets frames learns to undo its frames damaged further: \(estimate.fineTuning.summary)")
        }
        guard decode else { return }
        let observer = ConsoleObserver()
        let progress = observer.progress("decode", unit: "frames")
        defer { observer.finishStage() }
        let start = Date()
        var frames = 0
        while try reader.next() != nil {
            frames += 1
            try progress(frames, max(frames, i.estimatedFrames))
        }
        let seconds = Date().timeIntervalSince(start)
        say("  decoded    \(frames) frames in \(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", Double(frames) / seconds)) fps)")
    }
}
