import CFFmpeg
import Foundation

/// A file carried inside a Matroska container beside its streams (fonts for
/// subtitles, cover art, a network that restores the video).
public struct Attachment: Sendable, Equatable {
    public let fileName: String, mimeType: String
    public let data: Data

    public init(fileName: String, mimeType: String, data: Data) {
        (self.fileName, self.mimeType, self.data) = (fileName, mimeType, data)
    }

    /// The MIME type of the network `hone pack` attaches, which an upscaled copy does not carry on.
    public static let honeNetworkMIMEType = "application/x-hone-delivery"
}

extension MediaInput {
    /// The container's attachments (Matroska's; other containers have none).
    public var attachments: [Attachment] {
        streams.compactMap { stream in
            let par = stream.pointee.codecpar.pointee
            guard par.codec_type == AVMEDIA_TYPE_ATTACHMENT else { return nil }
            func tag(_ key: String) -> String { av_dict_get(stream.pointee.metadata, key, nil, 0).map { String(cString: $0.pointee.value) } ?? "" }
            let data = par.extradata.map { Data(bytes: $0, count: Int(max(par.extradata_size, 0))) } ?? Data()
            return Attachment(fileName: tag("filename"), mimeType: tag("mimetype"), data: data)
        }
    }
}

/// Copies `input`'s video, audio and subtitle streams packet for packet (no
/// re-encoding) into the Matroska file `output`, with its tags, its cover art and
/// attachments except those of a MIME type in `attachments`, and `attachments`.
/// Written under a temporary name and renamed at the end.
/// - Throws: `VideoIOError` naming the input, or the output (not .mkv, cannot be written).
public func remux(_ input: String, to output: String, attachments: [Attachment]) throws {
    let source = try MediaInput(input)
    let target = try OutputTarget(output, pipeFormat: "matroska")
    guard target.kind == .file, target.formatName == "matroska" else {
        throw VideoIOError.cannotWrite(output, "attachments need a Matroska file (.mkv)")
    }
    var oc: UnsafeMutablePointer<AVFormatContext>?
    guard avformat_alloc_output_context2(&oc, target.format, nil, target.writePath) >= 0, let oc else {
        throw VideoIOError.cannotWrite(output, "cannot create the output container")
    }
    defer { avformat_free_context(oc) }
    let replaced = Set(attachments.map(\.mimeType))
    var copies: [Int32: UnsafeMutablePointer<AVStream>] = [:]
    for stream in source.streams {
        let par = stream.pointee.codecpar!
        let kind = par.pointee.codec_type
        if CoverArt.isCover(stream) {
            _ = CoverArt.add(stream, to: oc)  // as an attachment; a cover in a codec other than JPEG, PNG, WebP or BMP is left out
            continue
        }
        guard [AVMEDIA_TYPE_VIDEO, AVMEDIA_TYPE_AUDIO, AVMEDIA_TYPE_SUBTITLE, AVMEDIA_TYPE_ATTACHMENT].contains(kind) else { continue }
        if kind == AVMEDIA_TYPE_ATTACHMENT, let mime = av_dict_get(stream.pointee.metadata, "mimetype", nil, 0),
           replaced.contains(String(cString: mime.pointee.value)) { continue }
        guard let out = avformat_new_stream(oc, nil) else { throw VideoIOError.failed(output, "out of memory") }
        avcodec_parameters_copy(out.pointee.codecpar, par)
        out.pointee.codecpar.pointee.codec_tag = 0
        out.pointee.time_base = stream.pointee.time_base
        copyDescription(from: stream, to: out, in: oc)
        if kind != AVMEDIA_TYPE_ATTACHMENT { copies[stream.pointee.index] = out }
    }
    for attachment in attachments {
        guard let out = avformat_new_stream(oc, nil), let bytes = av_mallocz(attachment.data.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else {
            throw VideoIOError.failed(output, "out of memory")
        }
        attachment.data.copyBytes(to: bytes.assumingMemoryBound(to: UInt8.self), count: attachment.data.count)
        out.pointee.codecpar.pointee.codec_type = AVMEDIA_TYPE_ATTACHMENT
        out.pointee.codecpar.pointee.extradata = bytes.assumingMemoryBound(to: UInt8.self)
        out.pointee.codecpar.pointee.extradata_size = Int32(attachment.data.count)
        av_dict_set(&out.pointee.metadata, "filename", attachment.fileName, 0)
        av_dict_set(&out.pointee.metadata, "mimetype", attachment.mimeType, 0)
    }
    copyTags(source.format.pointee.metadata, into: &oc.pointee.metadata)

    var r = avio_open(&oc.pointee.pb, target.writePath, AVIO_FLAG_WRITE)
    guard r >= 0 else { throw VideoIOError.cannotWrite(output, ffmpegMessage(r)) }
    var committed = false
    defer { if !committed { avio_closep(&oc.pointee.pb); target.discard() } }
    r = avformat_write_header(oc, nil)
    guard r >= 0 else { throw writeError(r, output) }
    guard let packet = av_packet_alloc() else { throw VideoIOError.failed(output, "out of memory") }
    var owned: UnsafeMutablePointer<AVPacket>? = packet
    defer { av_packet_free(&owned) }
    while try source.read(into: packet) {
        defer { av_packet_unref(packet) }
        let index = packet.pointee.stream_index
        guard let out = copies[index] else { continue }
        av_packet_rescale_ts(packet, source.streams[Int(index)].pointee.time_base, out.pointee.time_base)
        packet.pointee.stream_index = out.pointee.index
        packet.pointee.pos = -1
        r = av_interleaved_write_frame(oc, packet)
        guard r >= 0 else { throw writeError(r, output) }
    }
    r = av_write_trailer(oc)
    guard r >= 0 else { throw writeError(r, output) }
    r = avio_closep(&oc.pointee.pb)
    guard r >= 0 else { throw writeError(r, output) }
    try target.commit()
    committed = true
}

/// Cover art: a picture a container carries beside the video (MP4's `covr`
/// atom, a Matroska attachment such as cover.jpg), which demuxers give as a
/// one-picture video stream with the attached-picture disposition.
enum CoverArt {
    static func isCover(_ stream: UnsafeMutablePointer<AVStream>) -> Bool {
        stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0
    }

    /// How a cover went into an output.
    enum Carried {
        /// An attached-picture stream, whose one packet (the picture) is written after the header.
        case picture(UnsafeMutablePointer<AVStream>)
        /// A Matroska attachment, written with the header.
        case attachment
    }

    /// Adds `cover` to `output` as its container holds covers: MP4 and its
    /// iTunes variants (.m4a, .m4v) as `covr`, Matroska as an attachment (the
    /// Matroska specification's cover.jpg / cover.png). nil: the container holds
    /// none (FFmpeg 5.1's .mov and .3gp writers leave `covr` out, WebM takes no attachments).
    static func add(_ cover: UnsafeMutablePointer<AVStream>, to output: UnsafeMutablePointer<AVFormatContext>) -> Carried? {
        let par = cover.pointee.codecpar!
        switch String(cString: output.pointee.oformat.pointee.name) {
        case "mp4", "ipod":
            guard let out = avformat_new_stream(output, nil) else { return nil }
            avcodec_parameters_copy(out.pointee.codecpar, par)
            out.pointee.codecpar.pointee.codec_tag = 0
            out.pointee.disposition = AV_DISPOSITION_ATTACHED_PIC
            out.pointee.time_base = cover.pointee.time_base
            return .picture(out)
        case "matroska":
            let picture = cover.pointee.attached_pic
            let extensions = [AV_CODEC_ID_MJPEG: "jpg", AV_CODEC_ID_PNG: "png", AV_CODEC_ID_WEBP: "webp", AV_CODEC_ID_BMP: "bmp"]
            guard let ext = extensions[par.pointee.codec_id], picture.size > 0, let data = picture.data,
                  let out = avformat_new_stream(output, nil),
                  let bytes = av_mallocz(Int(picture.size) + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else { return nil }
            bytes.copyMemory(from: data, byteCount: Int(picture.size))
            out.pointee.codecpar.pointee.codec_type = AVMEDIA_TYPE_ATTACHMENT
            out.pointee.codecpar.pointee.codec_id = par.pointee.codec_id
            out.pointee.codecpar.pointee.extradata = bytes.assumingMemoryBound(to: UInt8.self)
            out.pointee.codecpar.pointee.extradata_size = picture.size
            copyTags(cover.pointee.metadata, into: &out.pointee.metadata)
            if av_dict_get(out.pointee.metadata, "filename", nil, 0) == nil { av_dict_set(&out.pointee.metadata, "filename", "cover.\(ext)", 0) }
            if av_dict_get(out.pointee.metadata, "mimetype", nil, 0) == nil {
                av_dict_set(&out.pointee.metadata, "mimetype", ext == "jpg" ? "image/jpeg" : "image/\(ext)", 0)
            }
            return .attachment
        default:
            return nil
        }
    }

    /// Writes the picture of a cover carried as `.picture(stream)`.
    /// - Throws: `VideoIOError` naming `path` when the muxer refuses it.
    static func writePicture(of cover: UnsafeMutablePointer<AVStream>, to stream: UnsafeMutablePointer<AVStream>,
                             in output: UnsafeMutablePointer<AVFormatContext>, path: String) throws {
        guard let packet = av_packet_clone(&cover.pointee.attached_pic) else { throw VideoIOError.failed(path, "out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        packet.pointee.stream_index = stream.pointee.index
        packet.pointee.pos = -1
        let r = av_interleaved_write_frame(output, packet)
        guard r >= 0 else { throw writeError(r, path) }
    }
}
