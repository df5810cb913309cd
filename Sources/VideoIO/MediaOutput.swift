import Autograd
import CFFmpeg
import Foundation

/// How the video is encoded.
public struct EncoderSettings: Sendable {
    public enum Codec: String, Sendable, CaseIterable {
        /// H.264 (libx264), 8-bit yuv420p: plays everywhere.
        case h264
        /// HEVC Main 10 (libx265), 10-bit yuv420p10le with HDR10 metadata: what
        /// TVs, phones and browsers decode for HDR (H.264 High 10 has almost no
        /// hardware decoders and no HDR10 signalling in players).
        case hevc
        /// FFV1 in 16-bit RGB: lossless, for evaluation (use a .mkv output).
        case ffv1
        /// AV1 (SVT-AV1), 10-bit yuv420p10le: the smallest files for thin links. Its CRF
        /// has its own scale, 0–63 (`av1CRF` unless given).
        case av1
        /// Apple ProRes 422 HQ (prores_ks), 10-bit 4:2:2, for editing (.mov or .mkv); no CRF.
        case prores
    }
    /// nil: H.264, or HEVC Main 10 for HDR and wide-gamut sources.
    public var codec: Codec?
    public var crf: Int
    /// An average rate in bits a second instead of the CRF (x264/x265's ABR, one pass).
    public var bitRate: Int?
    public var preset: String

    /// AV1's CRF when none is given: 24 gave the Y-PSNR of x264 at CRF 18 (47.06 against 47.09 dB)
    /// in 0.70× the bytes, on chaplin.mp4 upscaled to 1280×720, SVT-AV1 1.4.1 at preset 8 against
    /// x264 medium (notebooks-notes/performance.md).
    public static let av1CRF = 24

    /// The x264/x265 speed presets, fastest first (`preset`).
    public static let speedPresets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]

    public init(codec: Codec? = nil, crf: Int = 18, bitRate: Int? = nil, preset: String = "medium") {
        (self.codec, self.crf, self.bitRate, self.preset) = (codec, crf, bitRate, preset)
    }

    /// The codec for pictures of `color`.
    func codec(for color: PictureColor) -> Codec {
        codec ?? (color.tags.isHDR || color.tags.isWideGamut || color.space.matrix == .bt2020 ? .hevc : .h264)
    }
}

/// The encoder an output gets: the video codec asked for, or the one an image format implies.
enum VideoEncoding: Equatable {
    case video(EncoderSettings.Codec)
    case png, jpeg, gif

    /// - Throws: `VideoIOError.cannotWrite` for an image format Hone does not write.
    init(format: String, fileExtension: String, video: EncoderSettings.Codec, path: String) throws {
        switch format {
        case "image2", "image2pipe":
            switch fileExtension {
            case "png": self = .png
            case "jpg", "jpeg": self = .jpeg
            default: throw VideoIOError.cannotWrite(path, "Hone writes pictures as .png or .jpg")
            }
        case "gif": self = .gif
        default: self = .video(video)
        }
    }

    var name: String {
        switch self {
        case .video(let codec): codec.rawValue
        case .png: "png"
        case .jpeg: "jpeg"
        case .gif: "gif"
        }
    }

    var encoderName: String {
        switch self {
        case .video(.h264): "libx264"
        case .video(.hevc): "libx265"
        case .video(.ffv1): "ffv1"
        case .video(.av1): "libsvtav1"
        case .video(.prores): "prores_ks"
        case .png: "png"
        case .jpeg: "mjpeg"
        case .gif: "gif"
        }
    }

    var holdsAlpha: Bool { self == .video(.ffv1) || self == .png }
    /// Codecs that store RGB, where the YUV matrix plays no part.
    var isRGB: Bool { [.video(.ffv1), .png, .gif].contains(self) }
    var needsEvenSize: Bool { [.video(.h264), .video(.hevc), .video(.av1), .video(.prores), .jpeg].contains(self) }

    /// What frames are converted to, and what the encoder takes (GIF goes through a palette filter between the two).
    func pixelFormats(alpha: Bool) -> (converted: AVPixelFormat, encoded: AVPixelFormat) {
        switch self {
        case .video(.h264): (AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P)
        case .video(.hevc), .video(.av1): (AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV420P10LE)
        case .video(.prores): (AV_PIX_FMT_YUV422P10LE, AV_PIX_FMT_YUV422P10LE)
        case .video(.ffv1): alpha ? (AV_PIX_FMT_GBRAP16LE, AV_PIX_FMT_GBRAP16LE) : (AV_PIX_FMT_GBRP16LE, AV_PIX_FMT_GBRP16LE)
        case .png: alpha ? (AV_PIX_FMT_RGBA64BE, AV_PIX_FMT_RGBA64BE) : (AV_PIX_FMT_RGB48BE, AV_PIX_FMT_RGB48BE)
        case .jpeg: (AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ420P)
        case .gif: (AV_PIX_FMT_RGB24, AV_PIX_FMT_PAL8)
        }
    }
}

/// SVT-AV1's preset (0 slowest … 13) for x264's preset name: medium is SVT's 8, which took
/// 1.33× x264 medium's time at 1280×720 on 2 cores (notebooks-notes/performance.md).
func svtAV1Preset(_ x264: String) -> Int {
    ["ultrafast": 12, "superfast": 11, "veryfast": 10, "faster": 9, "fast": 8, "medium": 8, "slow": 6, "slower": 5, "veryslow": 4, "placebo": 2][x264] ?? 8
}

