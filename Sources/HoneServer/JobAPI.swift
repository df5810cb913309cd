import Foundation
import GRDB
import Hummingbird
import Jobs
import Networks
import Quality
import Synchronization
import Training

/// What the API says about a job: its record, its place in the queue, its
/// live progress while running, and the files it offers once done.
struct JobStatus: Codable, Sendable, Equatable {
    var id, name: String
    var state: JobState
    /// Place in the queue from 1 (queued jobs only).
    var position: Int?
    var options: JobOptions
    var created: Double
    var started, finished: Double?
    var message: String?
    var reports: [String]
    var progress: LiveProgress?
    var result: JobResult?
    /// Names to fetch under `files/` (a done job's only).
    var files: [String]
}

/// The JSON API under `/api/` (the page uses it too):
///
///     GET    /api/jobs                   every job, newest first, and the options the server offers
///     POST   /api/jobs?scale=2&epochs=3&preset=natural&name=clip.mp4   body: the video → the new job (201)
///     GET    /api/jobs/ID                one job
///     GET    /api/jobs/ID/events         the job as Server-Sent Events, until it ends
///     POST   /api/jobs/ID/cancel         stops a queued or running job
///     DELETE /api/jobs/ID                removes a job that is not running, with its files
///     GET    /api/jobs/ID/files/NAME     a done job's file (enhanced.mp4, compare.mp4, model.ckpt, still-N-{bicubic,hone}.png)
///
/// Errors are `{"error": "…"}` with 400 (bad options), 401 (token), 404 (no such job or file),
/// 409 (not in a state for that), 413 (too large), 415 (not a video), 429 (queue or uploads full).
struct JobAPI: Sendable {
    let store: JobStore
    let runner: JobRunner
    let options: ServerOptions
    /// Uploads under way.
    private let uploading = UploadCount()

    init(store: JobStore, runner: JobRunner, options: ServerOptions) {
        (self.store, self.runner, self.options) = (store, runner, options)
    }

    func add(to api: RouterGroup<BasicRequestContext>) {
        api.get("jobs") { _, _ in
            let statuses = try self.statuses()
            return try json(JobList(jobs: statuses, scales: JobOptions.scales, presets: LossPreset.allCases.map(\.rawValue),
                                    models: ["base"], maxUpload: options.maxUpload))
        }
        api.post("jobs") { request, _ in try await self.submit(request) }
        api.get("jobs/:id") { _, context in try json(try self.status(context.parameters.get("id") ?? "")) }
        api.get("jobs/:id/events") { _, context in try self.events(context.parameters.get("id") ?? "") }
        api.post("jobs/:id/cancel") { _, context in try json(try self.cancel(context.parameters.get("id") ?? "")) }
        api.delete("jobs/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let job = try store.job(id) else { throw notFound(id) }
            guard job.state != .running else { throw APIError(.conflict, "job \(id) is running; cancel it first") }
            try store.delete(id)
            return Response(status: .noContent)
        }
        api.get("jobs/:id/files/:file") { request, context in
            try await self.file(context.parameters.get("id") ?? "", context.parameters.get("file") ?? "", request: request, context: context)
        }
    }

    struct JobList: Codable {
        var jobs: [JobStatus]
        var scales: [Int]
        var presets: [String]
        var models: [String]
        var maxUpload: Int
    }

    func statuses() throws -> [JobStatus] {
        let queue = try store.queue()
        return try store.all().map { status(of: $0, queue: queue) }
    }

    func status(_ id: String) throws -> JobStatus {
        guard let job = try store.job(id) else { throw notFound(id) }
        return status(of: job, queue: job.state == .queued ? try store.queue() : [])
    }

    private func status(of job: JobRecord, queue: [String]) -> JobStatus {
        let files: [String] = job.state == .done
            ? [ResultFile.enhanced, .comparison, .checkpoint].map(\.rawValue)
                + (0..<(job.result?.stills ?? 0)).flatMap { [ResultFile.still($0 + 1, .bicubic).rawValue, ResultFile.still($0 + 1, .hone).rawValue] }
            : []
        return JobStatus(id: job.id, name: job.name, state: job.state, position: queue.firstIndex(of: job.id).map { $0 + 1 },
                         options: job.options, created: job.created, started: job.started, finished: job.finished, message: job.message,
                         reports: job.reports, progress: job.state == .running ? runner.progress(of: job.id) : nil,
                         result: job.result, files: files)
    }

    /// Streams the upload into a new job's folder, checks it, and queues the job.
    private func submit(_ request: Request) async throws -> Response {
        let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { $1 })
        let jobOptions: JobOptions
        do { jobOptions = try JobOptions(query: query) } catch let error as UsageError { throw APIError(.badRequest, error.description) }
        // Shown on the page, never used as a path.
        let name = String((query["name"] ?? "video").filter { !$0.isNewline }.prefix(200))
        // A client that lost the answer to its upload (a dropped connection, a server restart) sends it again
        // with the same Idempotency-Key, and gets the job it already has instead of a second one.
        let submission = request.headers.first { $0.name.canonicalName == "idempotency-key" }.map { String($0.value.prefix(200)) }
        if let submission, let job = try store.job(submission: submission) { return try json(try status(job.id)) }
        guard try store.queue().count < options.maxQueue else {
            throw APIError(.tooManyRequests, "the queue is full (\(options.maxQueue) job\(options.maxQueue == 1 ? "" : "s") waiting); try again when one has finished")
        }
        guard uploading.count.add(1, ordering: .relaxed).newValue <= options.maxUploads else {
            uploading.count.subtract(1, ordering: .relaxed)
            throw APIError(.tooManyRequests, "\(options.maxUploads) uploads are already under way; try again when one has finished")
        }
        defer { uploading.count.subtract(1, ordering: .relaxed) }

