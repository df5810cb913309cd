import Foundation
import Synchronization

/// What a long job (fine-tuning, pretraining, evaluation, inference) tells
/// whoever drives it — a terminal, a server — and how it learns to stop.
public protocol JobObserver: AnyObject {
    /// `done` of `total` units (frames, steps) of `stage`; `detail` is extra
    /// text such as the running loss.
    func progress(_ stage: String, _ done: Int, of total: Int, unit: String, detail: String)
    /// A stage's progress is over (a terminal ends its progress line).
    func finishStage()
    /// A line for the user: an epoch's validation, what was written.
    func report(_ line: String)
    /// Something the user should know that does not stop the job.
    func warn(_ line: String)
    /// True once someone asked the job to stop (Ctrl-C, SIGTERM, a cancel button).
    var isCancelled: Bool { get }
}

/// Thrown by a job that stopped because its observer was cancelled; whatever
/// it could save is saved (a training run's checkpoint), nothing else is left.
public struct JobCancelled: Error, CustomStringConvertible {
    /// The checkpoint a resumed run can continue from, when one was saved.
    public let saved: String?
    public init(saved: String? = nil) { self.saved = saved }
    public var description: String { "interrupted" }
}

extension JobObserver {
    /// Throws `JobCancelled` once the job has been asked to stop.
    public func checkCancelled() throws { if isCancelled { throw JobCancelled() } }

    /// A `(done, total)` callback for a stage's loop: reports progress, and
    /// throws `JobCancelled` once the job has been asked to stop.
    public func progress(_ stage: String, unit: String) -> (Int, Int) throws -> Void {
        { done, total in
            try self.checkCancelled()
            self.progress(stage, done, of: total, unit: unit, detail: "")
        }
    }
}

/// Files that ship with Hone (configs/, checkpoints/), found beside the
/// binary whatever the current folder: $HONE_HOME, then each of the five
/// folders above the executable and its `share/hone` (where `make install`
/// puts them), then the current folder.
public enum ProjectFiles {
    /// Hone's cache folder, for what is fetched once (VGG16's weights, imported networks):
    /// $HONE_CACHE, else $XDG_CACHE_HOME/hone or ~/.cache/hone, as scripts/cache.sh has it.
    public static var cache: String {
        let env = ProcessInfo.processInfo.environment
        return env["HONE_CACHE"] ?? ((env["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")) + "/hone")
    }

    public static func find(_ relative: String) -> String? {
        var roots: [URL] = []
        if let home = ProcessInfo.processInfo.environment["HONE_HOME"] { roots.append(URL(fileURLWithPath: home)) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            roots += [dir, dir.appendingPathComponent("share/hone")]
            dir = dir.deletingLastPathComponent()
        }
        roots.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return roots.map { $0.appendingPathComponent(relative).path }.first { FileManager.default.fileExists(atPath: $0) }
    }
}

/// An output file claimed for one run: refused when it is one of the run's
/// inputs, when its folder does not exist, or while another Hone run holds
/// it (an advisory `flock` on a hidden `.NAME.lock` beside it, removed at exit).
public final class OutputLock: Sendable {
    public let path: String
    private let lockPath: String
    private let descriptor: Int32

    /// - Throws: `FileError` naming `path` when it is an input, its folder is
    ///   missing or unwritable, or another run is writing it.
    public init(_ path: String, inputs: [String]) throws {
        self.path = path
        for input in inputs where Self.sameFile(path, input) {
            throw FileError(path, "is also an input (\(input)); write the output somewhere else")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw FileError(path, "cannot write: it is a folder; give the output a file name")
        }
        if path.hasSuffix("/") { throw FileError(path, "cannot write: a path ending in / names a folder; give the output a file name") }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw FileError(path, "cannot write: no such folder \(folder)")
        }
        lockPath = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".lock").path
        descriptor = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path, "cannot write into \(folder) (\(String(cString: strerror(errno))))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw FileError(path, "another Hone run is writing this file; wait for it or choose another output")
        }
        _ = Self.removedAtExit
        Self.held.withLock { _ = $0.insert(lockPath) }
    }

    deinit {
        unlink(lockPath)
        close(descriptor)
        Self.held.withLock { _ = $0.remove(lockPath) }
    }

    /// Lock files this process holds, removed at exit (a command-line tool exits without deinitialising).
    private static let held = Mutex<Set<String>>([])
    private static let removedAtExit: Void = { atexit { OutputLock.held.withLock { for lock in $0 { unlink(lock) } } } }()

    /// Whether two paths name one file: the same device and inode (through
    /// links) when both exist, else the same absolute path.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var (sa, sb) = (stat(), stat())
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else {
            func absolute(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
            return !a.isEmpty && !b.isEmpty && absolute(a) == absolute(b)
        }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
