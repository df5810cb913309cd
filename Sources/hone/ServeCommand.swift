import ArgumentParser
import Foundation
import HoneServer
import Jobs
import Networks
import Quality
import Training

/// `hone serve`: the web page and JSON API.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a web page to upload videos, follow their fine-tuning, compare and download the results.",
        discussion: """
            Jobs run one at a time and live in DATA/jobs.sqlite with their files in DATA/jobs/<id>/: \
            after a restart, or a crash, queued jobs are still queued and the one that was running \
            resumes from its last checkpoint. Ctrl-C or SIGTERM stops the server after the running \
            job has saved its checkpoint. The JSON API is described in the README (/api/jobs).
            Listening on an address other than loopback needs --token: clients send it in the header \
            X-Hone-Token, or open /?token=TOKEN once in the browser (it sets a cookie).
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port).")
    var port = 8080

    @Option(help: "Folder for the job database and the jobs' files.")
    var data = "hone-data"

    @Option(name: .customLong("max-upload"), help: "Largest upload accepted, in GiB.")
    var maxUpload = 4.0

    @Option(help: "A secret every client must send (letters, digits, . _ ~ -; at least 16 characters).")
    var token: String?

    @Option(name: .customLong("max-queue"), help: "Most jobs waiting at once.")
    var maxQueue = 20

    @Option(name: .customLong("save-every"), help: "Minutes between a fine-tuning's checkpoints: the most a crash loses.")
    var saveEvery = 1.0

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535, got \(port)") }
        guard maxUpload > 0 else { throw ValidationError("--max-upload must be more than 0 GiB") }
        guard maxQueue >= 1 else { throw ValidationError("--max-queue must be at least 1") }
        guard saveEvery > 0 else { throw ValidationError("--save-every must be more than 0 minutes") }
        if let token, token.count < 16 || !token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._~-".contains($0)) }) {
            throw ValidationError("--token must be at least 16 characters of letters, digits, . _ ~ -")
        }
    }

    func run() throws {
        var options = ServerOptions()
        (options.host, options.port, options.data, options.token) = (host, port, data, token)
        (options.maxUpload, options.maxQueue, options.saveEvery) = (Int(maxUpload * Double(1 << 30)), maxQueue, saveEvery)
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task.detached {
            do { try await Server.run(options, say: { say($0) }) } catch { failure = error }
            finished.signal()
        }
        finished.wait()
        if let failure { throw failure }
    }
}
