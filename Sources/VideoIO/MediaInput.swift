import CFFmpeg
import Foundation

/// Everything that can go wrong reading or writing media, each as one line
/// that names the file.
public enum VideoIOError: Error, CustomStringConvertible {
    case missingFile(String)
    case notMedia(String, String)
    case noVideoStream(String)
    case unsupportedCodec(String, String)
    case cannotWrite(String, String)
    case diskFull(String)
    case failed(String, String)
    case interrupted

    public var description: String {
        switch self {
        case .missingFile(let p): "\(p): no such file"
        case .notMedia(let p, let why): "\(p): not a media file FFmpeg can read (\(why))"
        case .noVideoStream(let p): "\(p): has no video stream"
        case .unsupportedCodec(let p, let c): "\(p): unsupported codec \(c)"
        case .cannotWrite(let p, let why): "\(p): cannot write (\(why))"
        case .diskFull(let p): "\(p): disk full"
        case .failed(let p, let what): "\(p): \(what)"
        case .interrupted: "interrupted; no output written"
        }
    }
}

/// A codec tag as people write it ("FMP4"), or "no codec tag"; never raw bytes in a message.
func fourCC(_ tag: UInt32) -> String {
    let bytes = withUnsafeBytes(of: tag.littleEndian) { Array($0) }
    guard tag != 0 else { return "no codec tag" }
    return "FourCC " + bytes.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
}

func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// How a stream's pictures were scanned.
public enum FieldOrder: Sendable, CustomStringConvertible {
    case progressive, topFieldFirst, bottomFieldFirst, unknown

    init(_ order: AVFieldOrder) {
        switch order {
        case AV_FIELD_PROGRESSIVE: self = .progressive
        case AV_FIELD_TT, AV_FIELD_TB: self = .topFieldFirst
        case AV_FIELD_BB, AV_FIELD_BT: self = .bottomFieldFirst
        default: self = .unknown
        }
    }

    public var isInterlaced: Bool { self == .topFieldFirst || self == .bottomFieldFirst }

    public var description: String {
        switch self {
        case .progressive: "progressive"
        case .topFieldFirst: "interlaced, top field first"
        case .bottomFieldFirst: "interlaced, bottom field first"
        case .unknown: "not stated"
        }
    }
}

/// What a caller needs to know of the input's video stream.
public struct VideoInfo: Sendable {
    public let width, height: Int
    public let codec: String
    /// Stream time base as (numerator, denominator): pts × num / den = seconds.
    public let timeBase: (num: Int32, den: Int32)
    public let frameRate: Double
    public let duration: Double
    /// The container's frame count, or duration × frame rate when it has none.
    public let estimatedFrames: Int
    public let rotation: Double
    public let colorSpace: ColorSpace
    /// The primaries and transfer the stream is tagged with (HDR when PQ or HLG).
    public let color: ColorTags
    public let bitDepth: Int
    /// Whether the pictures carry opacity (an alpha plane).
    public let hasAlpha: Bool
    /// A single picture (a PNG, a JPEG), not a video.
    public let isStill: Bool
    public let fieldOrder: FieldOrder

    /// The display rotation in quarter turns counterclockwise, 0…3.
    public var quarterTurns: Int { ((Int((rotation / 90).rounded()) % 4) + 4) % 4 }
}

/// An opened media file or URL: its demuxer and its best video stream.
public final class MediaInput {
    public let path: String
    let format: UnsafeMutablePointer<AVFormatContext>
    let videoIndex: Int32
    public let info: VideoInfo

