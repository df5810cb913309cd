import Autograd
import CFFmpeg
import Foundation

/// PNG stills, for comparison images and tests.
public enum Still {
    /// Reads any image (or a video's first frame) as a [1, 3, h, w] RGB tensor in [0, 1].
    public static func read(_ path: String) throws -> Tensor {
        guard let frame = try VideoReader(path).next() else { throw VideoIOError.failed(path, "holds no picture") }
        return frame.image
    }

    /// The image after JPEG compression at `quality` (1–100, libjpeg's scale) and
    /// decompression, through libavcodec's MJPEG codec: the compression
    /// artifacts of low-bitrate footage, for training. FFmpeg's MJPEG takes a
    /// quantiser scale, not a quality; libjpeg's table scaling s (5000/q below
    /// 50, 200 − 2q above) maps to it as qscale ≈ 8·s/100, clamped to 1…31.
    public static func jpegRoundTrip(_ image: Tensor, quality: Int) throws -> Tensor {
        av_log_set_level(AV_LOG_FATAL)  // swscale warns about the JPEG pixel formats on every call
        let (h, w) = (image.shape[2], image.shape[3])
        let scaling = quality < 50 ? 5000 / Double(max(quality, 1)) : 200 - 2 * Double(min(quality, 100))
        let qscale = Int32(min(31, max(1, (8 * scaling / 100).rounded())))
        let jpeg = ColorSpace(matrix: .bt601, fullRange: true)
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG), let decoder = avcodec_find_decoder(AV_CODEC_ID_MJPEG),
              let enc = avcodec_alloc_context3(encoder), let dec = avcodec_alloc_context3(decoder) else {
            throw VideoIOError.failed("jpeg", "no MJPEG codec in this FFmpeg")
        }
        var contexts: [UnsafeMutablePointer<AVCodecContext>?] = [enc, dec]
        defer { for i in contexts.indices { avcodec_free_context(&contexts[i]) } }
        enc.pointee.width = Int32(w)
        enc.pointee.height = Int32(h)
        enc.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        enc.pointee.time_base = AVRational(num: 1, den: 25)
        enc.pointee.flags |= AV_CODEC_FLAG_QSCALE
        enc.pointee.qmin = 1
        enc.pointee.global_quality = qscale * FF_QP2LAMBDA
        guard avcodec_open2(enc, encoder, nil) >= 0, avcodec_open2(dec, decoder, nil) >= 0 else {
            throw VideoIOError.failed("jpeg", "cannot open the MJPEG codec")
        }
        let rgb = try allocateFrame(width: w, height: h, format: AV_PIX_FMT_GBRP16LE)
        let yuv = try allocateFrame(width: w, height: h, format: AV_PIX_FMT_YUVJ420P)
        var frames: [UnsafeMutablePointer<AVFrame>?] = [rgb, yuv]
        defer { for i in frames.indices { av_frame_free(&frames[i]) } }
        fill(gbrp16: rgb, from: image, width: w, height: h)
        try PixelConverter(width: w, height: h, from: AV_PIX_FMT_GBRP16LE, to: AV_PIX_FMT_YUVJ420P, colorSpace: jpeg, path: "jpeg")
            .convert(rgb, into: yuv)
        yuv.pointee.quality = enc.pointee.global_quality
        yuv.pointee.pts = 0
        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard avcodec_send_frame(enc, yuv) >= 0, avcodec_receive_packet(enc, packet) >= 0,
              avcodec_send_packet(dec, packet) >= 0, avcodec_receive_frame(dec, yuv) >= 0 else {
            throw VideoIOError.failed("jpeg", "MJPEG round trip failed")
        }
        try PixelConverter(width: w, height: h, from: AVPixelFormat(rawValue: yuv.pointee.format), to: AV_PIX_FMT_GBRP16LE,
                           colorSpace: jpeg, path: "jpeg").convert(yuv, into: rgb)
        return tensor(fromGBRP16: rgb, width: w, height: h).color
    }

    /// Writes a [1, 3, h, w] tensor (clamped to [0, 1]) as a 16-bit PNG, atomically.
    public static func writePNG(_ image: Tensor, to path: String) throws {
        guard image.shape.count == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw VideoIOError.failed(path, "a still must be one RGB image [1, 3, h, w], got \(image.shape)")
        }
        let (h, w) = (image.shape[2], image.shape[3])
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG), let ctx = avcodec_alloc_context3(codec) else {
            throw VideoIOError.cannotWrite(path, "no PNG encoder in this FFmpeg")
        }
        var c: UnsafeMutablePointer<AVCodecContext>? = ctx
        defer { avcodec_free_context(&c) }
        ctx.pointee.width = Int32(w)
        ctx.pointee.height = Int32(h)
        ctx.pointee.pix_fmt = AV_PIX_FMT_RGB48BE
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        guard avcodec_open2(ctx, codec, nil) >= 0 else { throw VideoIOError.cannotWrite(path, "cannot open the PNG encoder") }
        let rgb = try allocateFrame(width: w, height: h, format: AV_PIX_FMT_GBRP16LE)
        let packed = try allocateFrame(width: w, height: h, format: AV_PIX_FMT_RGB48BE)
        var frames: [UnsafeMutablePointer<AVFrame>?] = [rgb, packed]
        defer { for i in frames.indices { av_frame_free(&frames[i]) } }
        fill(gbrp16: rgb, from: image, width: w, height: h)
        try PixelConverter(width: w, height: h, from: AV_PIX_FMT_GBRP16LE, to: AV_PIX_FMT_RGB48BE,
                           colorSpace: ColorSpace(matrix: .bt709, fullRange: true), path: path).convert(rgb, into: packed)
        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard avcodec_send_frame(ctx, packed) >= 0, avcodec_receive_packet(ctx, packet) >= 0, let pkt = packet else {
            throw VideoIOError.cannotWrite(path, "PNG encoding failed")
        }
        let data = Data(bytes: pkt.pointee.data, count: Int(pkt.pointee.size))
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw VideoIOError.cannotWrite(path, (error as NSError).localizedDescription)
        }
    }
}
