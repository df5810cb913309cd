import Autograd
import CFFmpeg

/// One decoded picture: RGB in [0, 1] as a [1, 3, h, w] tensor, its
/// presentation time and how long it is shown (0: unknown), both in the
/// stream's time base.
public struct Frame {
    public let pts: Int64, duration: Int64
    public let image: Tensor
    /// Opacity in [0, 1] as a [1, 1, h, w] tensor, for pictures that have it.
    public let alpha: Tensor?
    /// The mean quantiser the encoder chose for it (H.264/HEVC QP, macroblock deltas included),
    /// when `DecodingOptions.exportQuantisers` asked and the codec exports it.
    public var quantiser: Double?
    public init(pts: Int64, duration: Int64 = 0, image: Tensor, alpha: Tensor? = nil) {
        (self.pts, self.duration, self.image, self.alpha) = (pts, duration, image, alpha)
    }
}

/// How decoded pictures are prepared before they become tensors.
public struct DecodingOptions: Sendable {
    public enum Deinterlace: String, Sendable, CaseIterable {
        /// When the stream says its frames are interlaced (field order, or the frame's own flag).
        case auto
        case on, off
    }
    public var deinterlace: Deinterlace
    /// HDR (PQ or HLG) converted to SDR BT.709 by libavfilter's tonemap,
    /// instead of keeping the source's coded values.
    public var toneMap: Bool
    /// Frames per second of an image-sequence input (`frames/%04d.png`); nil: 25.
    public var frameRate: Double?
    /// Only these frames (a segment's); nil: all.
    public var span: FrameSpan?
    /// Have the decoder export each frame's quantisers (`Frame.quantiser`; H.264, HEVC, VP9 in FFmpeg 5).
    public var exportQuantisers = false

    public init(deinterlace: Deinterlace = .auto, toneMap: Bool = false, frameRate: Double? = nil) {
        (self.deinterlace, self.toneMap, self.frameRate) = (deinterlace, toneMap, frameRate)
    }
}

/// swscale between a codec's pixel format and 16-bit planar RGB, the format
/// that meets tensors: 16 bits keep 10-bit sources exact.
final class PixelConverter {
    let context: OpaquePointer
    let width, height: Int
    /// For an 8-bit RGB source (PNG, BMP, TIFF; not a palette) into 16-bit RGB: the 8-bit planar frame swscale writes,
    /// widened ×257 here. FFmpeg 5.1's swscale takes 8-bit RGB to 16 bits short of white (255 → 65283, 128 → 32899).
    private var eightBit: UnsafeMutablePointer<AVFrame>?