        let job = JobRecord(id: JobRecord.newID(), name: name, options: jobOptions, state: .queued, created: Date().timeIntervalSince1970,
                            reports: [], submission: submission)
        let folder = store.folder(of: job.id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            let info = try await Upload.receive(request.body, declaredLength: request.headers[.contentLength].flatMap { Int($0) },
                                                into: folder, maxBytes: options.maxUpload, name: name)
            var job = job
            job.reports.append(String(format: "uploaded %@: %d×%d, %.1f s at %.3g fps", info.codec, info.width, info.height, info.duration, info.frameRate))
            do { try store.insert(job) } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                // The same submission, sent twice at once: the other one was stored first.
                try? FileManager.default.removeItem(at: folder)
                guard let submission, let first = try store.job(submission: submission) else { throw error }
                return try json(try status(first.id))
            }
            runner.poke()
            return try json(try status(job.id), status: .created)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    private func cancel(_ id: String) throws -> JobStatus {
        guard let job = try store.job(id) else { throw notFound(id) }
        switch job.state {
        case .queued:
            // The runner may be taking it up right now: mark it only if still queued, else ask the run to stop.
            let marked = try store.update(id) { job in
                guard job.state == .queued else { return }
                (job.state, job.message, job.finished) = (.cancelled, "cancelled before it started", Date().timeIntervalSince1970)
            }
            if marked?.state != .cancelled { _ = runner.cancel(id) }
        case .running:
            _ = runner.cancel(id)
        case .done, .failed, .cancelled:
            throw APIError(.conflict, "job \(id) has already ended (\(job.state.rawValue))")
        }
        return try status(id)
    }

    /// The job's status as Server-Sent Events (`data: {…}`) twice a second while it changes, until it ends
    /// or the server stops.
    private func events(_ id: String) throws -> Response {
        _ = try status(id)
        let body = ResponseBody { writer in
            var last: JobStatus?
            var quiet = 0
            while true {
                let now = try self.status(id)
                if now != last {
                    try await writer.write(ByteBuffer(string: "data: \(String(decoding: try jsonEncoder.encode(now), as: UTF8.self))\n\n"))
                    (last, quiet) = (now, 0)
                } else if quiet >= 30 {
                    try await writer.write(ByteBuffer(string: ": still here\n\n"))
                    quiet = 0
                }
                if now.state.isFinished || runner.isStopping { break }
                quiet += 1
                try await Task.sleep(for: .milliseconds(500))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"], body: body)
    }

    /// A done job's file, by one of the names the job offers; byte ranges for seeking in the video.
    private func file(_ id: String, _ name: String, request: Request, context: BasicRequestContext) async throws -> Response {
        guard let job = try store.job(id) else { throw notFound(id) }
        guard job.state == .done else { throw APIError(.conflict, "job \(id) is \(job.state.rawValue); its files come when it is done") }
        guard let file = ResultFile(name, stills: job.result?.stills ?? 0) else {
            throw APIError(.notFound, "job \(id) has no file named '\(name)'")
        }
        let path = store.folder(of: id).appendingPathComponent(file.rawValue).path
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil else {
            throw APIError(.notFound, "job \(id)'s \(file.rawValue) is gone")
        }
        var headers: HTTPFields = [.contentType: file.contentType, .acceptRanges: "bytes"]
        if file == .enhanced || file == .checkpoint {
            let download = file == .enhanced ? URL(fileURLWithPath: job.name).deletingPathExtension().lastPathComponent + ".hone-x\(job.options.scale).mp4" : "model.ckpt"
            headers[.contentDisposition] = "inline; filename=\"\(download.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && !$0.isNewline })\""
        }
        if let range = request.headers[.range].flatMap({ Self.byteRange($0, size: size) }) {
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = "\(range.count)"
            return Response(status: .partialContent, headers: headers,
                            body: try await FileIO().loadFile(path: path, range: range, context: context))
        }
        headers[.contentLength] = "\(size)"
        return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: path, context: context))
    }

    /// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size` (nil: none, or not satisfiable).
    static func byteRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let (from, to) = (Int(spec[..<dash]), Int(spec[spec.index(after: dash)...]))
        switch (from, to) {
        case let (a?, b?) where a <= b && a < size: return a...min(b, size - 1)
        case let (a?, nil) where a < size && spec.hasSuffix("-"): return a...(size - 1)
        case let (nil, n?) where spec.hasPrefix("-") && n > 0: return max(size - n, 0)...(size - 1)
        default: return nil
        }
    }
}

final class UploadCount: Sendable { let count = Atomic<Int>(0) }

private func notFound(_ id: String) -> APIError { APIError(.notFound, "no job \(id.prefix(40))") }

/// Sorted keys: the same job reads the same.
private let jsonEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()

private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: try jsonEncoder.encode(value))))
}
