import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import XCTest

/// `hone serve` over real HTTP on 127.0.0.1: the API a script (and the page) uses.
final class ServeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("serve") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A `hone serve` process on a free port, and a client with its own cookies.
    final class Served: @unchecked Sendable {
        let process = Process()
        let base: URL
        let session = URLSession(configuration: .ephemeral)
        private let output = Pipe()
        var token: String?

        init(data: String, _ extra: [String] = []) throws {
            process.executableURL = URL(fileURLWithPath: CLITests.hone)
            process.arguments = ["serve", "--port", "0", "--data", data] + extra
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The first line announces the address.
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else { throw URLError(.cannotConnectToHost) }
                line += chunk
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let range = text.range(of: #"http://127\.0\.0\.1:\d+/"#, options: .regularExpression) else {
                throw URLError(.badServerResponse, userInfo: [NSLocalizedDescriptionKey: text])
            }
            base = URL(string: String(text[range]))!
            // Later lines (a job started, ended) are read and dropped, so the pipe never fills.
            output.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        }

        /// Sends `signal` and waits up to 20 s for the exit (then kills it); false when it had to be killed.
        @discardableResult
        func stop(_ signal: Int32 = SIGTERM) -> Bool {
            guard process.isRunning else { return true }
            kill(process.processIdentifier, signal)
            let deadline = Date().addingTimeInterval(20)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            guard process.isRunning else { return true }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }

        struct Answer {
            let status: Int
            let body: Data
            let headers: [String: String]
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
            var error: String { json["error"] as? String ?? "" }
        }

        func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Answer {
            var request = URLRequest(url: URL(string: path, relativeTo: base)!)
            request.httpMethod = method
            request.httpBody = body
            if let token { request.setValue(token, forHTTPHeaderField: "X-Hone-Token") }
            for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
            let (data, response) = try await session.data(for: request)
            let http = response as! HTTPURLResponse
            let fields = Dictionary(http.allHeaderFields.map { ("\($0.key)".lowercased(), "\($0.value)") }, uniquingKeysWith: { a, _ in a })
            return Answer(status: http.statusCode, body: data, headers: fields)
        }

        /// Asserts the status a request gets.
        func expect(_ status: Int, _ method: String, _ path: String, headers: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) async throws {
            let answer = try await send(method, path, headers: headers)
            XCTAssertEqual(answer.status, status, "\(method) \(path): \(answer.error)", file: file, line: line)
        }

        /// Submits `file` and returns the new job's id.
        func submitted(_ file: String, _ query: String = "") async throws -> String {
            let answer = try await submit(file, query)
            guard answer.status == 201, let id = answer.json["id"] as? String else { throw URLError(.badServerResponse, userInfo: [NSLocalizedDescriptionKey: answer.error]) }
            return id
        }

        func submit(_ file: String, _ query: String = "") async throws -> Answer {
            try await send("POST", "api/jobs?name=\(URL(fileURLWithPath: file).lastPathComponent)&\(query)",
                           body: try Data(contentsOf: URL(fileURLWithPath: file)))
        }

        /// Polls the job until `until` holds of it (or the deadline passes).
        func wait(for id: String, seconds: Double = 120, until: ([String: Any]) -> Bool) async throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                let job = try await send("GET", "api/jobs/\(id)").json
                if until(job) || Date() > deadline { return job }
                try await Task.sleep(for: .milliseconds(200))
            }
        }

        func finished(_ id: String, seconds: Double = 120) async throws -> [String: Any] {
            try await wait(for: id, seconds: seconds) { ["done", "failed", "cancelled"].contains($0["state"] as? String ?? "") }
        }
    }

    func makeClip(_ name: String, seconds: Int = 2, size: String = "128x96") throws -> String {
        try Media.clip(path(name), seconds: seconds, size: size, rate: 10)
    }

    /// An upload sent again with the same Idempotency-Key (its answer was lost) gets the
    /// job it made, not a second one; a folder no job owns, and a job's temporary files,
    /// are gone after a restart.
    func testARetriedUploadIsOneJobAndLeftoversGoAtRestart() async throws {
        let data = path("data")
        var server = try Served(data: data)
        let clip = try Data(contentsOf: URL(fileURLWithPath: try makeClip("clip.mp4")))
        let key = ["Idempotency-Key": "7d1f0c2e-retry"]
        let first = try await server.send("POST", "api/jobs?name=a.mp4&epochs=1", body: clip, headers: key)
        let again = try await server.send("POST", "api/jobs?name=a.mp4&epochs=1", body: clip, headers: key)
        XCTAssertEqual([first.status, again.status], [201, 200], again.error)
        XCTAssertEqual(again.json["id"] as? String, first.json["id"] as? String)
        let other = try await server.send("POST", "api/jobs?name=b.mp4&epochs=1", body: clip, headers: ["Idempotency-Key": "another"])
        XCTAssertEqual(other.status, 201)
        let listed = try await server.send("GET", "api/jobs")
        XCTAssertEqual((listed.json["jobs"] as? [Any])?.count, 2)
        server.stop(SIGKILL)

        let id = try XCTUnwrap(first.json["id"] as? String)
        let jobs = URL(fileURLWithPath: data).appendingPathComponent("jobs")
        let orphan = jobs.appendingPathComponent("aaaaaaaaaaaaaaaaaaaaaaaaaa")  // an upload killed before it became a job
        try FileManager.default.createDirectory(at: orphan, withIntermediateDirectories: true)
        try Data("half".utf8).write(to: orphan.appendingPathComponent(".partial-upload"))
        let temporary = jobs.appendingPathComponent(id).appendingPathComponent(".enhanced.mp4.partial-999999.mp4")
        try Data("half".utf8).write(to: temporary)
        server = try Served(data: data)
        defer { server.stop() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary.path))
        XCTAssert(FileManager.default.fileExists(atPath: jobs.appendingPathComponent(id).appendingPathComponent("upload").path))
    }

    /// The short chaos run (`bench/serve_chaos.py --short`): jobs from two clients while
    /// the server is killed with SIGKILL during an upload, a fine-tune and an encode and
    /// restarted, then a data folder that fills up. Its seed is printed, to replay a failure.
    func testServerSurvivesKillsAndAFullDisk() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [Media.projectRoot.appendingPathComponent("bench/serve_chaos.py").path, CLITests.hone, "--short", "--limit", "150"]
        let output = Pipe()
        (p.standardOutput, p.standardError) = (output, output)
        try p.run()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        print(said)
        XCTAssertEqual(p.terminationStatus, 0, said)
    }

    func testAJobFromUploadToDownload() async throws {
        let server = try Served(data: path("data"))
        defer { server.stop() }
        let clip = try makeClip("clip.mp4")
        let submitted = try await server.submit(clip, "epochs=1&preset=pixel-exact")
        XCTAssertEqual(submitted.status, 201, submitted.error)
        let id = try XCTUnwrap(submitted.json["id"] as? String)
        XCTAssertEqual(id.count, 26)

        // The events stream follows the job to its end.
        let events = try await server.send("GET", "api/jobs/\(id)/events")
        XCTAssertEqual(events.headers["content-type"], "text/event-stream; charset=utf-8")
        let lines = String(decoding: events.body, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("data: ") }
        XCTAssertEqual(lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }?["state"] as? String,
                       "done", "\(lines)")

        let job = try await server.finished(id)
        XCTAssertEqual(job["state"] as? String, "done", "\(job)")
        let result = try XCTUnwrap(job["result"] as? [String: Any])
        XCTAssertEqual(result["frames"] as? Int, 20)
        XCTAssertEqual(result["stills"] as? Int, 3)
        XCTAssertNotNil(result["finetunedPSNR"] as? Double)
        XCTAssertNotNil(result["blockiness"] as? Double)
        XCTAssert((result["damageFound"] as? String)?.contains("targets") == true, "the video's analysis is said: \(result)")
        XCTAssert((job["reports"] as? [String] ?? []).contains { $0.hasPrefix("epoch 1/1") }, "\(job)")

        let video = try await server.send("GET", "api/jobs/\(id)/files/enhanced.mp4")
        XCTAssertEqual(video.status, 200)
        XCTAssertEqual(video.headers["content-disposition"], "inline; filename=\"clip.hone-x2.mp4\"")
        try video.body.write(to: URL(fileURLWithPath: path("enhanced.mp4")))
        XCTAssertEqual(try Media.probe(path("enhanced.mp4"), stream: "v:0", "stream=width,height"), ["width": "256", "height": "192"])
        XCTAssertEqual(try Media.probe(path("enhanced.mp4"), stream: "a:0", "stream=codec_type"), ["codec_type": "audio"])
        let part = try await server.send("GET", "api/jobs/\(id)/files/enhanced.mp4", headers: ["Range": "bytes=4-11"])
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.body, video.body[4...11])
        let still = try await server.send("GET", "api/jobs/\(id)/files/still-2-hone.png")
        XCTAssertEqual(still.headers["content-type"], "image/png")
        XCTAssertEqual(still.body.prefix(4), Data([0x89, 0x50, 0x4E, 0x47]))

        let page = try await server.send("GET", "/")
        XCTAssert(String(decoding: page.body, as: UTF8.self).contains("<title>Hone</title>"))

        // Deleting removes the job and its folder.
        let deleted = try await server.send("DELETE", "api/jobs/\(id)")
        XCTAssertEqual(deleted.status, 204)
        try await server.expect(404, "GET", "api/jobs/\(id)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("data/jobs/\(id)")))
    }

    func testBadRequestsGetOneLineAndAStatus() async throws {
        // A limit of about 20 kB: the clip fits, a larger file does not.
        let server = try Served(data: path("data"), ["--max-upload", "0.00002"])
        defer { server.stop() }
        try Data("this is not a video\n".utf8).write(to: URL(fileURLWithPath: path("notes.mp4")))
        let notVideo = try await server.submit(path("notes.mp4"))
        XCTAssertEqual(notVideo.status, 415)
        XCTAssertEqual(notVideo.error, "notes.mp4 is not a video FFmpeg can read")
        let tooLarge = try await server.send("POST", "api/jobs?name=big.mp4", body: Data(count: 30_000))
        XCTAssertEqual(tooLarge.status, 413)
        XCTAssert(tooLarge.error.hasPrefix("the upload is larger than the server's limit"), tooLarge.error)
        try Media.ffmpeg(["-f", "lavfi", "-i", "sine", "-t", "1", path("song.m4a")])
        let song = try await server.submit(path("song.m4a"))
        XCTAssertEqual(song.status, 415)
        XCTAssertEqual(song.error, "song.m4a has no video stream")
        let picture = path("picture.png")
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", picture])
        let still = try await server.submit(picture)
        XCTAssertEqual(still.status, 415)
        XCTAssertEqual(still.error, "picture.png is a still picture, not a video")
        let badScale = try await server.submit(try makeClip("clip.mp4", seconds: 1), "scale=3")
        XCTAssertEqual(badScale.status, 400)
        XCTAssertEqual(badScale.error, "scale must be one of 1, 2, 4, got '3'")
        let badLight = try await server.submit(path("clip.mp4"), "light=bright")
        XCTAssertEqual(badLight.status, 400)
        XCTAssertEqual(badLight.error, "light must be auto or a strength from 0 (none) to 1 (the whole correction), got bright")
        // Nothing was left behind by the refused uploads.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("data/jobs")), [])

        let unknown = "a" + String(repeating: "b", count: 25)
        for path in ["api/jobs/\(unknown)", "api/jobs/\(unknown)/files/enhanced.mp4", "api/jobs/..%2F..%2Fjobs.sqlite",
                     "api/jobs/%2Fetc%2Fpasswd/files/x"] {
            try await server.expect(404, "GET", path)
        }
        try await server.expect(404, "POST", "api/jobs/\(unknown)/cancel")

        // The light choice goes through to the job (the curves run before the upscale).
        let id = try await server.submitted(path("clip.mp4"), "epochs=1&light=auto")
        let done = try await server.finished(id)
        XCTAssertEqual(done["state"] as? String, "done", "\(done)")
        XCTAssertEqual((done["options"] as? [String: Any])?["light"] as? String, "auto", "\(done)")
        for name in ["..%2F..%2Fjobs.sqlite", "%2Fetc%2Fpasswd", "upload", "%2E%2E", "still-4-hone.png", "enhanced.mp4%00"] {
            try await server.expect(404, "GET", "api/jobs/\(id)/files/\(name)")
        }
        let late = try await server.send("POST", "api/jobs/\(id)/cancel")
        XCTAssertEqual(late.status, 409)
        XCTAssertEqual(late.error, "job \(id) has already ended (done)")

        // A video too small to train on fails with a message naming it as uploaded, not the server's copy.
        let tiny = try await server.submitted(try makeClip("tiny.mp4", seconds: 1, size: "48x32"))
        let failed = try await server.finished(tiny)
        XCTAssertEqual(failed["state"] as? String, "failed", "\(failed)")
        let message = failed["message"] as? String ?? ""
        XCTAssert(message.contains("tiny.mp4") && !message.contains("/jobs/"), message)

        // What a browser would send on another site's behalf.
        let crossSite = try await server.send("POST", "api/jobs/\(id)/cancel", headers: ["Origin": "http://evil.example"])
        XCTAssertEqual(crossSite.status, 403)
        XCTAssertEqual(crossSite.error, "a page from http://evil.example cannot send requests to this server")
        for host in ["evil.example:8080", "127.evil.example", "127.0.0.1.evil.example"] {
            let rebound = try await server.send("GET", "api/jobs", headers: ["Host": host])
            XCTAssertEqual(rebound.status, 403, "\(host): \(rebound.error)")
        }
        let nowhere = try await server.send("PUT", "api/jobs")
        XCTAssertEqual(nowhere.status, 404)
        XCTAssertEqual(nowhere.error, "PUT /api/jobs is not part of Hone's API (see /api/jobs)")
        let sameSite = try await server.send("POST", "api/jobs/\(id)/cancel", headers: ["Origin": String(server.base.absoluteString.dropLast())])
        XCTAssertEqual(sameSite.status, 409, sameSite.error)

        // One server per data folder.
        let second = try CLITests.run(["serve", "--port", "0", "--data", path("data")])
        XCTAssertEqual(second.status, 1)
        XCTAssert(second.stderr.contains("another hone serve is using this data folder"), second.stderr)
        let samePort = try CLITests.run(["serve", "--port", "\(server.base.port!)", "--data", path("other")])
        XCTAssertEqual(samePort.status, 1)
        XCTAssertEqual(samePort.stderr, "Error: port \(server.base.port!) on 127.0.0.1 is in use (another server?); pass another --port\n")
    }

    func testATokenIsNeededBeyondLoopbackAndWhenSet() async throws {
        let open = try CLITests.run(["serve", "--host", "0.0.0.0", "--port", "0", "--data", path("data")])
        XCTAssertEqual(open.status, 64)
        XCTAssert(open.stderr.contains("listening on 0.0.0.0 lets other machines in: pass --token"), open.stderr)

        let token = "test-token-0123456789"
        let server = try Served(data: path("data"), ["--token", token])
        defer { server.stop() }
        let refused = try await server.send("GET", "api/jobs")
        XCTAssertEqual(refused.status, 401)
        XCTAssert(refused.error.contains("needs its token"), refused.error)
        try await server.expect(401, "GET", "api/jobs", headers: ["X-Hone-Token": "wrong-token-0123456789"])
        try await server.expect(200, "GET", "api/jobs", headers: ["X-Hone-Token": token])
        // The browser's way: /?token= sets a cookie and sends it back to the page.
        let page = try await server.send("GET", "/?token=\(token)")
        XCTAssertEqual(page.status, 200)
        try await server.expect(200, "GET", "api/jobs")
    }

    func testCancelQueuedAndRunningJobs() async throws {
        let server = try Served(data: path("data"), ["--max-queue", "1"])
        defer { server.stop() }
        let clip = try makeClip("clip.mp4", seconds: 4)
        let first = try await server.submitted(clip, "epochs=20")
        let running = try await server.wait(for: first) { ($0["progress"] as? [String: Any])?["stage"] as? String == "fine-tune" }
        XCTAssertEqual(running["state"] as? String, "running", "\(running)")
        let progress = try XCTUnwrap(running["progress"] as? [String: Any])
        XCTAssertEqual(progress["unit"] as? String, "steps")
        XCTAssertEqual((progress["total"] as? Int ?? 0) % 20, 0, "20 epochs of whole steps: \(progress)")
        let second = try await server.submit(clip, "epochs=1")
        XCTAssertEqual(second.json["position"] as? Int, 1, "\(second.json)")
        let secondID = try XCTUnwrap(second.json["id"] as? String)
        let third = try await server.submit(clip)
        XCTAssertEqual(third.status, 429)
        XCTAssertEqual(third.error, "the queue is full (1 job waiting); try again when one has finished")

        let cancelledWaiting = try await server.send("POST", "api/jobs/\(secondID)/cancel").json["state"] as? String
        XCTAssertEqual(cancelledWaiting, "cancelled")
        try await server.expect(409, "DELETE", "api/jobs/\(first)")
        try await server.expect(200, "POST", "api/jobs/\(first)/cancel")
        let cancelled = try await server.finished(first, seconds: 30)
        XCTAssertEqual(cancelled["state"] as? String, "cancelled", "\(cancelled)")
        try await server.expect(409, "GET", "api/jobs/\(first)/files/enhanced.mp4")
    }

    /// The live socket as a script would use it, with the base (the default) and the fast tier: a 160×90
    /// frame comes back as 320×180 twice (Hone, then bicubic); an unknown model is one line; a frame
    /// whose size does not match its header closes the socket, and the server goes on.
    func testTheLiveSocket() async throws {
        let server = try Served(data: path("data"))
        defer { server.stop() }
        let (w, h) = (160, 90)
        var frame = [UInt8(w & 255), UInt8(w >> 8), UInt8(h & 255), UInt8(h >> 8)]
        for i in 0..<(w * h) {
            let (red, green): (UInt8, UInt8) = (UInt8(i % w * 255 / w), UInt8(i / w * 255 / h))
            frame += [red, green, 128, 255]
        }
        for query in ["", "?model=fast"] {
            let socket = try LiveSocket(port: server.base.port!, query: query)
            for _ in 0..<3 {
                try socket.send(frame)
                let reply = try socket.receive()
                XCTAssertEqual(reply.count, 4 + 2 * (2 * w) * (2 * h) * 4)
                XCTAssertEqual(Array(reply.prefix(4)), [64, 1, 180, 0])
                // Hone and bicubic agree roughly on a smooth ramp.
                let (hone, bicubic) = (reply[4 + 4 * 1000], reply[4 + (2 * w) * (2 * h) * 4 + 4 * 1000])
                XCTAssertLessThan(abs(Int(hone) - Int(bicubic)), 24, query)
            }
        }
        let unknown = try LiveSocket(port: server.base.port!, query: "?model=huge")
        XCTAssertEqual(try unknown.receiveText(), "error: model must be base or fast, got 'huge'")
        let socket = try LiveSocket(port: server.base.port!)
        try socket.send(Array(frame.dropLast(7)))
        XCTAssertThrowsError(try socket.receive(), "a short frame closes the socket") {
            XCTAssertEqual(($0 as? URLError)?.code, .networkConnectionLost, "closed, not timed out: \($0)")
        }
        try await server.expect(200, "GET", "api/jobs")
    }

    /// Stopped mid-fine-tuning by SIGTERM, the server exits once the job has
    /// saved; killed (`kill -9`), it loses at most the steps since the last
    /// checkpoint. Either way, started again, it resumes the job first and finishes it.
    func testAJobSurvivesAStopAndACrash() async throws {
        let clip = try makeClip("clip.mp4")
        var server = try Served(data: path("data"), ["--save-every", "0.001"])
        let id = try await server.submitted(clip, "epochs=4")
        let waiting = try await server.submitted(clip, "epochs=1")
        let checkpoint = path("data/jobs/\(id)/model.ckpt")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint), Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let before = try await server.send("GET", "api/jobs/\(id)").json
        XCTAssertEqual(before["state"] as? String, "running", "\(before)")
        // An open event stream must not hold the stop up.
        let first = server
        let events = Task { try await first.send("GET", "api/jobs/\(id)/events") }
        try await Task.sleep(for: .milliseconds(300))
        XCTAssert(server.stop(SIGTERM), "the server did not stop within 20 s of SIGTERM")
        XCTAssertEqual(server.process.terminationStatus, 0)
        _ = try? await events.value

        func resumes(_ job: [String: Any]) -> Int { (job["reports"] as? [String] ?? []).filter { $0.hasPrefix("resuming at step") }.count }
        server = try Served(data: path("data"), ["--save-every", "0.001"])
        let again = try await server.wait(for: id) { resumes($0) == 1 }
        XCTAssertEqual(again["state"] as? String, "running", "\(again)")
        server.stop(SIGKILL)

        server = try Served(data: path("data"))
        defer { server.stop() }
        let resumed = try await server.finished(id)
        XCTAssertEqual(resumed["state"] as? String, "done", "\(resumed)")
        XCTAssertEqual(resumes(resumed), 2, "\(resumed)")
        let next = try await server.finished(waiting)["state"] as? String
        XCTAssertEqual(next, "done")
    }
}