/// x264 keeps its lookahead frames at full size (about 24 MB each at 3840×2160,
/// 40 of them with the medium preset: 1.6 GB measured). Above 1080p the
/// lookahead is cut to what fits in 256 MB (at least 10 frames, x264's
/// veryfast), never raised past the preset's own (x264's presets).
func x264Lookahead(preset: String, width: Int, height: Int) -> Int? {
    let presets = ["veryfast": 10, "faster": 20, "fast": 30, "medium": 40, "slow": 50, "slower": 60, "veryslow": 60, "placebo": 60]
    let fits = max(10, (256 << 20) / (width * height * 3))
    guard let own = presets[preset], own > fits else { return nil }
    return fits
}

/// Tags that describe the file as it was encoded (statistics, the encoder),
/// which would be wrong on the output; the muxer writes its own.
private let encodingTags: Set<String> = ["encoder", "duration", "number_of_frames", "number_of_bytes", "bps", "vendor_id"]

/// Copies the tags of `source` that still describe the content (title,
/// language, handler name, creation time, …) into `destination`.
func copyTags(_ source: OpaquePointer?, into destination: inout OpaquePointer?) {
    var entry: UnsafeMutablePointer<AVDictionaryEntry>?
    while let e = av_dict_get(source, "", entry, AV_DICT_IGNORE_SUFFIX) {
        entry = e
        let key = String(cString: e.pointee.key).lowercased()
        guard !encodingTags.contains(key), !key.hasPrefix("bps-"), !key.hasPrefix("_statistics") else { continue }
        av_dict_set(&destination, e.pointee.key, e.pointee.value, 0)
    }
}

/// What describes a stream beyond its codec: its tags (language, title) and
/// disposition (default, forced, hearing impaired, …).
/// MP4 keeps a track's name only as its handler name, so a title goes there.
func copyDescription(from input: UnsafeMutablePointer<AVStream>, to output: UnsafeMutablePointer<AVStream>,
                     in format: UnsafeMutablePointer<AVFormatContext>) {
    copyTags(input.pointee.metadata, into: &output.pointee.metadata)
    output.pointee.disposition = input.pointee.disposition
    if String(cString: format.pointee.oformat.pointee.name) == "mp4", let title = av_dict_get(input.pointee.metadata, "title", nil, 0) {
        av_dict_set(&output.pointee.metadata, "handler_name", title.pointee.value, 0)
    }
}

/// `image` [1, c, h, w] turned `quarterTurns` × 90° counterclockwise (as a display matrix's angle).
public func rotated(_ image: Tensor, quarterTurns: Int) -> Tensor {
    let (h, w) = (image.shape[2], image.shape[3])
    let (oh, ow) = quarterTurns % 2 == 1 ? (w, h) : (h, w)
    let channels = image.shape[1]
    let out = Tensor(shape: [1, channels, oh, ow])
    for c in 0..<channels {
        let src = image.data + c * h * w, dst = out.data + c * oh * ow
        for r in 0..<oh { for q in 0..<ow {
            let (y, x) = switch quarterTurns {
            case 1: (q, w - 1 - r)
            case 2: (h - 1 - r, w - 1 - q)
            default: (h - 1 - q, r)
            }
            dst[r * ow + q] = src[y * w + x]
        }}
    }
    return out
}

/// Maps an FFmpeg write error to the one-line error a user should see.
func writeError(_ code: Int32, _ path: String) -> VideoIOError {
    code == hone_averror(ENOSPC) ? .diskFull(path) : .cannotWrite(path, ffmpegMessage(code))
}

/// The output file: the encoded video plus the input's other streams, copied
/// where the container takes their codec and re-encoded where it does not.
/// Written under a temporary name in the same folder and renamed on finish,
/// so the final name never holds a partial file.
public final class MediaOutput {
    public let path: String
    let target: OutputTarget
    let encoding: VideoEncoding
    /// GIF's palette: built from all frames, then applied to each.
    private var palette: FrameFilter?
    let format: UnsafeMutablePointer<AVFormatContext>
    let encoder: UnsafeMutablePointer<AVCodecContext>
    let videoStream: UnsafeMutablePointer<AVStream>
    /// The frames' size, and the encoded size (swapped when the pixels are turned a quarter).
    let width, height: Int
    let encodedWidth, encodedHeight: Int
    /// Whether the frames' opacity is written (the input has it and the codec holds it).
    let keepsAlpha: Bool
    /// Quarter turns counterclockwise given to every frame: the input's rotation, where the container has no tag for it.
    let turns: Int
    let colorSpace: ColorSpace
    private let inputTimeBase: AVRational
    /// Where the input's content starts (AV_TIME_BASE units), taken off every
    /// timestamp so the output starts with its first frame, as ffmpeg does;
    /// 0 when the input starts at or before 0 (an MP4's audio priming).
    let startOffset: Int64
    private var copies: [Int32: (stream: UnsafeMutablePointer<AVStream>, inTimeBase: AVRational)] = [:]
    private var audio: [Int32: AudioTranscoder] = [:]
    /// Cover art carried as attached pictures: each input stream and its output stream.
    private var covers: [(input: UnsafeMutablePointer<AVStream>, output: UnsafeMutablePointer<AVStream>)] = []
    private var converter: PixelConverter?
    /// Each written frame's duration by its pts, until its packet comes out of the encoder.
    private var durations: [Int64: Int64] = [:]
    private let rgb: UnsafeMutablePointer<AVFrame>, yuv: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private var opened = false, finished = false
    /// Whether the encoder has been given a frame.
    private var framesSent = false
    public private(set) var warnings: [String] = []

