import CFFmpeg
import Foundation

/// Every video frame's presentation time and duration, and which frames are
/// keyframes, read from the packets alone (nothing is decoded: a film scans in
/// seconds). Segments are cut by it, and the join takes its timestamps from it.
public struct FrameIndex: Sendable {
    public let path: String
    /// Presentation times in the stream's time base, ascending (presentation order).
    public let pts: [Int64]
    /// How long each frame is shown, same units (0: unknown).
    public let durations: [Int64]
    /// Positions in `pts` of the keyframes, ascending.
    public let keyframes: [Int]
    /// File size in bytes, for recognising the same source on another machine.
    public let bytes: Int
    /// Bytes of the video stream's packets alone (what a rate counts).
    public let videoBytes: Int

    public var count: Int { pts.count }

    /// `frameRate` is an image sequence's (nil: 25), as for `MediaInput`.
    /// - Throws: `VideoIOError` naming `path` when it cannot be read, has no
    ///   video frames, or its packets carry no timestamps.
    public init(_ path: String, frameRate: Double? = nil) throws {
        let input = try MediaInput(path, frameRate: frameRate)
        // Only the video's packets are needed: the demuxer may skip the others' data.
        for stream in input.streams where stream.pointee.index != input.videoIndex { stream.pointee.discard = AVDISCARD_ALL }
        var frames: [(pts: Int64, duration: Int64, key: Bool)] = []
        var videoBytes = 0
        try forEachPacket(of: input) { packet in
            videoBytes += Int(packet.pointee.size)
            let time = packet.pointee.pts != Int64.min ? packet.pointee.pts : packet.pointee.dts
            guard time != Int64.min else { throw VideoIOError.failed(path, "its video packets carry no timestamps, so it cannot be cut into segments") }
            frames.append((time, max(packet.pointee.duration, 0), packet.pointee.flags & AV_PKT_FLAG_KEY != 0))
        }
        guard !frames.isEmpty else { throw VideoIOError.failed(path, "has no video frames") }
        frames.sort { $0.pts < $1.pts }
        self.path = path
        pts = frames.map(\.pts)
        durations = frames.map(\.duration)
        keyframes = frames.indices.filter { frames[$0].key }
        self.videoBytes = videoBytes
        bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// What identifies the source across machines: its size, frame count and first and last times.
    public var fingerprint: String { "\(bytes) bytes, \(count) frames, pts \(pts.first!)…\(pts.last!)" }
}

/// Which frames a reader hands out: decoding starts at `seek` (a keyframe's
/// time, or nil for the start of the file), frames before `first` are decoded
/// but dropped (the pre-roll), and the reader ends before the first frame at
/// or after `end`. Times in the stream's time base.
public struct FrameSpan: Sendable, Equatable {
    public let seek: Int64?
    public let first: Int64
    public let end: Int64?
    /// How many frames the span holds.
    public let frames: Int
}

/// Segment `number` of `count` of a video (1-based): an equal share of its
/// frames, cut anywhere — at a keyframe or between two — and decoded from two
/// keyframes before its first frame, so every frame is exactly the one a whole
/// run decodes (open GOPs and deinterlacing look at earlier frames too).
/// `hone infer --segment` writes one; `joinSegments` puts them back together.
public struct VideoSegment: Sendable, Equatable {
    public let number: Int, count: Int
    /// Positions of its frames in presentation order.
    public let frames: Range<Int>
    public let span: FrameSpan

    /// - Throws: `VideoIOError` naming the video when `number` is not in 1…`count`
    ///   or a segment would be empty (more segments than frames).
    public init(number: Int, of count: Int, in index: FrameIndex) throws {
        guard count >= 1, (1...count).contains(number) else {
            throw VideoIOError.failed(index.path, "segment \(number)/\(count) does not exist: segments are numbered 1 to \(max(count, 1))")
        }
        guard count <= index.count else {
            throw VideoIOError.failed(index.path, "has \(index.count) frames, too few for \(count) segments")
        }
        (self.number, self.count) = (number, count)
        let frames = (number - 1) * index.count / count ..< number * index.count / count
        // A segment starts and ends by time, so a cut between two frames of the same time would be ambiguous.
        for cut in [frames.lowerBound, frames.upperBound] where cut > 0 && cut < index.count && index.pts[cut - 1] == index.pts[cut] {
            throw VideoIOError.failed(index.path, "frames \(cut - 1) and \(cut) share a timestamp (\(index.pts[cut])), so segment \(number)/\(count) "
                                      + "cannot be cut exactly there; choose another segment count")
        }
        // The keyframe at or before the first frame, then one more for the pre-roll;
        // none (decode from the start) when the file's first keyframe comes later.
        let seek = frames.lowerBound == 0 ? nil : index.keyframes.lastIndex { $0 <= frames.lowerBound }.map { index.pts[index.keyframes[max($0 - 1, 0)]] }
        self.frames = frames
        span = FrameSpan(seek: seek, first: index.pts[frames.lowerBound],
                         end: frames.upperBound < index.count ? index.pts[frames.upperBound] : nil, frames: frames.count)
    }

