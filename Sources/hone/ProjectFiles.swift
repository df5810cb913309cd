import Foundation

/// Files that ship with Hone (configs/, checkpoints/), found beside the
/// binary's checkout whatever the current folder: $HONE_HOME, then the
/// folders above the executable, then the current folder.
enum ProjectFiles {
    static func find(_ relative: String) -> String? {
        var roots: [URL] = []
        if let home = ProcessInfo.processInfo.environment["HONE_HOME"] { roots.append(URL(fileURLWithPath: home)) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        roots.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return roots.map { $0.appendingPathComponent(relative).path }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
