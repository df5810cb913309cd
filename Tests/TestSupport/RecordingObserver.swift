import Training

/// Records what a job reports, and cancels it after a given number of progress updates.
public final class RecordingObserver: JobObserver {
    public var reports: [String] = [], warnings: [String] = []
    public var updates = 0
    public let cancelAfter: Int?
    public var onProgress: (Int) throws -> Void = { _ in }
    public init(cancelAfter: Int? = nil) { self.cancelAfter = cancelAfter }
    public func progress(_ stage: String, _ done: Int, of total: Int, unit: String, detail: String) {
        updates += 1
        try? onProgress(updates)
    }
    public func finishStage() {}
    public func report(_ line: String) { reports.append(line) }
    public func warn(_ line: String) { warnings.append(line) }
    public var isCancelled: Bool { cancelAfter.map { updates >= $0 } ?? false }
}
