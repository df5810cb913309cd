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
