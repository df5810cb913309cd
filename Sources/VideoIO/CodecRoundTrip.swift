import Autograd
import CFFmpeg

/// Pictures through libx264 at a CRF and back through libavcodec's H.264
/// decoder, as a low-bitrate stream delivers them: 4:2:0 BT.709 limited-range
/// YUV, blocking, ringing and smeared texture. Pictures go in one at a time
/// (`push`) and come back in order, a few behind while the encoder looks
/// ahead; `finish` returns the rest. The decoder exports each frame's
/// quantisers, so `meanQP` says how hard the stream was compressed.
public final class X264RoundTrip {
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var decoder: UnsafeMutablePointer<AVCodecContext>?
    private var rgb: UnsafeMutablePointer<AVFrame>?
    private var yuv: UnsafeMutablePointer<AVFrame>?
    /// What the decoder hands back (its own buffers, so `yuv` stays the encoder's).
    private var decoded: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private let toYUV: PixelConverter, fromYUV: PixelConverter
    private let width: Int, height: Int
    private var pushed = 0
    private var qpSum = 0.0, qpFrames = 0

    /// A round trip for pictures of `width`×`height` (both even).
    /// - Parameters:
    ///   - crf: x264's constant rate factor, 0–51 (higher: smaller and worse; 23 is x264's default).
    ///   - preset: x264's speed preset.
    ///   - threads: encoder threads (1 for small crops, 0 for x264's choice).
    /// - Throws: `VideoIOError.failed` when libx264 or the H.264 decoder is missing or refuses the size.
    public init(width: Int, height: Int, crf: Double, preset: String = "medium", threads: Int = 0) throws {
        guard width >= 16, height >= 16, width % 2 == 0, height % 2 == 0 else {
            throw VideoIOError.failed("x264", "pictures must be at least 16×16 and even-sized, got \(width)×\(height)")
        }
        (self.width, self.height) = (width, height)
        av_log_set_level(AV_LOG_FATAL)
        guard let codec = avcodec_find_encoder_by_name("libx264"), let h264 = avcodec_find_decoder(AV_CODEC_ID_H264),
              let enc = avcodec_alloc_context3(codec), let dec = avcodec_alloc_context3(h264) else {
            throw VideoIOError.failed("x264", "this FFmpeg has no libx264 encoder or H.264 decoder")
        }
        (encoder, decoder) = (enc, dec)
        enc.pointee.width = Int32(width)
        enc.pointee.height = Int32(height)
        enc.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        enc.pointee.time_base = AVRational(num: 1, den: 25)
        enc.pointee.thread_count = Int32(threads)
        enc.pointee.colorspace = AVCOL_SPC_BT709
        enc.pointee.color_range = AVCOL_RANGE_MPEG
        av_opt_set(enc.pointee.priv_data, "crf", "\(min(max(crf, 0), 51))", 0)
        av_opt_set(enc.pointee.priv_data, "preset", preset, 0)
        dec.pointee.export_side_data |= Int32(AV_CODEC_EXPORT_DATA_VIDEO_ENC_PARAMS)
        dec.pointee.thread_count = 1
        guard avcodec_open2(enc, codec, nil) >= 0, avcodec_open2(dec, h264, nil) >= 0 else {
            throw VideoIOError.failed("x264", "cannot open libx264 for \(width)×\(height) at CRF \(crf)")
        }
        let space = ColorSpace(matrix: .bt709, fullRange: false)
        toYUV = try PixelConverter(width: width, height: height, from: AV_PIX_FMT_GBRP16LE, to: AV_PIX_FMT_YUV420P, colorSpace: space, path: "x264")
        fromYUV = try PixelConverter(width: width, height: height, from: AV_PIX_FMT_YUV420P, to: AV_PIX_FMT_GBRP16LE, colorSpace: space, path: "x264")
        rgb = try allocateFrame(width: width, height: height, format: AV_PIX_FMT_GBRP16LE)
        yuv = try allocateFrame(width: width, height: height, format: AV_PIX_FMT_YUV420P)
        decoded = av_frame_alloc()
        packet = av_packet_alloc()
    }

    deinit {
        avcodec_free_context(&encoder)
        avcodec_free_context(&decoder)
        av_frame_free(&rgb)
        av_frame_free(&yuv)
        av_frame_free(&decoded)
        av_packet_free(&packet)
    }

