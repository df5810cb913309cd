import ArgumentParser
import Jobs
import Networks
import Quality
import Training
import VideoIO

/// `hone join`: segments from `hone infer --segment` back into one video.
struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join the segments `hone infer --segment I/N` wrote into one video with the source's audio, subtitles and metadata.",
        discussion: """
            The result equals one `hone infer` over the whole video: the same frames (bit for bit \
            with --codec ffv1 on both) and the timestamps of the source. Every segment 1…N must be \
            given once, all from one run (source, checkpoint, count); a missing or mismatched one \
            is named, and any segment can be rerun alone.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted.
            """)

    @Argument(help: "The segment files, in any order.")
    var segments: [String]

    @Option(name: .shortAndLong, help: "The joined video: .mp4, .mkv, .mov, or another container FFmpeg writes.")
    var output: String

    @Option(help: "The video the segments were cut from. (default: the path they record)")
    var video: String?

    @OptionGroup var encoding: EncoderOptions

    func validate() throws {
        guard !segments.isEmpty else { throw ValidationError("name the segment files to join") }
    }

    func run() throws {
        var job = JoinJob(segments: segments, output: output)
        (job.source, job.encoder) = (video, encoding.settings())
        let report = try job.run(ConsoleObserver())
        for w in report.warnings { say("note: \(w)") }
        say("wrote \(output): \(report.frames) frames from \(report.segments) segments in \(String(format: "%.1f", report.seconds)) s")
    }
}
