import Autograd
import CFFmpeg
import Foundation

/// A long run's finished work, kept beside its output as parts, so that a run
/// killed at any moment (SIGKILL, a power cut, out of memory) continues where
/// it stopped when the same command is run again.
///
/// The frames are encoded in parts of `partFrames` frames, each a video-only
/// Matroska file in the folder `.<output name>.hone-parts` beside the output,
/// written under a temporary name and renamed when complete, and tagged with
/// what made it. When the last part is done, their packets are put together
/// into the output as they are (no second encode) with the source's audio,
/// subtitles and metadata, and the folder is deleted. Every run goes through
/// the parts, so a resumed run writes the same file as an uninterrupted one.
public struct ResumePlan: Sendable {
    /// The output, and the folder of parts beside it.
    public let output: String, folder: String
    public let index: FrameIndex
    /// Positions (presentation order) of each part's frames.
    public let parts: [Range<Int>]
    /// Parts already written by an earlier run and found whole; the run starts with part `reused`.
    public let reused: Int
    /// What made the parts: they are reused only when every entry still holds.
    public let identity: [String: String]
    /// The pictures' colour, from the source's first frame, as a whole run finds it.
    public let color: PictureColor
    /// What an earlier run left that could not be used, said in one line each.
    public let notes: [String]

    /// The tag of a part (Matroska global tags) for each entry of `identity`.
    static let tagPrefix = "HONE_RESUME_"

    /// Plans the run of `source` into `output` (a video file), looking in the
    /// folder of parts for an earlier run's work: parts made by the same
    /// `identity` (the method, the options, …; the source's fingerprint, part
    /// length and FFmpeg version are added) and holding all their frames are
    /// kept, from the first on; the rest (a killed run's part under way among
    /// them) are deleted. The first frame's colour is probed, as a whole run finds it.
    /// - Throws: `VideoIOError` naming the source (cannot be read or indexed) or the folder (cannot be made).
    public init(source: String, output: String, partFrames: Int, identity: [String: String], decoding: DecodingOptions) throws {
        self.output = output
        let folder = Self.folder(of: output)
        self.folder = folder
        let index = try FrameIndex(source, frameRate: decoding.frameRate)
        self.index = index
        let parts = Self.cut(index, every: max(partFrames, 1))
        self.parts = parts
        var identity = identity
        identity["SOURCE"] = index.fingerprint
        identity["PART_FRAMES"] = "\(partFrames)"
        identity["LIBAVCODEC"] = "\(avcodec_version())"
        self.identity = identity
        let probe = try VideoReader(source, options: DecodingOptions(deinterlace: .off, toneMap: decoding.toneMap, frameRate: decoding.frameRate))
        _ = try probe.next()
        color = probe.pictureColor

        var notes: [String] = []
        let fm = FileManager.default
        if !fm.fileExists(atPath: folder) {
            do { try fm.createDirectory(atPath: folder, withIntermediateDirectories: false) } catch {
                throw VideoIOError.cannotWrite(output, "cannot create the folder \(folder) for its parts")
            }
        }
        var reused = 0
        for (number, frames) in parts.enumerated() {
            guard fm.fileExists(atPath: Self.partPath(folder, number)) else { break }
            if let mismatch = Self.check(Self.partPath(folder, number), frames: frames.count, identity: identity) {
                notes.append("\(folder): \(mismatch); starting \(number == 0 ? "over" : "again at part \(number + 1) of \(parts.count)")")
                break
            }
            reused += 1
        }
        self.reused = reused
        let kept = Set((0..<reused).map { URL(fileURLWithPath: Self.partPath(folder, $0)).lastPathComponent })
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where !kept.contains(name) {
            try? fm.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
        self.notes = notes
    }

    /// The folder of `output`'s parts: `.<output name>.hone-parts` beside it.
    public static func folder(of output: String) -> String {
        let url = URL(fileURLWithPath: output)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).hone-parts").path
    }

    /// Positions cut every `every` frames, each cut moved on past frames that share a timestamp
    /// (a part starts and ends by time).
    static func cut(_ index: FrameIndex, every: Int) -> [Range<Int>] {
        var parts: [Range<Int>] = [], start = 0
        while start < index.count {
            var end = min(start + every, index.count)
            while end < index.count, index.pts[end - 1] == index.pts[end] { end += 1 }
            parts.append(start..<end)
            start = end
        }
        return parts
    }