    init(width: Int, height: Int, from src: AVPixelFormat, to dst: AVPixelFormat, colorSpace: ColorSpace, path: String) throws {
        (self.width, self.height) = (width, height)
        let flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP
        var target = dst
        if dst == AV_PIX_FMT_GBRP16LE || dst == AV_PIX_FMT_GBRAP16LE, let desc = av_pix_fmt_desc_get(src),
           desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0, desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_PAL) == 0, desc.pointee.comp.0.depth == 8 {
            target = dst == AV_PIX_FMT_GBRAP16LE ? AV_PIX_FMT_GBRAP : AV_PIX_FMT_GBRP
        }
        guard let ctx = sws_getContext(Int32(width), Int32(height), src, Int32(width), Int32(height), target, flags, nil, nil, nil) else {
            throw VideoIOError.failed(path, "cannot convert \(String(cString: av_get_pix_fmt_name(src))) to RGB")
        }
        context = ctx
        // Made once the context is held, so that deinit frees both if this throws.
        if target != dst { eightBit = try allocateFrame(width: width, height: height, format: target) }
        // The YUV side takes the stream's matrix and range; RGB is always full range.
        let toRGB = dst == AV_PIX_FMT_GBRP16LE || dst == AV_PIX_FMT_GBRAP16LE
        let table = colorSpace.swsCoefficients
        sws_setColorspaceDetails(ctx, table, toRGB ? (colorSpace.fullRange ? 1 : 0) : 1,
                                 table, toRGB ? 1 : (colorSpace.fullRange ? 1 : 0), 0, 1 << 16, 1 << 16)
    }

    deinit {
        sws_freeContext(context)
        av_frame_free(&eightBit)
    }

    func convert(_ src: UnsafePointer<AVFrame>, into dst: UnsafeMutablePointer<AVFrame>) {
        guard let eightBit else { return scale(src, into: dst) }
        scale(src, into: eightBit)
        // GBRP(A) and GBRP(A)16 keep their planes in the same order.
        let planes = dst.pointee.format == AV_PIX_FMT_GBRAP16LE.rawValue ? 4 : 3
        withUnsafePointer(to: eightBit.pointee.data) { from in
            withUnsafePointer(to: dst.pointee.data) { to in
                let (inPlanes, outPlanes) = (UnsafeRawPointer(from).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                             UnsafeRawPointer(to).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self))
                let (inLines, outLines) = (eightBit.pointee.linesize, dst.pointee.linesize)
                let inStride = [inLines.0, inLines.1, inLines.2, inLines.3], outStride = [outLines.0, outLines.1, outLines.2, outLines.3]
                Parallel.forEach(planes) { p in
                    for y in 0..<height {
                        let row = inPlanes[p]! + y * Int(inStride[p])
                        let out = UnsafeMutableRawPointer(outPlanes[p]! + y * Int(outStride[p])).assumingMemoryBound(to: UInt16.self)
                        for x in 0..<width { out[x] = (UInt16(row[x]) * 257).littleEndian }
                    }
                }
            }
        }
    }

    private func scale(_ src: UnsafePointer<AVFrame>, into dst: UnsafeMutablePointer<AVFrame>) {
        withUnsafePointer(to: src.pointee.data) { srcData in
            withUnsafePointer(to: src.pointee.linesize) { srcLines in
                withUnsafeMutablePointer(to: &dst.pointee.data) { dstData in
                    withUnsafeMutablePointer(to: &dst.pointee.linesize) { dstLines in
                        _ = sws_scale(context,
                                      UnsafeRawPointer(srcData).assumingMemoryBound(to: UnsafePointer<UInt8>?.self), 
                                      UnsafeRawPointer(srcLines).assumingMemoryBound(to: Int32.self),
                                      0, Int32(height),
                                      UnsafeMutableRawPointer(dstData).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                      UnsafeRawPointer(dstLines).assumingMemoryBound(to: Int32.self))
                    }
                }
            }
        }
    }
}

/// Visits every row of a GBRP16 or GBRAP16 frame as (plane, row, samples),
/// planes in tensor order — R, G, B, then alpha when the frame has it — in
/// parallel. GBRP16 stores G, B, R.
private func forEachRow(ofGBRP16 frame: UnsafePointer<AVFrame>, height: Int,
                        _ body: (_ plane: Int, _ y: Int, _ row: UnsafeMutablePointer<UInt16>) -> Void) {
    let data = frame.pointee.data, lines = frame.pointee.linesize
    let hasAlpha = frame.pointee.format == AV_PIX_FMT_GBRAP16LE.rawValue
    let planes = [data.2!, data.0!, data.1!] + (hasAlpha ? [data.3!] : [])
    let strides = [Int(lines.2), Int(lines.0), Int(lines.1)] + (hasAlpha ? [Int(lines.3)] : [])
    Parallel.forEach(planes.count) { c in
        for y in 0..<height {
            body(c, y, UnsafeMutableRawPointer(planes[c] + y * strides[c]).assumingMemoryBound(to: UInt16.self))
        }
    }
}

/// A GBRP16 frame into a new [1, 3, h, w] tensor in [0, 1]; a GBRAP16 frame's alpha into a [1, 1, h, w] one.
func tensor(fromGBRP16 frame: UnsafePointer<AVFrame>, width: Int, height: Int) -> (color: Tensor, alpha: Tensor?) {
    let t = Tensor(shape: [1, 3, height, width])
    let alpha = frame.pointee.format == AV_PIX_FMT_GBRAP16LE.rawValue ? Tensor(shape: [1, 1, height, width]) : nil
    forEachRow(ofGBRP16: frame, height: height) { c, y, row in
        let out = (c < 3 ? t.data + (c * height + y) * width : alpha!.data + y * width)
        for x in 0..<width { out[x] = Float(UInt16(littleEndian: row[x])) * (1 / 65535) }
    }
    return (t, alpha)
}