    /// Video at width×height with the input's timing; the input's audio and
    /// subtitles too (fed through `pass`) unless `videoOnly`. `color` is the
    /// pictures' colour (nil: the input stream's); the output keeps its tags —
    /// primaries, transfer, matrix, range and HDR10 metadata — where the codec
    /// can, and says what it cannot. `tags` are added to the container's (a segment's HONE_* tags).
    /// A rotation the container has no tag for is turned into the pixels unless
    /// `turnsPixels` is false (a segment's frames stay as decoded: the join turns them).
    public init(_ path: String, input: MediaInput, width: Int, height: Int, settings: EncoderSettings = EncoderSettings(),
                color: PictureColor? = nil, videoOnly: Bool = false, turnsPixels: Bool = true, tags: [String: String] = [:]) throws {
        let color = color ?? PictureColor(space: input.info.colorSpace, tags: input.info.color, hdr: nil)
        self.path = path
        (self.width, self.height) = (width, height)
        (target, encoding) = try Self.check(path, frames: input.info.estimatedFrames, width: width, height: height, codec: settings.codec(for: color))
        let (ofmt, formatName, ext) = (target.format, target.formatName, target.fileExtension)
        // MP4 and MOV carry a rotation tag; elsewhere the pixels are turned, so players show the same picture.
        let holdsRotation = Self.holdsRotation(formatName)
        turns = holdsRotation || !turnsPixels ? 0 : input.info.quarterTurns
        (encodedWidth, encodedHeight) = turns % 2 == 1 ? (height, width) : (width, height)
        var oc: UnsafeMutablePointer<AVFormatContext>?
        guard avformat_alloc_output_context2(&oc, ofmt, nil, target.writePath) >= 0, let oc else {
            throw VideoIOError.cannotWrite(path, "cannot create the output container")
        }
        if formatName == "image2", target.kind == .file { av_opt_set(oc.pointee.priv_data, "update", "1", 0) }  // one named picture, no number
        format = oc
        packet = av_packet_alloc()
        // SDR keeps the matrix players expect at the output's size (a real conversion, tagged);
        // HDR and wide gamut keep the source's own, as the model saw its coded values.
        let keepsSource = color.tags.isHDR || color.tags.isWideGamut || color.space.matrix == .bt2020
        colorSpace = encoding.isRGB ? ColorSpace(matrix: .bt709, fullRange: true)
            : encoding == .jpeg ? ColorSpace(matrix: .bt601, fullRange: true)
            : keepsSource ? ColorSpace(matrix: color.space.matrix, fullRange: false) : .standard(height: height)
        inputTimeBase = input.videoStream.pointee.time_base
        let start = input.format.pointee.start_time
        startOffset = start == Int64.min || start < 0 ? 0 : start

        // Video encoder.
        let encoderName = encoding.encoderName
        guard let videoCodec = avcodec_find_encoder_by_name(encoderName), let enc = avcodec_alloc_context3(videoCodec),
              let vs = avformat_new_stream(oc, nil) else {
            throw VideoIOError.cannotWrite(path, "encoder \(encoderName) is not available in this FFmpeg")
        }
        (encoder, videoStream) = (enc, vs)
        keepsAlpha = input.info.hasAlpha && encoding.holdsAlpha
        if input.info.hasAlpha && !keepsAlpha {
            warnings.append("transparency dropped: \(encoding.name) has no alpha channel; --codec ffv1 with a .mkv output, or .png pictures, keep it")
        }
        let (convertedFormat, pixFmt) = encoding.pixelFormats(alpha: keepsAlpha)
        enc.pointee.width = Int32(encodedWidth)
        enc.pointee.height = Int32(encodedHeight)
        enc.pointee.pix_fmt = pixFmt
        enc.pointee.time_base = inputTimeBase  // input timestamps pass through unchanged
        enc.pointee.framerate = input.videoStream.pointee.avg_frame_rate
        enc.pointee.sample_aspect_ratio = input.videoStream.pointee.codecpar.pointee.sample_aspect_ratio
        enc.pointee.field_order = AV_FIELD_PROGRESSIVE  // whole pictures: interlaced input is deinterlaced first (unless asked not to)
        enc.pointee.thread_count = 0
        // Tags: the source's primaries and transfer as they are (the pixels keep them; only the matrix may
        // change), and where the source says nothing, those that go with the matrix written.
        let matrixTags: (AVColorPrimaries, AVColorTransferCharacteristic) = colorSpace.matrix == .bt709
            ? (AVCOL_PRI_BT709, AVCOL_TRC_BT709) : (AVCOL_PRI_SMPTE170M, AVCOL_TRC_SMPTE170M)
        enc.pointee.color_primaries = color.tags.primaries != AVCOL_PRI_UNSPECIFIED ? color.tags.primaries : matrixTags.0
        enc.pointee.color_trc = color.tags.transfer != AVCOL_TRC_UNSPECIFIED ? color.tags.transfer : matrixTags.1
        enc.pointee.colorspace = encoding.isRGB ? AVCOL_SPC_RGB : colorSpace.tag
        enc.pointee.color_range = colorSpace.fullRange ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        switch encoding {
        case .video(.h264):
            if let bitRate = settings.bitRate { enc.pointee.bit_rate = Int64(bitRate) } else { av_opt_set(enc.pointee.priv_data, "crf", "\(settings.crf)", 0) }
            av_opt_set(enc.pointee.priv_data, "preset", settings.preset, 0)
            if let lookahead = x264Lookahead(preset: settings.preset, width: width, height: height) {
                av_opt_set(enc.pointee.priv_data, "rc-lookahead", "\(lookahead)", 0)
                // One frame thread per core instead of x264's 1.5: each holds frames too (110 MB less at 4K).
                enc.pointee.thread_count = Int32(ProcessInfo.processInfo.activeProcessorCount)
            }
            if keepsSource {
                warnings.append("8-bit H.264 for a \(color.tags.isHDR ? "HDR" : "wide-gamut") source keeps its colour tags but not its 10 bits"
                                + (color.hdr != nil ? " nor its HDR10 metadata in the stream (only in the container)" : "") + "; --codec hevc keeps both")
            }
        case .video(.hevc):
            if let bitRate = settings.bitRate { enc.pointee.bit_rate = Int64(bitRate) } else { av_opt_set(enc.pointee.priv_data, "crf", "\(settings.crf)", 0) }
            av_opt_set(enc.pointee.priv_data, "preset", settings.preset, 0)
            let hdr10 = color.tags.isHDR ? ["hdr10=1", "repeat-headers=1", color.hdr?.x265Parameters ?? ""].filter { !$0.isEmpty } : []
            av_opt_set(enc.pointee.priv_data, "x265-params", (["log-level=error"] + hdr10).joined(separator: ":"), 0)
            if ["mp4", "mov"].contains(formatName) { vs.pointee.codecpar.pointee.codec_tag = 0x3163_7668 }  // 'hvc1', as Apple's players want
        case .video(.ffv1):
            enc.pointee.level = 3  // FFV1 version 3: needed for slice threads
        case .video(.av1):
            if let bitRate = settings.bitRate { enc.pointee.bit_rate = Int64(bitRate) } else { av_opt_set(enc.pointee.priv_data, "crf", "\(settings.crf)", 0) }
            av_opt_set(enc.pointee.priv_data, "preset", "\(svtAV1Preset(settings.preset))", 0)
            setenv("SVT_LOG", "1", 0)  // SVT-AV1 prints its configuration to stderr unless told errors only
        case .video(.prores):
            av_opt_set(enc.pointee.priv_data, "profile", "hq", 0)
            av_opt_set(enc.pointee.priv_data, "vendor", "apl0", 0)  // as Apple's encoder signs it; some players look for it
        case .jpeg:
            enc.pointee.flags |= AV_CODEC_FLAG_QSCALE
            enc.pointee.global_quality = 2 * FF_QP2LAMBDA  // near the best MJPEG quality, as for stills people keep
        case .png, .gif:
            break
        }
        if ofmt.pointee.flags & AVFMT_GLOBALHEADER != 0 { enc.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        let r = avcodec_open2(enc, videoCodec, nil)
        guard r >= 0 else { throw VideoIOError.cannotWrite(path, "cannot open \(encoderName): \(ffmpegMessage(r))") }
        let tag = vs.pointee.codecpar.pointee.codec_tag
        avcodec_parameters_from_context(vs.pointee.codecpar, enc)
        vs.pointee.codecpar.pointee.codec_tag = tag
        color.hdr?.attach(to: vs)
        vs.pointee.time_base = enc.pointee.time_base
        vs.pointee.avg_frame_rate = enc.pointee.framerate
        copyDescription(from: input.videoStream, to: vs, in: oc)
        copyTags(input.format.pointee.metadata, into: &oc.pointee.metadata)
        for (key, value) in tags { av_dict_set(&oc.pointee.metadata, key, value, 0) }
        // Keep the rotation tag so players turn the output as they turned the input.
        if holdsRotation, let matrix = av_stream_get_side_data(input.videoStream, AV_PKT_DATA_DISPLAYMATRIX, nil),
           let copy = av_stream_new_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, 36) {
            copy.update(from: matrix, count: 36)
        }
        if turns != 0 {
            warnings.append("rotation \(turns * 90)° turned into the pixels: .\(ext) has no rotation tag")
        }

        rgb = try allocateFrame(width: encodedWidth, height: encodedHeight, format: keepsAlpha ? AV_PIX_FMT_GBRAP16LE : AV_PIX_FMT_GBRP16LE)
        yuv = try allocateFrame(width: encodedWidth, height: encodedHeight, format: convertedFormat)
        if encoding == .gif {
            // One palette for the whole clip, from every frame (palettegen), then each frame dithered to it: GIF's 256 colours used well.
            palette = try FrameFilter("split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=sierra2_4a",
                                      first: yuv, timeBase: inputTimeBase, path: path)
        }

        // Other streams: audio and subtitles, copied or re-encoded; cover art; attachments (subtitle fonts) into Matroska.
        for stream in input.streams where stream.pointee.index != input.videoIndex && !videoOnly {
            let par = stream.pointee.codecpar!
            let kind = par.pointee.codec_type
            let name = String(cString: avcodec_get_name(par.pointee.codec_id))
            if CoverArt.isCover(stream) {
                switch CoverArt.add(stream, to: oc) {
                case .picture(let out): covers.append((stream, out))
                case .attachment: break
                case nil: warnings.append("cover art (\(name)) dropped: .\(ext) does not hold it; .mp4 and .mkv do")
                }
                continue
            }
            if kind == AVMEDIA_TYPE_ATTACHMENT {
                func tag(_ key: String) -> String { av_dict_get(stream.pointee.metadata, key, nil, 0).map { String(cString: $0.pointee.value) } ?? "" }
                guard tag("mimetype") != Attachment.honeNetworkMIMEType else { continue }
                if formatName == "matroska", let out = avformat_new_stream(oc, nil) {
                    avcodec_parameters_copy(out.pointee.codecpar, par)
                    copyTags(stream.pointee.metadata, into: &out.pointee.metadata)
                } else {
                    warnings.append("attachment \(tag("filename").isEmpty ? name : tag("filename")) dropped: only .mkv holds attachments")
                }
                continue
            }
            guard kind == AVMEDIA_TYPE_AUDIO || kind == AVMEDIA_TYPE_SUBTITLE else { continue }
            if Self.canCopy(par.pointee.codec_id, kind: kind, into: ofmt) {
                guard let out = avformat_new_stream(oc, nil) else { continue }
                avcodec_parameters_copy(out.pointee.codecpar, par)
                out.pointee.codecpar.pointee.codec_tag = 0
                out.pointee.time_base = stream.pointee.time_base
                copyDescription(from: stream, to: out, in: oc)
                copies[stream.pointee.index] = (out, stream.pointee.time_base)
            } else if kind == AVMEDIA_TYPE_AUDIO, ofmt.pointee.audio_codec != AV_CODEC_ID_NONE {
                let transcoder = try AudioTranscoder(stream, into: oc, codec: ofmt.pointee.audio_codec, path: path)
                copyDescription(from: stream, to: transcoder.stream, in: oc)
                audio[stream.pointee.index] = transcoder
                warnings.append("audio \(name) is re-encoded: \(ext) does not take it as it is")
            } else {
                warnings.append("\(kind == AVMEDIA_TYPE_AUDIO ? "audio" : "subtitles") (\(name)) dropped: .\(ext) \(formatName == "gif" || formatName.hasPrefix("image2") ? "holds pictures only" : "does not take them")")
            }
        }
    }

