import Foundation
import Hummingbird
import Jobs
import Networks
import Quality
import Training
import VideoIO

/// An answer the API gives instead of a result: a status and one line, as JSON `{"error": "…"}`.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) { (self.status, self.message) = (status, message) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// An uploaded video, streamed to disk under a fixed name in its job's folder
/// (never the name the browser sent), then checked with libavformat.
enum Upload {
    static let fileName = "upload"

    /// Writes `body` to `folder/upload`, refusing more than `maxBytes`, and
    /// returns what libavformat found in it. On any failure nothing is left in `folder`.
    /// - Throws: `APIError` 413 when too large, 415 when it is not a video (libavformat's reason given), 500 when the disk fails.
    static func receive(_ body: RequestBody, declaredLength: Int?, into folder: URL, maxBytes: Int, name: String) async throws -> VideoInfo {
        if let declaredLength, declaredLength > maxBytes { throw tooLarge(maxBytes) }
        let partial = folder.appendingPathComponent(".partial-" + fileName).path
        let descriptor = open(partial, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw APIError(.internalServerError, "cannot store the upload (\(String(cString: strerror(errno))))") }
        var keep = false
        defer {
            close(descriptor)
            if !keep { unlink(partial) }
        }
        var received = 0
        for try await buffer in body {
            received += buffer.readableBytes
            if received > maxBytes { throw tooLarge(maxBytes) }
            try buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    guard n > 0 else { throw APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"), "cannot store the upload (\(String(cString: strerror(errno))))") }
                    offset += n
                }
            }
        }
        guard received > 0 else { throw APIError(.badRequest, "\(name): the upload is empty") }
        let info: VideoInfo
        do {
            info = try MediaInput(partial).info
        } catch VideoIOError.noVideoStream {
            throw APIError(.unsupportedMediaType, "\(name) has no video stream")
        } catch {
            throw APIError(.unsupportedMediaType, "\(name) is not a video FFmpeg can read")
        }
        if info.isStill { throw APIError(.unsupportedMediaType, "\(name) is a still picture, not a video") }
        guard rename(partial, folder.appendingPathComponent(fileName).path) == 0 else {
            throw APIError(.internalServerError, "cannot store the upload (\(String(cString: strerror(errno))))")
        }
        keep = true
        return info
    }

    static func tooLarge(_ maxBytes: Int) -> APIError {
        APIError(.contentTooLarge, "the upload is larger than the server's limit of \(ByteCountFormatter.string(fromByteCount: Int64(maxBytes), countStyle: .file))")
    }
}