/// A WebSocket client of the smallest kind (RFC 6455: the handshake, masked
/// binary frames out, unfragmented frames in), enough to drive the live mode.
final class LiveSocket {
    private let fd: Int32

    /// - Throws: `URLError` when the connection or the upgrade fails.
    init(port: Int, query: String = "") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw URLError(.cannotConnectToHost) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try write(Array(("GET /api/live\(query) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) { head += try read(1) }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else { throw URLError(.badServerResponse) }
    }

    deinit { close(fd) }

    func send(_ payload: [UInt8]) throws {
        var frame: [UInt8] = [0x82]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 255)]
        default: frame += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> (8 * $0)) & 255) }
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        try write(frame + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// The next binary message.
    /// - Throws: `URLError.networkConnectionLost` when the server closes the socket instead, `.timedOut` after 20 s.
    func receive() throws -> [UInt8] { try message(opcode: 2) }

    /// The next text message.
    func receiveText() throws -> String { String(decoding: try message(opcode: 1), as: UTF8.self) }

    private func message(opcode: UInt8) throws -> [UInt8] {
        let head = try read(2)
        guard head[0] & 0x0F == opcode else { throw URLError(.networkConnectionLost) }
        var count = Int(head[1] & 0x7F)
        if count == 126 { count = try read(2).reduce(0) { $0 << 8 | Int($1) } }
        if count == 127 { count = try read(8).reduce(0) { $0 << 8 | Int($1) } }
        return try read(count)
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw URLError(.networkConnectionLost) }
            sent += n
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count), got = 0
        while got < count {
            let n = bytes[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw URLError(.timedOut) }
            guard n > 0 else { throw URLError(.networkConnectionLost) }
            got += n
        }
        return bytes
    }
}