    /// Refuses, before anything is encoded, what an output at `path` cannot be: an
    /// unknown container, a codec it cannot hold, odd sizes for 4:2:0, several frames
    /// into one picture. A resumable run checks its output so, before its parts.
    /// - Returns: where the output goes and how its video is encoded.
    /// - Throws: `VideoIOError.cannotWrite` naming `path`.
    static func check(_ path: String, frames: Int, width: Int, height: Int, codec: EncoderSettings.Codec) throws -> (OutputTarget, VideoEncoding) {
        let target = try OutputTarget(path, pipeFormat: codec == .ffv1 ? "nut" : "mpegts")
        let (formatName, ext) = (target.formatName, target.fileExtension)
        let encoding = try VideoEncoding(format: formatName, fileExtension: ext, video: codec, path: path)
        if formatName == "image2", target.kind == .file, frames > 1 {
            throw VideoIOError.cannotWrite(path, "one picture holds one frame; write a sequence such as out/%04d.png, or a .gif")
        }
        if encoding.needsEvenSize, width % 2 != 0 || height % 2 != 0 {
            throw VideoIOError.cannotWrite(path, "\(encoding.name) in 4:2:0 needs even sizes, got \(width)×\(height)")
        }
        guard let encoder = avcodec_find_encoder_by_name(encoding.encoderName) else {
            throw VideoIOError.cannotWrite(path, "encoder \(encoding.encoderName) is not available in this FFmpeg")
        }
        // 1: held, 0: not, negative: the muxer does not say (MPEG-TS, NUT), and it is tried.
        // FFmpeg 5.1's MOV writer names AV1 but refuses it at the header; only these hold it.
        let holds = encoding == .video(.av1) ? ["mp4", "matroska", "webm"].contains(formatName)
            : avformat_query_codec(target.format, encoder.pointee.id, FF_COMPLIANCE_NORMAL) != 0
        guard holds else {
            let fits = switch encoding { case .video(.ffv1): ".mkv"; case .video(.prores): ".mov or .mkv"; default: ".mp4 or .mkv" }
            throw VideoIOError.cannotWrite(path, "a .\(ext) file cannot hold \(encoding.name) video; use \(fits)")
        }
        return (target, encoding)
    }