/// A [1, 3, h, w] tensor (clamped to [0, 1]) into a GBRP16 frame, and into a GBRAP16 frame's alpha plane `alpha` [1, 1, h, w] (opaque when nil).
func fill(gbrp16 frame: UnsafeMutablePointer<AVFrame>, from t: Tensor, alpha: Tensor? = nil, width: Int, height: Int) {
    forEachRow(ofGBRP16: frame, height: height) { c, y, row in
        guard c < 3 || alpha != nil else {
            for x in 0..<width { row[x] = UInt16.max }
            return
        }
        let src = c < 3 ? t.data + (c * height + y) * width : alpha!.data + y * width
        for x in 0..<width { row[x] = UInt16(min(max(src[x], 0), 1) * 65535 + 0.5).littleEndian }
    }
}

/// Allocates a frame with its own buffers.
func allocateFrame(width: Int, height: Int, format: AVPixelFormat) throws -> UnsafeMutablePointer<AVFrame> {
    guard let f = av_frame_alloc() else { throw VideoIOError.failed("frame", "out of memory") }
    f.pointee.width = Int32(width)
    f.pointee.height = Int32(height)
    f.pointee.format = format.rawValue
    guard av_frame_get_buffer(f, 0) >= 0 else {
        var p: UnsafeMutablePointer<AVFrame>? = f
        av_frame_free(&p)
        throw VideoIOError.failed("frame", "out of memory for a \(width)×\(height) frame")
    }
    return f
}

/// Decodes the input's video stream to RGB frames in presentation order,
/// through a libavfilter chain when the options or the stream call for one
/// (deinterlacing, tone mapping).
final class VideoDecoder {
    let codec: UnsafeMutablePointer<AVCodecContext>
    let frame: UnsafeMutablePointer<AVFrame>, filtered: UnsafeMutablePointer<AVFrame>
    let info: VideoInfo
    let path: String
    let options: DecodingOptions
    let timeBase: AVRational
    private var converter: PixelConverter?
    private var rgb: UnsafeMutablePointer<AVFrame>?
    let stream: UnsafeMutablePointer<AVStream>
    private var filter: FrameFilter?
    private var filterChosen = false, filterFlushed = false
    /// What was done to the frames (deinterlacing, tone mapping), for the user.
    private(set) var notes: [String] = []
    /// The colour of the frames handed out: the stream's, until tone mapping
    /// makes it SDR BT.709; the HDR metadata is found with the first frame.
    private(set) var pictureColor: PictureColor