    /// Encodes one [1, 3, h, w] picture in [0, 1]; returns the pictures decoded so far, in order.
    public func push(_ picture: Tensor) throws -> [Tensor] {
        guard picture.shape == [1, 3, height, width] else {
            throw VideoIOError.failed("x264", "a picture of \(picture.shape) for a \(width)×\(height) round trip")
        }
        guard let rgb, let yuv else { return [] }
        fill(gbrp16: rgb, from: picture, width: width, height: height)
        guard av_frame_make_writable(yuv) >= 0 else { throw VideoIOError.failed("x264", "out of memory") }
        toYUV.convert(rgb, into: yuv)
        yuv.pointee.pts = Int64(pushed)
        pushed += 1
        return try encode(yuv)
    }

    /// Flushes the encoder; returns the pictures it still held.
    public func finish() throws -> [Tensor] { try encode(nil) }

    /// The mean quantiser (H.264 QP, 0–51) of the decoded pictures, macroblock deltas included; nil before any.
    public var meanQP: Double? { qpFrames > 0 ? qpSum / Double(qpFrames) : nil }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?) throws -> [Tensor] {
        guard let encoder, let decoder, let packet, let decoded, let rgb else { return [] }
        var out: [Tensor] = []
        guard avcodec_send_frame(encoder, frame) >= 0 else { throw VideoIOError.failed("x264", "encoding failed") }
        while avcodec_receive_packet(encoder, packet) >= 0 {
            defer { av_packet_unref(packet) }
            guard avcodec_send_packet(decoder, packet) >= 0 else { throw VideoIOError.failed("x264", "decoding failed") }
            try drain(decoder, into: decoded, rgb: rgb, &out)
        }
        if frame == nil {
            avcodec_send_packet(decoder, nil)
            try drain(decoder, into: decoded, rgb: rgb, &out)
        }
        return out
    }

    private func drain(_ decoder: UnsafeMutablePointer<AVCodecContext>, into yuv: UnsafeMutablePointer<AVFrame>,
                       rgb: UnsafeMutablePointer<AVFrame>, _ out: inout [Tensor]) throws {
        while avcodec_receive_frame(decoder, yuv) >= 0 {
            if let qp = meanQuantiser(yuv) { (qpSum, qpFrames) = (qpSum + qp, qpFrames + 1) }
            fromYUV.convert(yuv, into: rgb)
            out.append(tensor(fromGBRP16: rgb, width: width, height: height).color)
            av_frame_unref(yuv)
        }
    }

    /// The pictures [n, 3, h, w] through one round trip (as consecutive frames of one stream).
    /// - Throws: as `init`.
    public static func apply(_ pictures: Tensor, crf: Double, threads: Int = 1) throws -> Tensor {
        let (n, h, w) = (pictures.shape[0], pictures.shape[2], pictures.shape[3])
        let trip = try X264RoundTrip(width: w, height: h, crf: crf, preset: "medium", threads: threads)
        var decoded: [Tensor] = []
        for i in 0..<n {
            let one = Tensor(shape: [1, 3, h, w])
            one.data.update(from: pictures.data + i * 3 * h * w, count: 3 * h * w)
            decoded += try trip.push(one)
        }
        decoded += try trip.finish()
        guard decoded.count == n else { throw VideoIOError.failed("x264", "\(n) pictures in, \(decoded.count) out") }
        let out = Tensor(shape: pictures.shape)
        for (i, picture) in decoded.enumerated() { (out.data + i * 3 * h * w).update(from: picture.data, count: 3 * h * w) }
        return out
    }
}

/// A decoded frame's mean quantiser from its exported encoding parameters
/// (`AV_FRAME_DATA_VIDEO_ENC_PARAMS`): the frame's QP plus each block's luma
/// delta, weighted by block area; nil when the decoder exported none.
func meanQuantiser(_ frame: UnsafePointer<AVFrame>) -> Double? {
    guard let side = av_frame_get_side_data(frame, AV_FRAME_DATA_VIDEO_ENC_PARAMS) else { return nil }
    let params = UnsafeMutableRawPointer(side.pointee.data!).assumingMemoryBound(to: AVVideoEncParams.self)
    let base = Double(params.pointee.qp)
    let blocks = Int(params.pointee.nb_blocks)
    guard blocks > 0 else { return base }
    var sum = 0.0, area = 0.0
    for i in 0..<blocks {
        let block = av_video_enc_params_block(params, UInt32(i))!.pointee
        let a = Double(block.w) * Double(block.h)
        sum += a * (base + Double(block.delta_qp))
        area += a
    }
    return area > 0 ? sum / area : base
}