    /// "2/3".
    public var name: String { "\(number)/\(count)" }
}

/// The tags a segment file carries (Matroska global tags), so that `join`
/// can check it belongs with the others.
public enum SegmentTag {
    /// "2/3"; the frames it holds, "120-239"; the source's path and fingerprint;
    /// the method that enhanced it; whether the source was tone-mapped; an image sequence's frame rate.
    public static let segment = "HONE_SEGMENT", frames = "HONE_FRAMES", source = "HONE_SOURCE",
                      fingerprint = "HONE_SOURCE_FINGERPRINT", method = "HONE_METHOD", toneMapped = "HONE_TONE_MAPPED",
                      frameRate = "HONE_FRAME_RATE"

    static func tags(for segment: VideoSegment, source: String, index: FrameIndex, method: String, decoding: DecodingOptions) -> [String: String] {
        var tags = [Self.segment: segment.name, frames: "\(segment.frames.lowerBound)-\(segment.frames.upperBound - 1)",
                    Self.source: URL(fileURLWithPath: source).standardizedFileURL.path, fingerprint: index.fingerprint,
                    Self.method: method, Self.toneMapped: decoding.toneMap ? "1" : "0"]
        if let rate = decoding.frameRate { tags[frameRate] = "\(rate)" }
        return tags
    }
}

/// What `joinSegments` did.
public struct JoinReport: Sendable {
    public let frames: Int, segments: Int
    public let seconds: Double
    public let warnings: [String]
}

/// One segment file, opened and its tags read.
private struct SegmentFile {
    let input: MediaInput
    let number: Int, count: Int
    let frames: ClosedRange<Int>
    let tags: [String: String]

