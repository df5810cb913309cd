import CFFmpeg

/// A libavfilter chain (`bwdif=…`, `zscale=…,tonemap=…`) applied to decoded
/// frames before they become tensors: frames go in with `push`, come out
/// with `pull` (a filter may hold some back: bwdif needs the next frame).
final class FrameFilter {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>
    private let path: String

    /// A chain for frames shaped like `first`, in `timeBase`.
    /// - Throws: `VideoIOError.failed` naming `path` when the chain cannot be built.
    init(_ chain: String, first: UnsafePointer<AVFrame>, timeBase: AVRational, path: String) throws {
        self.path = path
        graph = avfilter_graph_alloc()
        guard let graph, let buffer = avfilter_get_by_name("buffer"), let buffersink = avfilter_get_by_name("buffersink") else {
            throw VideoIOError.failed(path, "libavfilter has no buffer source or sink")
        }
        let f = first.pointee
        let arguments = "video_size=\(f.width)x\(f.height):pix_fmt=\(f.format):time_base=\(timeBase.num)/\(max(timeBase.den, 1))"
            + ":pixel_aspect=\(max(f.sample_aspect_ratio.num, 1))/\(max(f.sample_aspect_ratio.den, 1))"
        var src: UnsafeMutablePointer<AVFilterContext>?, snk: UnsafeMutablePointer<AVFilterContext>?
        guard avfilter_graph_create_filter(&src, buffer, "in", arguments, nil, graph) >= 0,
              avfilter_graph_create_filter(&snk, buffersink, "out", nil, nil, graph) >= 0, let src, let snk else {
            avfilter_graph_free(&self.graph)
            throw VideoIOError.failed(path, "cannot set up the filter \(chain)")
        }
        (source, sink) = (src, snk)
        // The chain's open ends: its input is our source's output, its output our sink's input.
        let outputs = avfilter_inout_alloc(), inputs = avfilter_inout_alloc()
        outputs?.pointee.name = av_strdup("in")
        outputs?.pointee.filter_ctx = src
        inputs?.pointee.name = av_strdup("out")
        inputs?.pointee.filter_ctx = snk
        var (o, i) = (outputs, inputs)
        defer { avfilter_inout_free(&o); avfilter_inout_free(&i) }
        let parsed = avfilter_graph_parse_ptr(graph, chain, &i, &o, nil)
        let configured = parsed >= 0 ? avfilter_graph_config(graph, nil) : parsed
        guard configured >= 0 else {
            avfilter_graph_free(&self.graph)
            throw VideoIOError.failed(path, "cannot set up the filter \(chain): \(ffmpegMessage(configured))")
        }
    }

    deinit { avfilter_graph_free(&graph) }

    /// Hands a frame to the chain (nil: the end of the stream, to flush what it holds).
    func push(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        let r = av_buffersrc_add_frame_flags(source, frame, Int32(AV_BUFFERSRC_FLAG_KEEP_REF))
        guard r >= 0 else { throw VideoIOError.failed(path, "filtering failed: \(ffmpegMessage(r))") }
    }

    /// The next filtered frame into `frame`, or false when the chain needs more input (or is done).
    func pull(into frame: UnsafeMutablePointer<AVFrame>) throws -> Bool {
        let r = av_buffersink_get_frame(sink, frame)
        if r == hone_averror_eagain() || r == hone_averror_eof() { return false }
        guard r >= 0 else { throw VideoIOError.failed(path, "filtering failed: \(ffmpegMessage(r))") }
        return true
    }
}