    init(_ input: MediaInput, options: DecodingOptions) throws {
        (path, info, self.options) = (input.path, input.info, options)
        (stream, timeBase) = (input.videoStream, input.videoStream.pointee.time_base)
        pictureColor = PictureColor(space: info.colorSpace, tags: info.color, hdr: nil)
        let par = input.videoStream.pointee.codecpar!
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            throw VideoIOError.unsupportedCodec(path, info.codec)
        }
        guard let ctx = avcodec_alloc_context3(decoder), let f = av_frame_alloc(), let g = av_frame_alloc() else {
            throw VideoIOError.failed(path, "out of memory")
        }
        (codec, frame, filtered) = (ctx, f, g)
        avcodec_parameters_to_context(ctx, par)
        ctx.pointee.pkt_timebase = input.videoStream.pointee.time_base
        ctx.pointee.thread_count = 0  // FFmpeg picks one per core
        if options.exportQuantisers { ctx.pointee.export_side_data |= Int32(AV_CODEC_EXPORT_DATA_VIDEO_ENC_PARAMS) }
        let r = avcodec_open2(ctx, decoder, nil)
        guard r >= 0 else { throw VideoIOError.unsupportedCodec(path, "\(info.codec) (\(ffmpegMessage(r)))") }
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = codec
        avcodec_free_context(&c)
        for f in [frame, filtered, rgb] {
            var owned = f
            av_frame_free(&owned)
        }
    }

    /// Packets or frames the decoder rejected as damaged (skipped, as players do).
    private(set) var damaged = 0

    /// Sends a packet, or nil to flush at the end; a damaged packet is counted and skipped.
    func send(_ packet: UnsafeMutablePointer<AVPacket>?) throws {
        let r = avcodec_send_packet(codec, packet)
        if r == hone_averror(ENOMEM) { throw VideoIOError.failed(path, "out of memory while decoding") }
        if r < 0 && r != hone_averror_eof() { damaged += 1 }
    }

    /// What to do with a decoded frame, by its time: converting to RGB costs more than decoding, so frames not wanted are not converted.
    enum FrameChoice { case keep, skip, stop }

    /// The next frame `choose` keeps, decoded, filtered and converted, or nil when the decoder needs
    /// more input, is done, or `choose` says stop.
    func receive(choose: (Int64) throws -> FrameChoice) throws -> Frame? {
        func chosen(_ frame: UnsafeMutablePointer<AVFrame>) throws -> Frame?? {
            switch try choose(timestamp(of: frame)) {
            case .keep: try convert(frame)
            case .skip: .none
            case .stop: .some(nil)
            }
        }
        while true {
            if let filter, try filter.pull(into: filtered) {
                defer { av_frame_unref(filtered) }
                if let result = try chosen(filtered) { return result }
                continue
            }
            let r = avcodec_receive_frame(codec, frame)
            if r == hone_averror_eagain() { return nil }
            if r == hone_averror_eof() {
                guard let filter, !filterFlushed else { return nil }
                try filter.push(nil)
                filterFlushed = true
                continue
            }
            if r == hone_averror(ENOMEM) { throw VideoIOError.failed(path, "out of memory while decoding") }
            guard r >= 0 else {
                damaged += 1
                continue
            }
            defer { av_frame_unref(frame) }
            if !filterChosen {
                filter = try chooseFilter(for: frame)
                filterChosen = true
            }
            guard let filter else {
                if let result = try chosen(frame) { return result }
                continue
            }
            try filter.push(frame)
        }
    }

    /// The chain the options and the first frame call for, or nil; notes what it does.
    private func chooseFilter(for first: UnsafeMutablePointer<AVFrame>) throws -> FrameFilter? {
        var chain: [String] = []
        let interlaced = info.fieldOrder.isInterlaced || first.pointee.interlaced_frame != 0
        if options.deinterlace == .on || (options.deinterlace == .auto && interlaced) {
            // One output frame per input frame (send_frame), so frame counts and timestamps are kept.
            chain.append("bwdif=mode=send_frame:parity=auto:deint=\(options.deinterlace == .on ? "all" : "interlaced")")
            notes.append("\(path): deinterlaced (\(interlaced ? info.fieldOrder.description : "forced")) with libavfilter's bwdif")
        }
        if options.toneMap && info.color.isHDR {
            // zimg linearises (100 cd/m² reference white), converts the primaries, and Hable's curve compresses
            // the highlights, as in FFmpeg's tonemap documentation; then BT.709 as SDR players expect.
            chain += ["zscale=t=linear:npl=100", "format=gbrpf32le", "zscale=p=bt709", "tonemap=tonemap=hable:desat=0",
                      "zscale=t=bt709:m=bt709:r=tv", "format=yuv420p"]
            pictureColor = PictureColor(space: ColorSpace(matrix: .bt709, fullRange: false),
                                        tags: ColorTags(primaries: AVCOL_PRI_BT709, transfer: AVCOL_TRC_BT709), hdr: nil)
            notes.append("\(path): tone-mapped from HDR (\(info.color)) to SDR BT.709 with libavfilter's zscale and tonemap (Hable)")
        } else {
            pictureColor.hdr = HDRMetadata(stream: stream, frame: first)
        }
        return chain.isEmpty ? nil : try FrameFilter(chain.joined(separator: ","), first: first, timeBase: timeBase, path: path)
    }

    /// A decoded (or filtered) frame as RGB.
    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws -> Frame {
        let (w, h) = (Int(frame.pointee.width), Int(frame.pointee.height))
        if converter == nil || converter!.width != w || converter!.height != h {
            var old = rgb
            av_frame_free(&old)
            let format = info.hasAlpha ? AV_PIX_FMT_GBRAP16LE : AV_PIX_FMT_GBRP16LE
            rgb = try allocateFrame(width: w, height: h, format: format)
            converter = try PixelConverter(width: w, height: h, from: AVPixelFormat(rawValue: frame.pointee.format),
                                           to: format, colorSpace: pictureColor.space, path: path)
        }
        converter!.convert(frame, into: rgb!)
        let (image, alpha) = tensor(fromGBRP16: rgb!, width: w, height: h)
        var decoded = Frame(pts: timestamp(of: frame), duration: max(frame.pointee.pkt_duration, 0), image: image, alpha: alpha)
        if options.exportQuantisers { decoded.quantiser = meanQuantiser(frame) }
        return decoded
    }

    private func timestamp(of frame: UnsafeMutablePointer<AVFrame>) -> Int64 {
        let pts = frame.pointee.best_effort_timestamp
        return pts == Int64.min ? frame.pointee.pts : pts
    }
}