    /// Whether a container (libavformat's name) has a rotation tag.
    static func holdsRotation(_ formatName: String) -> Bool { ["mp4", "mov", "3gp", "3g2", "ipod"].contains(formatName) }

    /// MP4 and MOV muxers accept codecs (Vorbis, say) that few players play
    /// from them, so there only the widely played audio codecs are copied.
    /// A muxer with no default audio codec (GIF, pictures) holds no sound.
    /// Subtitles go wherever the muxer says it writes them (a .mov takes EIA-608
    /// captions, though it has no default subtitle codec); one that cannot tell takes none.
    static func canCopy(_ codec: AVCodecID, kind: AVMediaType, into ofmt: UnsafePointer<AVOutputFormat>) -> Bool {
        let name = String(cString: ofmt.pointee.name)
        if kind == AVMEDIA_TYPE_AUDIO {
            guard ofmt.pointee.audio_codec != AV_CODEC_ID_NONE else { return false }
            if name.contains("mp4") || name.contains("mov") {
                return [AV_CODEC_ID_AAC, AV_CODEC_ID_MP3, AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_ALAC].contains(codec)
            }
        }
        let accepted = avformat_query_codec(ofmt, codec, FF_COMPLIANCE_NORMAL)  // < 0: the muxer cannot tell
        return kind == AVMEDIA_TYPE_AUDIO ? accepted != 0 : accepted == 1
    }

