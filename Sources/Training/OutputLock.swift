import Foundation
import Networks
import Quality
import Synchronization

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
        // Claimed before any stored property is set: a refused lock must not deinitialise, whose
        // `unlink` would take the holder's lock file away and let a third run in.
        let lockPath = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".lock").path
        let descriptor = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path, "cannot write into \(folder) (\(String(cString: strerror(errno))))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw FileError(path, "another Hone run is writing this file; wait for it or choose another output")
        }
        (self.lockPath, self.descriptor) = (lockPath, descriptor)
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
