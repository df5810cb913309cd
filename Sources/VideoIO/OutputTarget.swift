import CFFmpeg
import Foundation

/// Where an output's bytes go until it is complete, so the final name never
/// holds a partial result: a temporary file beside it (renamed at the end), a
/// temporary folder for an image sequence (`out/%04d.png`, its files moved in
/// at the end), or standard output (`-`), which cannot be taken back.
struct OutputTarget {
    enum Kind { case file, imageSequence, pipe }

    /// As the user gave it, and what libavformat opens.
    let path: String, writePath: String
    let kind: Kind
    let format: UnsafePointer<AVOutputFormat>
    var formatName: String { String(cString: format.pointee.name) }
    var fileExtension: String { URL(fileURLWithPath: path).pathExtension.lowercased() }

    /// - Parameter pipeFormat: the container for standard output (MPEG-TS, or NUT for codecs it cannot hold).
    /// - Throws: `VideoIOError.cannotWrite` for an extension no container has, or a sequence's missing folder.
    init(_ path: String, pipeFormat: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        if path == "-" {
            (kind, writePath) = (.pipe, "pipe:1")
            format = av_guess_format(pipeFormat, nil, nil)!
            return
        }
        var isFolder: ObjCBool = false
        if path.hasSuffix("/") || FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue {
            throw VideoIOError.cannotWrite(path, "is a folder; name a file such as out.mp4, or pictures such as out/%04d.png")
        }
        guard let guessed = av_guess_format(nil, path, nil) else {
            throw VideoIOError.cannotWrite(path, "unknown container for extension '.\(url.pathExtension)'; use .mp4, .mkv, .mov, .gif, or out/%04d.png")
        }
        format = guessed
        let folder = url.deletingLastPathComponent()
        if path.range(of: #"%0?\d*d"#, options: .regularExpression) != nil {
            kind = .imageSequence
            writePath = folder.appendingPathComponent(".hone-partial-\(getpid())").appendingPathComponent(url.lastPathComponent).path
        } else {
            kind = .file
            writePath = folder.appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path + "." + url.pathExtension
            Self.removeKilledRuns(of: url)
        }
    }

    /// Deletes the temporary files of runs killed while writing `url` (their process is gone).
    private static func removeKilledRuns(of url: URL) {
        let folder = url.deletingLastPathComponent(), prefix = ".\(url.lastPathComponent).partial-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(prefix) {
            let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
            if pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        }
    }

    /// Makes room for writing: an image sequence's temporary folder.
    func prepare() throws {
        guard kind == .imageSequence else { return }
        let temporary = URL(fileURLWithPath: writePath).deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false) } catch {
            throw VideoIOError.cannotWrite(path, "cannot create a folder in \(temporary.deletingLastPathComponent().path)")
        }
    }

    /// Moves what was written to its final name(s).
    func commit() throws {
        switch kind {
        case .pipe: return
        case .file:
            guard rename(writePath, path) == 0 else { throw VideoIOError.cannotWrite(path, String(cString: strerror(errno))) }
        case .imageSequence:
            let temporary = URL(fileURLWithPath: writePath).deletingLastPathComponent()
            let folder = temporary.deletingLastPathComponent()
            for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] {
                guard rename(temporary.appendingPathComponent(name).path, folder.appendingPathComponent(name).path) == 0 else {
                    throw VideoIOError.cannotWrite(folder.appendingPathComponent(name).path, String(cString: strerror(errno)))
                }
            }
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    /// Deletes what was written; the final names are never touched.
    func discard() {
        switch kind {
        case .pipe: return
        case .file: unlink(writePath)
        case .imageSequence: try? FileManager.default.removeItem(at: URL(fileURLWithPath: writePath).deletingLastPathComponent())
        }
    }
}
