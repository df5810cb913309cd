import Autograd
import CFFmpeg

/// A libavfilter chain (`hqdn3d=4`, `nlmeans=s=6`, `deblock=filter=strong:block=8`)
/// over RGB tensors, in order, as a clip: a temporal filter (hqdn3d) sees
/// the pictures before. libavfilter converts to the formats the chain takes
/// and back to 16-bit RGB.
public final class PictureFilter {
    private let chain: String
    private var filter: FrameFilter?
    private var rgb: UnsafeMutablePointer<AVFrame>?
    private var out: UnsafeMutablePointer<AVFrame>?
    private var pushed = 0

    public init(_ chain: String) { self.chain = chain }

    deinit {
        av_frame_free(&rgb)
        av_frame_free(&out)
    }

    /// Filters the next [1, 3, h, w] picture of the clip (all of one size); returns those ready, in order.
    /// - Throws: `VideoIOError.failed` naming the chain when libavfilter refuses it.
    public func push(_ picture: Tensor) throws -> [Tensor] {
        let (h, w) = (picture.shape[2], picture.shape[3])
        if rgb == nil {
            rgb = try allocateFrame(width: w, height: h, format: AV_PIX_FMT_GBRP16LE)
            out = av_frame_alloc()
            filter = try FrameFilter(chain + ",format=gbrp16le", first: rgb!, timeBase: AVRational(num: 1, den: 25), path: chain)
        }
        guard let rgb, rgb.pointee.width == Int32(w), rgb.pointee.height == Int32(h) else {
            throw VideoIOError.failed(chain, "pictures of a clip must share one size")
        }
        guard av_frame_make_writable(rgb) >= 0 else { throw VideoIOError.failed(chain, "out of memory") }
        fill(gbrp16: rgb, from: picture, width: w, height: h)
        rgb.pointee.pts = Int64(pushed)
        pushed += 1
        try filter!.push(rgb)
        return try drain()
    }

    /// Flushes the chain; returns the pictures it still held.
    public func finish() throws -> [Tensor] {
        guard let filter else { return [] }
        try filter.push(nil)
        return try drain()
    }

    private func drain() throws -> [Tensor] {
        guard let filter, let out else { return [] }
        var pictures: [Tensor] = []
        while try filter.pull(into: out) {
            pictures.append(tensor(fromGBRP16: out, width: Int(out.pointee.width), height: Int(out.pointee.height)).color)
            av_frame_unref(out)
        }
        return pictures
    }
}
