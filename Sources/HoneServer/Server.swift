import Foundation
import Hummingbird
import HummingbirdWebSocket
import Jobs
import Logging
import NIOCore
import Networks
import Quality
import ServiceLifecycle
import Training

/// How `hone serve` listens, keeps its jobs and limits its clients.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0: any free port (the one chosen is announced).
    public var port = 8080
    /// The folder holding the job database and each job's files.
    public var data = "hone-data"
    /// Largest upload accepted, in bytes.
    public var maxUpload = 4 << 30
    /// Required from every client (header `X-Hone-Token`, or the cookie `/?token=` sets); needed to listen beyond loopback.
    public var token: String?
    /// Jobs waiting at most, and uploads at once.
    public var maxQueue = 20, maxUploads = 2
    /// Minutes between a fine-tuning's timed checkpoints, the most a crash can lose.
    public var saveEvery = 1.0

    public init() {}

    /// Whether `host` is a loopback address (only those may go without a token).
    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.") }
}

/// `hone serve`: the web page and JSON API over the job layer.
public enum Server {
    /// Serves until SIGINT or SIGTERM; the running job then saves its checkpoint and stays queued.
    /// Jobs run on a thread of their own: a process should limit glibc to one
    /// malloc arena before its first thread starts (`mallopt(M_ARENA_MAX, 1)`,
    /// as `hone` does), or large tensors are slow to allocate there.
    /// - Parameter say: called with a line for the log: the page's address once listening, then each job's start and end.
    /// - Throws: `UsageError` when listening beyond loopback without a token; `FileError` for an unusable data folder
    ///   or one another server uses; `ListenError` for a port in use or an unknown address.
    public static func run(_ options: ServerOptions, say: @escaping @Sendable (String) -> Void) async throws {
        guard options.isLoopback || options.token != nil else {
            throw UsageError("listening on \(options.host) lets other machines in: pass --token SECRET (clients send it), or use --host 127.0.0.1")
        }
        let logger = Logger(label: "hone.serve", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try JobStore(data: options.data)
        let requeued = try store.requeueInterrupted()
        let leftovers = try store.removeLeftovers()
        let runner = JobRunner(store: store, saveEvery: options.saveEvery, say: say)
        let api = JobAPI(store: store, runner: runner, options: options)

        let router = Router()
        router.add(middleware: JSONErrors())
        router.add(middleware: OriginCheck(loopback: options.isLoopback))
        if let token = options.token { router.add(middleware: TokenCheck(token: token)) }
        router.get("/") { _, _ in Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                                           body: ResponseBody(byteBuffer: ByteBuffer(string: Page.html))) }
        api.add(to: router.group("api"))

        let liveRouter = Router(context: BasicWebSocketRequestContext.self)
        liveRouter.add(middleware: OriginCheck(loopback: options.isLoopback))
        if let token = options.token { liveRouter.add(middleware: TokenCheck(token: token)) }
        LiveMode().add(to: liveRouter)

        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: liveRouter, configuration: .init(ws: .init(maxFrameSize: LiveMode.maxMessage))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "hone"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                let host = options.host.contains(":") ? "[\(options.host)]" : options.host
                say("Hone is serving http://\(host):\(port)/ (data in \(store.folder.path)"
                         + (requeued > 0 ? "; \(requeued) interrupted job\(requeued == 1 ? "" : "s") resumed" : "")
                         + (leftovers > 0 ? "; \(leftovers) leftover\(leftovers == 1 ? "" : "s") of an interrupted run removed" : "") + ")")
                runner.start()
            },
            logger: logger
        )
        // Shut down in reverse order: the runner first (the running job saves
        // its checkpoint, and open event streams end), then the server.
        let group = ServiceGroup(configuration: .init(services: [.init(service: app), .init(service: RunnerService(runner: runner))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ListenError("port \(options.port) on \(options.host) is in use (another server?); pass another --port")
        } catch is SocketAddressError.UnknownHost {
            throw ListenError("cannot listen on \(options.host): no such address; pass an address of this machine to --host")
        }
        say("stopped")
    }
}

/// The router's own answers (no such path, a method a path does not take)
/// as `{"error": "…"}`, like every other error of the API.
struct JSONErrors<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? "\(request.method) \(request.uri.path.prefix(200)) is not part of Hone's API (see /api/jobs)")
        }
    }
}

/// Where the server cannot listen (a port in use, an unknown address): not a file's fault, nor a usage error.
public struct ListenError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Stops the job queue (started once the server listens) on shutdown, after the running job saves its checkpoint.
struct RunnerService: Service {
    let runner: JobRunner

    func run() async throws {
        try? await gracefulShutdown()
        await withCheckedContinuation { done in
            Thread.detachNewThread {
                runner.stop()
                done.resume()
            }
        }
    }
}

/// Lets a request through only with the server's token: the header
/// `X-Hone-Token`, or the cookie that opening `/?token=…` once sets.
struct TokenCheck<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if matches(request.headers[.init("X-Hone-Token")!]) || matches(request.cookies["hone_token"]?.value) {
            return try await next(request, context)
        }
        if request.uri.path == "/", matches(request.uri.queryParameters["token"].map(String.init)) {
            var response = Response(status: .seeOther, headers: [.location: "/"])
            response.setCookie(Cookie(name: "hone_token", value: token, path: "/", secure: false, httpOnly: true, sameSite: .strict))
            return response
        }
        throw APIError(.unauthorized, "this server needs its token: open /?token=YOUR_TOKEN once, or send the header X-Hone-Token")
    }

    /// Compares in time independent of where the strings differ.
    private func matches(_ presented: String?) -> Bool {
        guard let presented else { return false }
        let (a, b) = (Array(presented.utf8), Array(token.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Refuses what a browser would send on another site's behalf: on loopback,
/// any request naming a host other than a loopback one (DNS rebinding), and
/// a request that changes something (or opens the live socket) from a page of
/// another origin. Scripts send no `Origin` and pass.
struct OriginCheck<Context: RequestContext>: RouterMiddleware {
    let loopback: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let authority = request.head.authority ?? ""
        if loopback, !Self.isLoopback(authority) {
            throw APIError(.forbidden, "this server answers to 127.0.0.1 and localhost only, not \(authority.prefix(100))")
        }
        if request.method != .get || request.headers[.upgrade] != nil, let origin = request.headers[.origin],
           URL(string: origin).map({ "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" }) != authority {
            throw APIError(.forbidden, "a page from \(origin.prefix(100)) cannot send requests to this server")
        }
        return try await next(request, context)
    }

    /// An IPv4 address in 127.0.0.0/8, `localhost` or `[::1]`, with or without a port
    /// (a name such as `127.evil.example` is not one: it could resolve anywhere).
    static func isLoopback(_ authority: String) -> Bool {
        let host = authority.hasPrefix("[") ? String(authority.prefix { $0 != "]" }.dropFirst()) : String(authority.prefix { $0 != ":" })
        if host == "localhost" || host == "::1" { return true }
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1 && UInt32(bigEndian: address.s_addr) >> 24 == 127
    }
}
