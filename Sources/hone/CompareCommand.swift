import ArgumentParser
import Jobs
import Networks
import Quality
import Training

/// `hone compare`: the pictures people share — the same crop, method by method.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Write a PNG montage of one zoomed crop: input, bicubic, base, fine-tuned (and ground truth), labelled.",
        discussion: """
            With --video, the input is the footage itself; with --gt, it is the ground truth \
            downscaled (antialiased bicubic, 8 bits), and the truth is the last panel. Panels \
            are zoomed by pixel repetition (nearest neighbour, ×--zoom). Without --crop, the \
            crop is the window with the most edges. --toggle also writes a short video that \
            switches between the input and the fine-tuned output every half second, as people \
            share before/after clips.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options.
            """)

    @Option(help: "Real footage to upscale.")
    var video: String?

    @Option(help: "A ground-truth video or image: its downscale is the input and it is shown last.")
    var gt: String?

    @Option(help: "The fine-tuned checkpoint (or a model's name from `hone models`).")
    var checkpoint: String

    @Option(help: "Another fine-tuned checkpoint, shown after the first (e.g. the single-frame model beside a multi-frame one).")
    var also: String?

    @Option(help: "The base checkpoint or model name. (default: checkpoints/base-x<scale>.safetensors when it holds the checkpoint's model, else none)")
    var base: String?

    @Option(help: "Time of the frame, in seconds. (default: the middle)")
    var at: Double?

    @Option(help: "Top-left corner of the crop in output pixels, X,Y. (default: the window with the most edges)")
    var crop: String?

    @Option(help: "Side of the crop in output pixels.")
    var size = 96

    @Option(help: "Zoom of each panel.")
    var zoom = 4

    @Option(name: .shortAndLong, help: "The montage. (default: <input name>.compare.png)")
    var output: String?

    @Option(help: "Also write a 2-second video toggling input and fine-tuned output (.mp4).")
    var toggle: String?

    func validate() throws {
        guard (video == nil) != (gt == nil) else { throw ValidationError("give one of --video and --gt") }
        guard size >= 8, zoom >= 1 else { throw ValidationError("--size must be at least 8 and --zoom at least 1") }
        if let crop, crop.split(separator: ",").compactMap({ Int($0) }).count != 2 { throw ValidationError("--crop takes X,Y, got \(crop)") }
    }

    func run() throws {
        var job = CompareJob(source: gt.map(CompareJob.Source.groundTruth) ?? .footage(video!), checkpoint: try modelPath(checkpoint))
        (job.base, job.at, job.size, job.zoom, job.output, job.toggle) = (try base.map(modelPath), at, size, zoom, output, toggle)
        job.other = try also.map(modelPath)
        job.crop = crop.map { let v = $0.split(separator: ",").compactMap { Int($0) }; return (v[0], v[1]) }
        for line in try job.run() { say(line) }
    }
}
