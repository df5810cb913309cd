import Dispatch
import Foundation

/// Work splitting over the machine's cores. Every op that loops over many
/// elements goes through here, so the whole engine shares one thread policy.
public enum Parallel {
    public static let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs body(i) for i in 0..<n, spread over the cores.
    public static func forEach(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || threads == 1 {
            for i in 0..<n { body(i) }
        } else {
            // The ops hand each index disjoint memory, which Sendable cannot express.
            withoutActuallyEscaping(body) { body in
                nonisolated(unsafe) let work = body
                DispatchQueue.concurrentPerform(iterations: n) { work($0) }
            }
        }
    }

    /// Splits 0..<count into contiguous ranges, one per core, unless the work
    /// is too small to pay for a thread hand-off.
    public static func chunks(_ count: Int, minChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / minChunk))
        if parts == 1 { body(0..<count); return }
        forEach(parts) { p in
            body((count * p / parts)..<(count * (p + 1) / parts))
        }
    }
}

/// Reusable scratch buffers (im2col columns, per-thread accumulators), handed
/// out under a lock so concurrent ops never share one.
final class Scratch: @unchecked Sendable {
    static let shared = Scratch()
    private var free: [(UnsafeMutablePointer<Float>, Int)] = []
    private let lock = NSLock()

    func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let buffer = take(count)
        defer { give(buffer) }
        return body(buffer.0)
    }

    private func take(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        lock.lock()
        defer { lock.unlock() }
        if let i = free.firstIndex(where: { $0.1 >= count }) { return free.remove(at: i) }
        if !free.isEmpty { free.removeLast().0.deallocate() }
        return (.allocate(capacity: max(count, 1)), max(count, 1))
    }

    private func give(_ buffer: (UnsafeMutablePointer<Float>, Int)) {
        lock.lock()
        free.append(buffer)
        lock.unlock()
    }
}
