import Foundation

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