    static func partPath(_ folder: String, _ number: Int) -> String {
        (folder as NSString).appendingPathComponent(String(format: "part-%06d.mkv", number + 1))
    }

    /// Why the part at `path` cannot be reused (made otherwise, or not holding its `frames` frames); nil: it can.
    static func check(_ path: String, frames: Int, identity: [String: String]) -> String? {
        guard let input = try? MediaInput(path) else { return "part \(URL(fileURLWithPath: path).lastPathComponent) cannot be read" }
        let tags = input.tags
        for key in identity.keys.sorted() where tags[tagPrefix + key] != identity[key] {
            let what = ["SOURCE": "another video", "METHOD": "another checkpoint or method", "PART_FRAMES": "another part length",
                        "LIBAVCODEC": "another FFmpeg", "SCALE": "another scale", "OUTPUT": "another output container",
                        "ENCODER": "other encoder options (codec, CRF, preset)", "DECODING": "other decoding options (deinterlace, tone map, fps)"][key]
            return "its parts were made with \(what ?? "another \(key.lowercased())")"
        }
        var count = 0
        try? forEachPacket(of: input) { _ in count += 1 }
        return count == frames ? nil : "part \(URL(fileURLWithPath: path).lastPathComponent) holds \(count) of its \(frames) frames"
    }

    /// The first frame to run, and the frames decoded before it for a window of `radius`.
    func start(radius: Int) -> (first: Int, context: Int) {
        let first = reused < parts.count ? parts[reused].lowerBound : index.count
        return (first, min(radius, first))
    }

    /// What the reader decodes: from the first frame to run (less `context` frames), from two keyframes before it.
    func span(radius: Int) -> FrameSpan? {
        let (first, context) = start(radius: radius)
        let from = first - context
        guard from > 0 else { return nil }
        let seek = index.keyframes.lastIndex { $0 <= from }.map { index.pts[index.keyframes[max($0 - 1, 0)]] }
        return FrameSpan(seek: seek, first: index.pts[from], end: nil, frames: index.count - from)
    }

    /// Frames already done.
    public var reusedFrames: Int { parts.prefix(reused).reduce(0) { $0 + $1.count } }

    /// Deletes the parts (after the output is complete).
    func removeParts() { try? FileManager.default.removeItem(atPath: folder) }

    /// After a run that stopped: whether any part is finished, for the next run; if none is,
    /// the folder is deleted, so a run that failed at once leaves nothing beside its output.
    public func keepsFinishedParts() -> Bool {
        let finished = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { $0.hasPrefix("part-") && $0.hasSuffix(".mkv") }
        if !finished { removeParts() }
        return finished
    }
}

/// What the pipeline writes frames to: an output file, or the parts of a resumable run.
protocol FrameSink: AnyObject {
    func write(_ image: Tensor, alpha: Tensor?, pts: Int64, duration: Int64) throws
    /// A packet of another stream of the input.
    func pass(_ packet: UnsafeMutablePointer<AVPacket>) throws
    func finish() throws
    func abort()
    var warnings: [String] { get }
}

extension MediaOutput: FrameSink {}

/// Writes a resumable run's frames into its parts, each encoded on its own and
/// renamed into place when complete; other streams wait for `joinParts`.
final class PartWriter: FrameSink {
    private let plan: ResumePlan
    private let make: (_ path: String, _ tags: [String: String]) throws -> MediaOutput
    private var current: MediaOutput?
    /// The part being written, and the position of the next frame.
    private var part: Int, position: Int
    /// What the output cannot carry is said when the parts are put together.
    let warnings: [String] = []

    init(_ plan: ResumePlan, make: @escaping (_ path: String, _ tags: [String: String]) throws -> MediaOutput) {
        (self.plan, self.make) = (plan, make)
        part = plan.reused
        position = plan.reused < plan.parts.count ? plan.parts[plan.reused].lowerBound : plan.index.count
    }

