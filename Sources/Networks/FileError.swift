

/// A file Hone reads or writes (config, checkpoint, image folder, weights,
/// frame cache, output) and what is wrong with it, as the one line a user
/// sees: `path: problem`.
public struct FileError: Error, CustomStringConvertible {
    public let path: String, problem: String
    public init(_ path: String, _ problem: String) { (self.path, self.problem) = (path, problem) }
    public var description: String { "\(path): \(problem)" }
}