    init(_ path: String) throws {
        input = try MediaInput(path)
        tags = input.tags
        let parts = tags[SegmentTag.segment]?.split(separator: "/").compactMap { Int($0) } ?? []
        let range = tags[SegmentTag.frames]?.split(separator: "-").compactMap { Int($0) } ?? []
        guard parts.count == 2, range.count == 2, range[0] <= range[1] else {
            throw VideoIOError.failed(path, "not a segment written by `hone infer --segment` (no \(SegmentTag.segment) and \(SegmentTag.frames) tags)")
        }
        (number, count, frames) = (parts[0], parts[1], range[0]...range[1])
    }
}

/// Puts segments written by `hone infer --segment I/N` back together into
/// `output`, with the source's audio, subtitles and metadata copied once: the
/// result is what one `hone infer` over the whole source writes (the same
/// frames, bit for bit when both use `--codec ffv1`, and the same timestamps,
/// taken from the source). Segments may be given in any order.
/// - Parameter source: the video the segments were cut from (nil: the path they name).
/// - Throws: `VideoIOError` naming the segment or source at fault: not a
///   segment, segments of other runs mixed, a segment missing or given twice,
///   a segment with fewer frames than it should hold, or a write error;
///   whatever `progress` throws. Nothing is left under `output` on failure.
public func joinSegments(_ paths: [String], source: String?, output: String, settings: EncoderSettings = EncoderSettings(),
                         progress: (_ done: Int, _ total: Int) throws -> Void) throws -> JoinReport {
    let start = Date()
    guard let firstPath = paths.first else { throw VideoIOError.failed(output, "no segments to join") }
    let segments = try paths.map(SegmentFile.init)
    let reference = segments[0]
    for (path, s) in zip(paths, segments) {
        for key in [SegmentTag.fingerprint, SegmentTag.method, SegmentTag.toneMapped, SegmentTag.frameRate] where s.tags[key] != reference.tags[key] {
            throw VideoIOError.failed(path, "belongs to another run than \(firstPath) (\(key) \(s.tags[key] ?? "missing") against \(reference.tags[key] ?? "missing"))")
        }
        guard s.count == reference.count, s.input.info.width == reference.input.info.width, s.input.info.height == reference.input.info.height else {
            throw VideoIOError.failed(path, "belongs to another run than \(firstPath) (segment \(s.number)/\(s.count) of \(s.input.info.width)×\(s.input.info.height), "
                                      + "against \(reference.number)/\(reference.count) of \(reference.input.info.width)×\(reference.input.info.height))")
        }
    }
    var byNumber: [Int: (path: String, file: SegmentFile)] = [:]
    for (path, s) in zip(paths, segments) {
        if let other = byNumber[s.number] { throw VideoIOError.failed(path, "segment \(s.number)/\(s.count) is given twice (also \(other.path))") }
        byNumber[s.number] = (path, s)
    }
    let missing = (1...reference.count).filter { byNumber[$0] == nil }
    guard missing.isEmpty else {
        throw VideoIOError.failed(firstPath, "cannot join: segment\(missing.count > 1 ? "s" : "") \(missing.map { "\($0)/\(reference.count)" }.joined(separator: ", ")) "
                                  + "missing (rerun `hone infer --segment` for \(missing.count > 1 ? "them" : "it"))")
    }
    guard let sourcePath = source ?? reference.tags[SegmentTag.source] else { throw VideoIOError.failed(firstPath, "names no source video; pass it") }
    if source == nil, !FileManager.default.fileExists(atPath: sourcePath), !sourcePath.contains("%") {
        throw VideoIOError.failed(sourcePath, "no such file (the video the segments were cut from, as they record it); pass it with --video")
    }
    let frameRate = reference.tags[SegmentTag.frameRate].flatMap(Double.init)
    let index = try FrameIndex(sourcePath, frameRate: frameRate)
    guard index.fingerprint == reference.tags[SegmentTag.fingerprint] else {
        throw VideoIOError.failed(sourcePath, "is not the video the segments were cut from (\(index.fingerprint), the segments say \(reference.tags[SegmentTag.fingerprint] ?? "nothing"))")
    }
    for (number, (path, s)) in byNumber {
        let expected = try VideoSegment(number: number, of: reference.count, in: index).frames
        guard s.frames == expected.lowerBound...(expected.upperBound - 1) else {
            throw VideoIOError.failed(path, "holds frames \(s.frames.lowerBound)-\(s.frames.upperBound) where segment \(number)/\(s.count) of the source has \(expected.lowerBound)-\(expected.upperBound - 1)")
        }
    }

    // The pictures' colour, found as the whole run finds it: from the source's first decoded frame.
    let toneMap = reference.tags[SegmentTag.toneMapped] == "1"
    let probe = try VideoReader(sourcePath, options: DecodingOptions(deinterlace: .off, toneMap: toneMap, frameRate: frameRate))
    _ = try probe.next()
    let sourceInput = try MediaInput(sourcePath, frameRate: frameRate)
    let out = try MediaOutput(output, input: sourceInput, width: reference.input.info.width, height: reference.input.info.height,
                              settings: settings, color: probe.pictureColor)
    do {
        let others = SourcePackets(sourceInput, into: out)
        let timeBase = av_q2d(sourceInput.videoStream.pointee.time_base)
        var written = 0
        for number in 1...reference.count {
            let (path, segment) = byNumber[number]!
            let reader = try VideoReader(segment.input)
            for position in segment.frames {
                guard let frame = try reader.next() else {
                    throw VideoIOError.failed(path, "ends after \(position - segment.frames.lowerBound) of its \(segment.frames.count) frames; rerun segment \(segment.number)/\(segment.count)")
                }
                try others.pass(until: Double(index.pts[position]) * timeBase)
                try out.write(frame.image, alpha: frame.alpha, pts: index.pts[position], duration: index.durations[position])
                written += 1
                try progress(written, index.count)
            }
            if try reader.next() != nil { throw VideoIOError.failed(path, "holds more than its \(segment.frames.count) frames") }
            if let damage = reader.damage { throw VideoIOError.failed(path, "is damaged (\(damage)); rerun segment \(segment.number)/\(segment.count)") }
        }
        try others.pass(until: .infinity)
        try out.finish()
        return JoinReport(frames: written, segments: reference.count, seconds: Date().timeIntervalSince(start), warnings: out.warnings)
    } catch {
        out.abort()
        throw error
    }
}

/// A source's streams other than the video, copied into an output as its
/// frames are written, so the muxer interleaves them.
final class SourcePackets {
    private let source: MediaInput, output: MediaOutput
    private let packet = av_packet_alloc()!
    private var pending = false, ended = false

    init(_ source: MediaInput, into output: MediaOutput) { (self.source, self.output) = (source, output) }
    deinit { var p: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&p) }

    /// Copies the packets that come before `seconds` (the next video frame's time).
    func pass(until seconds: Double) throws {
        while !ended {
            if !pending {
                guard try source.read(into: packet) else { ended = true; return }
                guard packet.pointee.stream_index != source.videoIndex else { av_packet_unref(packet); continue }
                pending = true
            }
            let stream = source.streams[Int(packet.pointee.stream_index)]
            let time = packet.pointee.dts != Int64.min ? packet.pointee.dts : packet.pointee.pts
            if time != Int64.min, Double(time) * av_q2d(stream.pointee.time_base) > seconds { return }
            try output.pass(packet)
            av_packet_unref(packet)
            pending = false
        }
    }
}

/// A segment as people write it: "2/3" is the second of three.
public struct SegmentNumber: Sendable, Equatable, CustomStringConvertible {
    public let number: Int, count: Int

    /// nil unless `text` is I/N with 1 ≤ I ≤ N.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let number = parts[0], let count = parts[1], count >= 1, (1...count).contains(number) else { return nil }
        (self.number, self.count) = (number, count)
    }

    public var description: String { "\(number)/\(count)" }
}