/// Reads a video file frame by frame, holding only the current frame.
public final class VideoReader {
    public let input: MediaInput
    let decoder: VideoDecoder
    private let packet: UnsafeMutablePointer<AVPacket>
    private var flushed = false

    public var info: VideoInfo { input.info }

    public convenience init(_ path: String, options: DecodingOptions = DecodingOptions()) throws {
        try self.init(try MediaInput(path, frameRate: options.frameRate), options: options)
    }

    /// - Throws: `VideoIOError` naming the input when it cannot be decoded, or cannot seek to the span's start.
    public init(_ input: MediaInput, options: DecodingOptions = DecodingOptions()) throws {
        self.input = input
        span = options.span
        decoder = try VideoDecoder(input, options: options)
        packet = av_packet_alloc()
        if let seek = span?.seek {
            let r = av_seek_frame(input.format, input.videoIndex, seek, AVSEEK_FLAG_BACKWARD)
            guard r >= 0 else { throw VideoIOError.failed(input.path, "cannot seek to a segment's start: \(ffmpegMessage(r))") }
        }
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Frames decoded so far (of the span), whether handed out or passed over by `next(keeping:)`.
    public private(set) var framesRead = 0
    private let span: FrameSpan?
    private var spanEnded = false
    /// Damage met while decoding a span's pre-roll (an open GOP's leading frames), which costs no frame of the span.
    private var preRollDamage = 0
    /// The frames the reader should hand out: the span's, else the container's estimate.
    public var expectedFrames: Int { span?.frames ?? info.estimatedFrames }
    /// What was done to the frames (deinterlacing, tone mapping), for the user.
    public var notes: [String] { decoder.notes }
    /// The colour of the frames read (complete once the first frame is).
    public var pictureColor: PictureColor { decoder.pictureColor }
    private var readError: String?

    /// What was lost to a damaged or cut-off file, once the end is reached: nil when nothing was.
    public var damage: String? {
        let damaged = decoder.damaged - preRollDamage
        guard flushed, readError != nil || damaged > 0 else { return nil }
        let lost = max(expectedFrames - framesRead, 0)
        return "\(input.path): the file is damaged or cut off (\(readError ?? "\(damaged) damaged \(damaged == 1 ? "packet" : "packets") skipped")); "
            + (lost > 0 ? "\(lost) of about \(expectedFrames) frames could not be read" : "no frame was lost")
    }

    /// The next frame in presentation order, or nil at the end.
    public func next() throws -> Frame? { try next(other: nil) }

    /// The next frame whose time (pts, in the stream's time base) `keeping`
    /// accepts, or nil at the end; the others are decoded but not converted.
    public func next(keeping: (Int64) -> Bool) throws -> Frame? { try next(other: nil, keeping: keeping) }

    /// Also hands packets of the other streams to `other` (the pipeline copies them to the output).
    /// A damaged packet is skipped and a read error ends the stream, as in a
    /// player; `damage` says what was lost.
    func next(other: ((UnsafeMutablePointer<AVPacket>) throws -> Void)?, keeping: (Int64) -> Bool = { _ in true }) throws -> Frame? {
        while !spanEnded {
            if let frame = try decoder.receive(choose: { pts in
                if let span {
                    if let end = span.end, pts >= end { spanEnded = true; return .stop }
                    if pts < span.first {
                        // The pre-roll, decoded for the frames after it.
                        if framesRead > 0 { throw VideoIOError.failed(input.path, "frame times go backwards at pts \(pts)") }
                        return .skip
                    }
                    if framesRead == 0, pts > span.first {
                        throw VideoIOError.failed(input.path, "cannot start a segment exactly at pts \(span.first): decoding began at \(pts)")
                    }
                    if framesRead == 0 { preRollDamage = decoder.damaged }
                }
                framesRead += 1
                return keeping(pts) ? .keep : .skip
            }) {
                return frame
            }
            if flushed || spanEnded { return nil }
            let more: Bool
            do { more = try input.read(into: packet) } catch let VideoIOError.failed(_, why) {
                (readError, more) = (why, false)
            }
            if more {
                defer { av_packet_unref(packet) }
                if packet.pointee.stream_index == input.videoIndex {
                    try decoder.send(packet)
                } else {
                    try other?(packet)
                }
            } else {
                try decoder.send(nil)
                flushed = true
            }
        }
        return nil
    }
}
