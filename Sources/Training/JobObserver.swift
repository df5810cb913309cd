import Foundation
import Networks
import Quality
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