    func write(_ image: Tensor, alpha: Tensor?, pts: Int64, duration: Int64) throws {
        guard part < plan.parts.count else { throw VideoIOError.failed(plan.output, "the source has more frames than its index") }
        if current == nil {
            let tags = Dictionary(uniqueKeysWithValues: plan.identity.map { (ResumePlan.tagPrefix + $0.key, $0.value) })
            current = try make(ResumePlan.partPath(plan.folder, part), tags)
        }
        try current!.write(image, alpha: alpha, pts: pts, duration: duration)
        position += 1
        if position == plan.parts[part].upperBound {
            try current!.finish()
            (current, part) = (nil, part + 1)
        }
    }

    func pass(_ packet: UnsafeMutablePointer<AVPacket>) throws {}

    func finish() throws {
        guard current == nil, part == plan.parts.count else {
            throw VideoIOError.failed(plan.output, "the source ended after \(position) of its \(plan.index.count) frames")
        }
    }

    /// Deletes the part being written; finished parts stay for the next run.
    func abort() {
        current?.abort()
        current = nil
    }
}

/// Puts the parts of `plan` together into its output, their packets as they
/// are, with `source`'s other streams and metadata. Timestamps are the
/// source's (from its index), as a whole run writes them.
/// - Throws: `VideoIOError` naming the part or output at fault.
func joinParts(_ plan: ResumePlan, source: MediaInput, output: MediaOutput) throws {
    let paths = plan.parts.indices.map { ResumePlan.partPath(plan.folder, $0) }
    // Each part's presentation times, in decoding order, put back on the source's clock:
    // the part's own are Matroska's milliseconds, so its k-th smallest is the part's k-th frame.
    var times: [[Int64]] = []
    for (path, frames) in zip(paths, plan.parts) {
        let part = try MediaInput(path)
        var pts: [Int64] = []
        try forEachPacket(of: part) { pts.append($0.pointee.pts) }
        let order = pts.indices.sorted { pts[$0] < pts[$1] }
        guard pts.count == frames.count, Set(pts).count == pts.count else {
            throw VideoIOError.failed(path, "holds \(pts.count) frames, not the \(frames.count) of its part; delete \(plan.folder) and run again")
        }
        var source = [Int64](repeating: 0, count: pts.count)
        for (rank, packet) in order.enumerated() { source[packet] = plan.index.pts[frames.lowerBound + rank] }
        times.append(source)
    }
    // Decoding times: the k-th packet's is the k-th presentation time less the largest reordering delay, as an encoder's are.
    let delay = zip(times, plan.parts).map { pts, frames in
        pts.indices.map { plan.index.pts[frames.lowerBound + $0] - pts[$0] }.max() ?? 0
    }.max() ?? 0

    let others = SourcePackets(source, into: output)
    let timeBase = av_q2d(source.videoStream.pointee.time_base)
    var header: Data?
    for (number, ((path, frames), pts)) in zip(zip(paths, plan.parts), times).enumerated() {
        let part = try MediaInput(path)
        let par = part.videoStream.pointee.codecpar!
        let extradata = par.pointee.extradata.map { Data(bytes: $0, count: Int(par.pointee.extradata_size)) } ?? Data()
        if number == 0 { output.adoptVideoExtradata(from: par) }
        // One stream needs one codec header: an encoder changed between runs (an upgrade) would give another.
        guard extradata == (header ?? extradata) else {
            throw VideoIOError.failed(path, "was encoded with another codec header than the first part; delete \(plan.folder) and run again")
        }
        header = extradata
        var k = 0
        try forEachPacket(of: part) { packet in
            let position = frames.lowerBound + k
            try others.pass(until: Double(plan.index.pts[position]) * timeBase)
            try output.writeEncoded(packet, pts: pts[k], dts: plan.index.pts[position] - delay, duration: plan.index.durations[position])
            k += 1
        }
    }
    try others.pass(until: .infinity)
}

/// Calls `body` with each video packet of `input`, in file order.
func forEachPacket(of input: MediaInput, _ body: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
    guard let packet = av_packet_alloc() else { throw VideoIOError.failed(input.path, "out of memory") }
    var owned: UnsafeMutablePointer<AVPacket>? = packet
    defer { av_packet_free(&owned) }
    while try input.read(into: packet) {
        defer { av_packet_unref(packet) }
        if packet.pointee.stream_index == input.videoIndex { try body(packet) }
    }
}