    deinit {
        if !finished { abort() }
        // SVT-AV1 1.4 never returns from closing an encoder that got no frame (a run that failed
        // before its first): that one is left for the process's exit, so the error is still said.
        if encoding != .video(.av1) || framesSent {
            var c: UnsafeMutablePointer<AVCodecContext>? = encoder
            avcodec_free_context(&c)
        }
        var f: UnsafeMutablePointer<AVFrame>? = rgb
        av_frame_free(&f)
        f = yuv
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        avformat_free_context(format)
    }

    /// Whether the muxer opens its own files (an image sequence's).
    private var opensOwnFiles: Bool { format.pointee.oformat.pointee.flags & AVFMT_NOFILE != 0 }

    /// Opens the temporary file (or standard output) and writes the container header.
    private func open() throws {
        guard !opened else { return }
        try target.prepare()
        if !opensOwnFiles {
            let r = avio_open(&format.pointee.pb, target.writePath, AVIO_FLAG_WRITE)
            guard r >= 0 else { throw VideoIOError.cannotWrite(path, ffmpegMessage(r)) }
        }
        opened = true
        let r = avformat_write_header(format, nil)
        guard r >= 0 else { throw writeError(r, path) }
        for cover in covers { try CoverArt.writePicture(of: cover.input, to: cover.output, in: format, path: path) }
    }

    /// Encodes one RGB frame ([1, 3, height, width], values in [0, 1]) and its
    /// opacity (`alpha`, [1, 1, height, width], kept where the codec can) at
    /// `pts`, shown for `duration` (0: until the next frame), in the input's video time base.
    public func write(_ image: Tensor, alpha: Tensor? = nil, pts: Int64, duration: Int64 = 0) throws {
        try open()
        guard image.shape == [1, 3, height, width] else {
            throw VideoIOError.failed(path, "frame \(image.shape) does not match the output size \(width)×\(height)")
        }
        if converter == nil {
            converter = try PixelConverter(width: encodedWidth, height: encodedHeight, from: AVPixelFormat(rawValue: rgb.pointee.format),
                                           to: AVPixelFormat(rawValue: yuv.pointee.format), colorSpace: colorSpace, path: path)
        }
        guard av_frame_make_writable(yuv) >= 0 else { throw VideoIOError.failed(path, "out of memory") }
        func upright(_ t: Tensor) -> Tensor { turns == 0 ? t : rotated(t, quarterTurns: turns) }
        fill(gbrp16: rgb, from: upright(image), alpha: keepsAlpha ? alpha.map(upright) : nil, width: encodedWidth, height: encodedHeight)
        converter!.convert(rgb, into: yuv)
        yuv.pointee.pts = pts - shift(inputTimeBase)
        // x264 gives its packets no duration, so the last frame's would be guessed from the frame rate (wrong for VFR).
        if duration > 0 { durations[yuv.pointee.pts] = duration }
        guard let palette else { return try encode(yuv) }
        try palette.push(yuv)
        try encodeFiltered()
    }

    /// Encodes what the palette filter has ready.
    private func encodeFiltered() throws {
        guard let palette, let frame = av_frame_alloc() else { return }
        var owned: UnsafeMutablePointer<AVFrame>? = frame
        defer { av_frame_free(&owned) }
        while try palette.pull(into: frame) {
            defer { av_frame_unref(frame) }
            try encode(frame)
        }
    }