    /// A file, a URL, `-` (standard input), or an image sequence such as
    /// `frames/%04d.png`, read at `frameRate` frames per second (nil: 25).
    /// - Throws: `VideoIOError` naming `path`: missing, not media, no video stream.
    public init(_ path: String, frameRate: Double? = nil) throws {
        self.path = path
        let isSequence = path.range(of: #"%0?\d*d"#, options: .regularExpression) != nil && !FileManager.default.fileExists(atPath: path)
        if path != "-", !path.contains("://"), !isSequence, !FileManager.default.fileExists(atPath: path) { throw VideoIOError.missingFile(path) }
        av_log_set_level(AV_LOG_FATAL)  // failures reach the user as one line of ours
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        if isSequence { av_dict_set(&options, "framerate", String(frameRate ?? 25), 0) }
        let opened = avformat_open_input(&ctx, path == "-" ? "pipe:0" : path, isSequence ? av_find_input_format("image2") : nil, &options)
        if isSequence, opened == hone_averror(ENOENT) { throw VideoIOError.failed(path, "no picture matches this pattern") }
        guard opened >= 0, let ctx else { throw VideoIOError.notMedia(path, ffmpegMessage(opened)) }
        format = ctx
        let found = avformat_find_stream_info(ctx, nil)
        var best: Int32 = 0
        if found >= 0 { best = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0) }
        if best >= 0, CoverArt.isCover(ctx.pointee.streams[Int(best)]!) {
            // The best-looking stream can be cover art (a large picture beside a small video): never upscale the cover.
            let streams = UnsafeBufferPointer(start: ctx.pointee.streams, count: Int(ctx.pointee.nb_streams)).map { $0! }
            best = streams.first { $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO && !CoverArt.isCover($0) }?.pointee.index
                ?? -1
        }
        guard found >= 0, best >= 0 else {
            let onlyCover = (0..<Int(ctx.pointee.nb_streams)).contains { CoverArt.isCover(ctx.pointee.streams[$0]!) }
            var c: UnsafeMutablePointer<AVFormatContext>? = ctx
            avformat_close_input(&c)
            if found < 0 { throw VideoIOError.notMedia(path, ffmpegMessage(found)) }
            if onlyCover { throw VideoIOError.failed(path, "has no video stream, only cover art") }
            throw VideoIOError.noVideoStream(path)
        }
        videoIndex = best
        let stream = ctx.pointee.streams[Int(best)]!
        let par = stream.pointee.codecpar.pointee
        let rate = stream.pointee.avg_frame_rate.den > 0 ? av_q2d(stream.pointee.avg_frame_rate) : av_q2d(stream.pointee.r_frame_rate)
        let duration = stream.pointee.duration > 0
            ? Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
            : (ctx.pointee.duration > 0 ? Double(ctx.pointee.duration) / Double(AV_TIME_BASE) : 0)
        var rotation = 0.0
        if let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nil) {
            rotation = matrix.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
            if rotation.isNaN { rotation = 0 }
        }
        let pixFmt = AVPixelFormat(rawValue: par.format)
        let desc = av_pix_fmt_desc_get(pixFmt)
        let standard = ColorSpace.standard(height: Int(par.height))
        let matrix: ColorSpace.Matrix = switch par.color_space {
        case AVCOL_SPC_BT709: .bt709
        case AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M, AVCOL_SPC_FCC: .bt601
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: .bt2020
        default: standard.matrix
        }
        let isJPEGFormat = [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P].contains(pixFmt)
        let fullRange = par.color_range == AVCOL_RANGE_JPEG || isJPEGFormat
        let demuxer = String(cString: ctx.pointee.iformat.pointee.name)
        info = VideoInfo(
            width: Int(par.width), height: Int(par.height),
            codec: par.codec_id == AV_CODEC_ID_NONE
                ? "unknown to FFmpeg (\(fourCC(par.codec_tag)))"
                : String(cString: avcodec_get_name(par.codec_id)),
            timeBase: (stream.pointee.time_base.num, stream.pointee.time_base.den),
            frameRate: rate, duration: duration,
            estimatedFrames: stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : Int((duration * rate).rounded()),
            rotation: rotation,
            colorSpace: ColorSpace(matrix: matrix, fullRange: fullRange),
            color: ColorTags(primaries: par.color_primaries, transfer: par.color_trc),
            bitDepth: desc.map { Int($0.pointee.comp.0.depth) } ?? 8,
            hasAlpha: desc.map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0 } ?? false,
            isStill: !isSequence && (demuxer == "image2" || demuxer.hasSuffix("_pipe")),  // png_pipe, jpeg_pipe, …
            fieldOrder: FieldOrder(par.field_order))
    }

    deinit {
        var c: UnsafeMutablePointer<AVFormatContext>? = format
        avformat_close_input(&c)
    }

    var videoStream: UnsafeMutablePointer<AVStream> { format.pointee.streams[Int(videoIndex)]! }

    /// The container's global tags (title, creation time, a segment's HONE_* tags), keys upper-cased.
    public var tags: [String: String] {
        var tags: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>?
        while let e = av_dict_get(format.pointee.metadata, "", entry, AV_DICT_IGNORE_SUFFIX) {
            entry = e
            tags[String(cString: e.pointee.key).uppercased()] = String(cString: e.pointee.value)
        }
        return tags
    }
    var streams: [UnsafeMutablePointer<AVStream>] { (0..<Int(format.pointee.nb_streams)).map { format.pointee.streams[$0]! } }

    /// Reads the next packet into `packet`; false at the end of the file.
    func read(into packet: UnsafeMutablePointer<AVPacket>) throws -> Bool {
        let r = av_read_frame(format, packet)
        if r == hone_averror_eof() { return false }
        guard r >= 0 else { throw VideoIOError.failed(path, "read error: \(ffmpegMessage(r))") }
        return true
    }
}
