

/// A file Hone reads or writes (config, checkpoint, image folder, weights,
/// frame cache, output) and what is wrong with it, as the one line a user
/// sees: `path: problem`.
public struct FileError: Error, CustomStringConvertible {
    public let path: String, problem: String
    public init(_ path: String, _ problem: String) { (self.path, self.problem) = (path, problem) }
    public var description: String { "\(path): \(problem)" }
}

/// A request a job cannot run as asked (a missing input, options that
/// contradict each other): not a file's fault. The CLI shows it as a usage
/// error (exit 64), a server as a bad request.
public struct UsageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