    /// Sends a frame (nil flushes) and writes every packet the encoder has ready.
    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        guard frame != nil || framesSent || encoding != .video(.av1) else { return }  // SVT-AV1 1.4 hangs on an end with no frames
        framesSent = framesSent || frame != nil
        var r = avcodec_send_frame(encoder, frame)
        guard r >= 0 || r == hone_averror_eof() else { throw VideoIOError.failed(path, "video encoding failed: \(ffmpegMessage(r))") }
        while true {
            r = avcodec_receive_packet(encoder, packet)
            if r == hone_averror_eagain() || r == hone_averror_eof() { return }
            guard r >= 0 else { throw VideoIOError.failed(path, "video encoding failed: \(ffmpegMessage(r))") }
            if let duration = durations.removeValue(forKey: packet.pointee.pts) { packet.pointee.duration = duration }
            av_packet_rescale_ts(packet, encoder.pointee.time_base, videoStream.pointee.time_base)
            packet.pointee.stream_index = videoStream.pointee.index
            try mux(packet)
        }
    }

    func mux(_ packet: UnsafeMutablePointer<AVPacket>) throws {
        let r = av_interleaved_write_frame(format, packet)
        guard r >= 0 else { throw writeError(r, path) }
    }

    /// Takes a packet of one of the input's other streams: copied or re-encoded.
    /// Works on its own reference, so several outputs can take the same packet.
    func pass(_ input: UnsafeMutablePointer<AVPacket>) throws {
        try open()
        guard let packet = av_packet_clone(input) else { throw VideoIOError.failed(path, "out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        let index = packet.pointee.stream_index
        if let (stream, inTimeBase) = copies[index] {
            let offset = shift(inTimeBase)
            if packet.pointee.pts != Int64.min { packet.pointee.pts -= offset }
            if packet.pointee.dts != Int64.min { packet.pointee.dts -= offset }
            av_packet_rescale_ts(packet, inTimeBase, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            packet.pointee.pos = -1
            try mux(packet)
        } else if let transcoder = audio[index] {
            try transcoder.push(packet, output: self)
        }
    }

    /// Takes the video stream's codec header (H.264's SPS and PPS, …) from `parameters`:
    /// those of parts written with the same settings, whose packets `writeEncoded` muxes
    /// as they are (a Matroska part's H.264 is avcC and length-prefixed, the encoder's Annex B).
    func adoptVideoExtradata(from parameters: UnsafePointer<AVCodecParameters>) {
        let par = videoStream.pointee.codecpar!
        av_freep(&par.pointee.extradata)
        par.pointee.extradata_size = 0
        let size = Int(parameters.pointee.extradata_size)
        guard size > 0, let bytes = av_mallocz(size + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else { return }
        bytes.copyMemory(from: parameters.pointee.extradata, byteCount: size)
        par.pointee.extradata = bytes.assumingMemoryBound(to: UInt8.self)
        par.pointee.extradata_size = Int32(size)
    }

    /// Muxes a video packet encoded elsewhere with this output's settings (a part of a
    /// resumable run), at `pts` and `dts`, shown for `duration`, in the input's video time base.
    func writeEncoded(_ encoded: UnsafeMutablePointer<AVPacket>, pts: Int64, dts: Int64, duration: Int64) throws {
        try open()
        guard let packet = av_packet_clone(encoded) else { throw VideoIOError.failed(path, "out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        let offset = shift(inputTimeBase)
        (packet.pointee.pts, packet.pointee.dts, packet.pointee.duration) = (pts - offset, dts - offset, duration)
        av_packet_rescale_ts(packet, inputTimeBase, videoStream.pointee.time_base)
        packet.pointee.stream_index = videoStream.pointee.index
        packet.pointee.pos = -1
        try mux(packet)
    }

    /// The start offset in `timeBase` units.
    func shift(_ timeBase: AVRational) -> Int64 { av_rescale_q(startOffset, AVRational(num: 1, den: AV_TIME_BASE), timeBase) }

    /// Flushes the encoders, writes the trailer and moves the file to its final name.
    public func finish() throws {
        try open()
        if let palette {
            try palette.push(nil)
            try encodeFiltered()
        }
        try encode(nil)
        for transcoder in audio.values { try transcoder.push(nil, output: self) }
        var r = av_write_trailer(format)
        guard r >= 0 else { throw writeError(r, path) }
        if !opensOwnFiles {
            r = avio_closep(&format.pointee.pb)
            guard r >= 0 else { throw writeError(r, path) }
        }
        try target.commit()
        finished = true
    }

    /// Closes and deletes what was written; the final name is never touched.
    public func abort() {
        if opened, !opensOwnFiles, format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
        target.discard()
        finished = true
    }
}

/// Decodes an audio stream and re-encodes it with the container's default
/// codec (AAC for .mp4), resampling to what that encoder takes.
final class AudioTranscoder {
    let decoder: UnsafeMutablePointer<AVCodecContext>, encoder: UnsafeMutablePointer<AVCodecContext>
    let stream: UnsafeMutablePointer<AVStream>
    let resampler: OpaquePointer
    let fifo: OpaquePointer
    let frame: UnsafeMutablePointer<AVFrame>, packet: UnsafeMutablePointer<AVPacket>
    let path: String
    private var nextPts: Int64 = 0
    private var firstPts: Int64?

    init(_ input: UnsafeMutablePointer<AVStream>, into oc: UnsafeMutablePointer<AVFormatContext>, codec: AVCodecID, path: String) throws {
        self.path = path
        let par = input.pointee.codecpar!
        guard let dc = avcodec_find_decoder(par.pointee.codec_id), let dec = avcodec_alloc_context3(dc),
              let ec = avcodec_find_encoder(codec), let enc = avcodec_alloc_context3(ec),
              let out = avformat_new_stream(oc, nil), let f = av_frame_alloc(), let p = av_packet_alloc() else {
            throw VideoIOError.unsupportedCodec(path, "audio \(String(cString: avcodec_get_name(par.pointee.codec_id)))")
        }
        (decoder, encoder, stream, frame, packet) = (dec, enc, out, f, p)
        avcodec_parameters_to_context(dec, par)
        dec.pointee.pkt_timebase = input.pointee.time_base
        guard avcodec_open2(dec, dc, nil) >= 0 else { throw VideoIOError.unsupportedCodec(path, "audio decoder") }
        enc.pointee.sample_rate = Self.sampleRate(of: ec, nearest: dec.pointee.sample_rate)
        av_channel_layout_copy(&enc.pointee.ch_layout, &dec.pointee.ch_layout)
        if enc.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&enc.pointee.ch_layout, dec.pointee.ch_layout.nb_channels)
        }
        enc.pointee.sample_fmt = ec.pointee.sample_fmts?.pointee ?? AV_SAMPLE_FMT_FLTP
        enc.pointee.bit_rate = 192_000
        enc.pointee.time_base = AVRational(num: 1, den: enc.pointee.sample_rate)  // one tick a sample, at the encoder's rate
        if oc.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 { enc.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        let r = avcodec_open2(enc, ec, nil)
        guard r >= 0 else { throw VideoIOError.cannotWrite(path, "cannot open audio encoder: \(ffmpegMessage(r))") }
        avcodec_parameters_from_context(out.pointee.codecpar, enc)
        out.pointee.time_base = enc.pointee.time_base
        var swr: OpaquePointer?
        var inLayout = dec.pointee.ch_layout
        if inLayout.order == AV_CHANNEL_ORDER_UNSPEC { av_channel_layout_default(&inLayout, inLayout.nb_channels) }
        guard swr_alloc_set_opts2(&swr, &enc.pointee.ch_layout, enc.pointee.sample_fmt, enc.pointee.sample_rate,
                                  &inLayout, dec.pointee.sample_fmt, dec.pointee.sample_rate, 0, nil) >= 0,
              let swr, swr_init(swr) >= 0,
              let fifo = av_audio_fifo_alloc(enc.pointee.sample_fmt, enc.pointee.ch_layout.nb_channels, 1) else {
            throw VideoIOError.failed(path, "cannot set up audio resampling")
        }
        (resampler, self.fifo) = (swr, fifo)
    }

    /// The input's rate if the encoder takes it, else the lowest it takes above it (Opus
    /// takes 48 kHz, not 44.1), else its highest; the resampler converts.
    static func sampleRate(of codec: UnsafePointer<AVCodec>, nearest rate: Int32) -> Int32 {
        guard let list = codec.pointee.supported_samplerates else { return rate }
        var rates: [Int32] = []
        while list[rates.count] != 0 { rates.append(list[rates.count]) }
        return rates.contains(rate) ? rate : rates.filter { $0 > rate }.min() ?? rates.max() ?? rate
    }

    deinit {
        var d: UnsafeMutablePointer<AVCodecContext>? = decoder
        avcodec_free_context(&d)
        d = encoder
        avcodec_free_context(&d)
        var s: OpaquePointer? = resampler
        swr_free(&s)
        av_audio_fifo_free(fifo)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Decodes a packet (nil flushes everything) and encodes whole encoder frames.
    func push(_ input: UnsafeMutablePointer<AVPacket>?, output: MediaOutput) throws {
        avcodec_send_packet(decoder, input)
        while avcodec_receive_frame(decoder, frame) >= 0 {
            if firstPts == nil, frame.pointee.pts != Int64.min {
                // Start where the input's audio starts, so sync is kept.
                firstPts = av_rescale_q(frame.pointee.pts, decoder.pointee.pkt_timebase, encoder.pointee.time_base) - output.shift(encoder.pointee.time_base)
                nextPts = firstPts!
            }
            let outCount = swr_get_out_samples(resampler, frame.pointee.nb_samples)
            var buffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?
            av_samples_alloc_array_and_samples(&buffer, nil, encoder.pointee.ch_layout.nb_channels, outCount, encoder.pointee.sample_fmt, 0)
            defer { if let buffer { av_freep(UnsafeMutableRawPointer(buffer)); buffer.deallocate() } }
            let planes = UnsafeMutableRawPointer(frame.pointee.extended_data).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
            let converted = swr_convert(resampler, buffer, outCount, planes, frame.pointee.nb_samples)
            av_frame_unref(frame)
            if converted > 0 {
                _ = buffer!.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: 8) { av_audio_fifo_write(fifo, $0, converted) }
            }
        }
        let size = encoder.pointee.frame_size > 0 ? encoder.pointee.frame_size : 1024
        while av_audio_fifo_size(fifo) >= size || (input == nil && av_audio_fifo_size(fifo) > 0) {
            try encodeFromFifo(count: min(size, av_audio_fifo_size(fifo)), output: output)
        }
        if input == nil { try encode(nil, output: output) }
    }

    private func encodeFromFifo(count: Int32, output: MediaOutput) throws {
        guard let f = av_frame_alloc() else { return }
        var fp: UnsafeMutablePointer<AVFrame>? = f
        defer { av_frame_free(&fp) }
        f.pointee.nb_samples = count
        f.pointee.format = encoder.pointee.sample_fmt.rawValue
        f.pointee.sample_rate = encoder.pointee.sample_rate
        av_channel_layout_copy(&f.pointee.ch_layout, &encoder.pointee.ch_layout)
        guard av_frame_get_buffer(f, 0) >= 0 else { throw VideoIOError.failed(path, "out of memory") }
        _ = withUnsafeMutablePointer(to: &f.pointee.data) {
            av_audio_fifo_read(fifo, UnsafeMutableRawPointer($0).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), count)
        }
        f.pointee.pts = nextPts
        nextPts += Int64(count)
        try encode(f, output: output)
    }

    private func encode(_ f: UnsafeMutablePointer<AVFrame>?, output: MediaOutput) throws {
        avcodec_send_frame(encoder, f)
        while avcodec_receive_packet(encoder, packet) >= 0 {
            av_packet_rescale_ts(packet, encoder.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            try output.mux(packet)
        }
    }
}
