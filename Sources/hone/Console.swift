import Foundation
import Jobs
import Networks
import Quality
import Training

/// A one-line progress bar on stderr: done/total, rate, ETA. Redrawn in place
/// on a terminal; in logs, a line every tenth of the way.
final class ProgressBar {
    let label: String, unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastDecile = -1
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(_ label: String, unit: String = "frames") { (self.label, self.unit) = (label, unit) }

    func update(_ done: Int, of total: Int, extra: String = "") {
        let now = Date()
        let decile = total > 0 ? done * 10 / total : 0
        if isTerminal ? now.timeIntervalSince(lastDraw) < 0.2 && done < total : decile == lastDecile { return }
        (lastDraw, lastDecile) = (now, decile)
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(max(total - done, 0)) / rate : 0
        let width = 24, filled = total > 0 ? min(width, done * width / total) : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        // The first half second's rate says nothing (the first unit may have been done before the bar started).
        let pace = elapsed < 0.5 && done < total ? "" : "  \(String(format: "%.1f", rate)) \(unit)/s  ETA \(Self.clock(eta))"
        let line = "\(label) \(bar) \(done)/\(total) \(unit)\(pace)\(extra.isEmpty ? "" : "  " + extra)"
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Prints a message line unbuffered, so epoch lines reach logs and pipes as
/// they happen: to stdout, or to stderr once a command's stdout is for data (--json).
func say(_ line: String) {
    (Console.stdoutIsData ? FileHandle.standardError : FileHandle.standardOutput).write(Data((line + "\n").utf8))
}

enum Console {
    nonisolated(unsafe) static var stdoutIsData = false

    /// Prints a JSON value on stdout, alone.
    static func emitJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}

/// Ctrl-C, SIGTERM (what `timeout`, systemd and `docker stop` send) or SIGHUP
/// (a closed terminal) asks long work to stop at the next frame or step, so it
/// can clean up (or save); a second one a second or more later quits at once.
/// Repeats within that second are the same request: GNU `timeout` signals the
/// process and then its process group, and a scheduler may signal every process of a job.
enum Interrupt {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    /// When the first request came (CLOCK_MONOTONIC seconds).
    nonisolated(unsafe) static var firstAt: Double = 0

    static func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { received in
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)  // async-signal-safe, as is all this handler does
                let seconds = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
                if Interrupt.requested == 0 {
                    (Interrupt.requested, Interrupt.firstAt) = (1, seconds)
                } else if seconds - Interrupt.firstAt >= 1 {
                    signal(received, SIG_DFL)
                    raise(received)
                }
            }
        }
    }
}

/// A job's observer on the terminal: a progress bar per stage on stderr,
/// reports on stdout, warnings on stderr; cancelled by Ctrl-C or SIGTERM.
final class ConsoleObserver: JobObserver {
    private var bar: ProgressBar?

    init() { Interrupt.install() }

    func progress(_ stage: String, _ done: Int, of total: Int, unit: String, detail: String) {
        if bar?.label != stage || bar?.unit != unit { bar?.finish(); bar = ProgressBar(stage, unit: unit) }
        bar?.update(done, of: total, extra: detail)
    }

    /// Ends the progress line; the stage's rate and ETA carry on if it continues.
    func finishStage() { bar?.finish() }

    func report(_ line: String) { say(line) }
    func warn(_ line: String) { FileHandle.standardError.write(Data("warning: \(line)\n".utf8)) }
    var isCancelled: Bool { Interrupt.requested != 0 }
}
