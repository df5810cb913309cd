import Autograd
import Foundation
import Jobs
import Networks
import Quality
import Synchronization
import Training
import VideoIO

/// A running job's stage and progress, kept in memory (the database keeps states, not steps).
public struct LiveProgress: Codable, Sendable, Equatable {
    /// decode, fine-tune, upscale and encode, stills.
    public var stage: String
    public var done = 0, total = 0
    public var unit = ""
    /// The running loss and epoch while fine-tuning.
    public var detail = ""
    /// Seconds left in this stage, from its pace so far (nil until there is one).
    public var eta: Double?
    /// The stage's first report: a resumed stage's pace counts from there.
    var first: (done: Int, time: Double)?

    init(stage: String) { self.stage = stage }

    public static func == (a: Self, b: Self) -> Bool {
        (a.stage, a.done, a.total, a.unit, a.detail, a.eta) == (b.stage, b.done, b.total, b.unit, b.detail, b.eta)
    }

    enum CodingKeys: String, CodingKey { case stage, done, total, unit, detail, eta }
}

/// The observer of a served job: progress into memory, report lines into the
/// database, and a stop flag set by a cancel (the job ends cancelled) or by
/// the server stopping (the job saves its checkpoint and stays queued).
final class ServedObserver: JobObserver, @unchecked Sendable {
    enum Stop: Int { case none, cancel, shutdown }
    private let stopRequest = Atomic<Int>(Stop.none.rawValue)
    let live = Mutex(LiveProgress(stage: "queued"))
    private let onReport: @Sendable (String) -> Void

    init(onReport: @escaping @Sendable (String) -> Void) { self.onReport = onReport }

    var stop: Stop { Stop(rawValue: stopRequest.load(ordering: .relaxed)) ?? .none }
    func request(_ stop: Stop) { stopRequest.store(stop.rawValue, ordering: .relaxed) }
    var isCancelled: Bool { stop != .none }

    /// Enters a stage the jobs do not report themselves.
    func enter(_ stage: String) { live.withLock { $0 = LiveProgress(stage: stage) } }

    func progress(_ stage: String, _ done: Int, of total: Int, unit: String, detail: String) {
        let name = ["train": "fine-tune", "infer": "upscale and encode"][stage] ?? stage
        let now = Date().timeIntervalSince1970
        live.withLock { p in
            if p.stage != name { p = LiveProgress(stage: name) }
            (p.done, p.total, p.unit, p.detail) = (done, total, unit, detail)
            guard let first = p.first else { p.first = (done, now); return }
            p.eta = done > first.done && total >= done ? (now - first.time) / Double(done - first.done) * Double(total - done) : nil
        }
    }

    func finishStage() {}
    func report(_ line: String) { onReport(line) }
    func warn(_ line: String) { onReport("warning: " + line) }
}

/// Runs the queue on a thread of its own, one job at a time: fine-tuning
/// already keeps both cores busy. A job runs as stages whose outputs are
/// its folder's files, so a job interrupted anywhere resumes where it was:
/// fine-tuning from its last checkpoint, later stages from their start.
final class JobRunner: @unchecked Sendable {
    let store: JobStore
    /// Minutes between a fine-tuning's timed checkpoints (besides one per epoch).
    let saveEvery: Double
    /// A line for the server's log per job started and ended.
    let say: @Sendable (String) -> Void
    private let wake = NSCondition()
    private var stopping = false
    private var started = false
    private let current = Mutex<(id: String, observer: ServedObserver)?>(nil)
    private let exited = DispatchSemaphore(value: 0)

    init(store: JobStore, saveEvery: Double, say: @escaping @Sendable (String) -> Void) {
        (self.store, self.saveEvery, self.say) = (store, saveEvery, say)
    }

    /// Starts the queue's thread, once; not after `stop`. The server calls it
    /// once listening, so its address is the log's first line.
    func start() {
        wake.lock()
        defer { wake.unlock() }
        guard !started, !stopping else { return }
        started = true
        let thread = Thread { [self] in
            while let id = nextJob() { run(id) }
            exited.signal()
        }
        thread.name = "hone-jobs"
        thread.stackSize = 64 << 20
        thread.start()
    }

    /// A job was queued.
    func poke() { wake.lock(); wake.signal(); wake.unlock() }

    /// The running job's progress, when `id` is running.
    func progress(of id: String) -> LiveProgress? {
        current.withLock { $0?.id == id ? $0?.observer.live.withLock { $0 } : nil }
    }

    /// Asks the running job `id` to stop; false when it is not the running one.
    func cancel(_ id: String) -> Bool {
        current.withLock { running in
            guard let running, running.id == id else { return false }
            running.observer.request(.cancel)
            return true
        }
    }

    /// True once the server is stopping: open event streams end.
    var isStopping: Bool {
        wake.lock()
        defer { wake.unlock() }
        return stopping
    }

    /// Stops after the running job has saved what it can (it stays queued, to resume at the next start).
    func stop() {
        wake.lock(); stopping = true; wake.signal(); let running = started; wake.unlock()
        current.withLock { $0?.observer.request(.shutdown) }
        if running { exited.wait() }
    }

    /// Waits for a queued job; nil once stopping.
    private func nextJob() -> String? {
        wake.lock()
        defer { wake.unlock() }
        while !stopping {
            if let next = try? store.queue().first { return next }
            wake.wait(until: Date().addingTimeInterval(5))
        }
        return nil
    }

    private func run(_ id: String) {
        let store = self.store
        let observer = ServedObserver { line in _ = try? store.update(id) { $0.reports.append(line) } }
        current.withLock { $0 = (id, observer) }
        defer { current.withLock { $0 = nil } }
        // A job cancelled or deleted since it was picked stays as it is.
        guard let job = try? store.update(id, { job in
            guard job.state == .queued else { return }
            job.state = .running
            job.started = job.started ?? Date().timeIntervalSince1970
        }), job.state == .running else { return }
        let start = Date()
        say("job \(id) (\(job.name)): running")
        let outcome: (JobState, String?, JobResult?)
        do {
            outcome = (.done, nil, try Self.stages(of: job, in: store.folder(of: id), saveEvery: saveEvery, observer: observer))
        } catch is JobCancelled where observer.stop == .shutdown {
            _ = try? store.update(id) { $0.state = .queued }
            say("job \(id) (\(job.name)): saved; it resumes at the next start")
            return
        } catch is JobCancelled {
            outcome = (.cancelled, "cancelled", nil)
        } catch {
            // Messages name the upload as the person called it, not the server's copy.
            let upload = store.folder(of: id).appendingPathComponent(Upload.fileName).path
            // …and its files by their own names, not the server's paths.
            outcome = (.failed, "\(error)".replacingOccurrences(of: upload, with: job.name)
                .replacingOccurrences(of: store.folder(of: id).path + "/", with: ""), nil)
        }
        if let ended = try? store.update(id, { job in
            (job.state, job.message, job.result) = outcome
            job.finished = Date().timeIntervalSince1970
        }) {
            store.removeLeftovers(of: ended)
        }
        say("job \(id) (\(job.name)): \(outcome.0.rawValue) after \(Int(Date().timeIntervalSince(start).rounded())) s"
            + (outcome.0 == .failed ? ": \(outcome.1 ?? "")" : ""))
    }

    /// Fine-tune on the upload, upscale it (with a bicubic | Hone split view), and
    /// cut a few stills; each stage skipped when its output is already complete.
    /// - Throws: what the jobs throw; `JobCancelled` when asked to stop.
    static func stages(of job: JobRecord, in folder: URL, saveEvery: Double, observer: ServedObserver) throws -> JobResult {
        func path(_ file: ResultFile) -> String { folder.appendingPathComponent(file.rawValue).path }
        let upload = folder.appendingPathComponent(Upload.fileName).path

        let checkpoint = path(.checkpoint)
        let saved = try? Checkpoint.load(checkpoint)
        var record: RunRecord
        if let saved, !saved.isResumable {
            record = try RunRecord(saved, path: checkpoint)
        } else {
            observer.enter("decode")
            var finetune = FinetuneJob(video: upload)
            (finetune.output, finetune.epochs) = (checkpoint, job.options.epochs)
            finetune.settings.scale = job.options.scale
            finetune.settings.loss = job.options.preset.weights
            finetune.settings.resume = saved != nil
            finetune.settings.saveEvery = saveEvery
            record = try finetune.run(observer).record
        }

        observer.enter("upscale and encode")
        var infer = InferJob(method: .checkpoint(checkpoint))
        (infer.video, infer.output, infer.compare) = (upload, path(.enhanced), path(.comparison))
        infer.light = job.options.light.map { LightSetting(strength: $0) }
        let report = try infer.run(observer)

        observer.enter("stills")
        let stills = try writeStills(of: upload, checkpoint: checkpoint, light: try infer.light?.load(), into: folder, observer: observer)
        return JobResult(bicubicPSNR: record.validation["bicubic"]?.psnr, basePSNR: record.validation["base"]?.psnr,
                         finetunedPSNR: record.validation["model"]?.psnr, targets: record.targets.rawValue, overshootMean: report.overshoot?.mean,
                         overshootP99: report.overshoot?.p99, blockiness: report.blockiness?.output, bicubicBlockiness: report.blockiness?.bicubic,
                         damageFound: record.damageFound, frames: report.frames, stills: stills, warnings: report.warnings)
    }

    /// Frames at a quarter, half and three quarters of the video, upscaled by
    /// bicubic and by the checkpoint to the same size, as PNGs.
    /// - Returns: how many frames were written (fewer for a very short video).
    static func writeStills(of video: String, checkpoint: String, light: CurveNet?, into folder: URL, observer: ServedObserver) throws -> Int {
        let upscale = TiledUpscaler(try loadNetwork(checkpoint: checkpoint).0)
        let reader = try VideoReader(video)
        let count = max(reader.info.estimatedFrames, 1)
        let wanted = Array(Set([count / 4, count / 2, count * 3 / 4])).sorted()
        var index = 0, written = 0
        while written < wanted.count, let frame = try reader.next() {
            defer { index += 1 }
            guard index == wanted[written] else { continue }
            try observer.checkCancelled()
            written += 1
            for (file, image) in [(ResultFile.still(written, .bicubic), try resizeBicubic(frame.image, .up(upscale.model.scale))),
                                  (ResultFile.still(written, .hone), try Grad.disabled {
                                      try light?.around(FrameWindow(frame.image), scale: upscale.model.scale) { try upscale($0.image) } ?? upscale(frame.image)
                                  })] {
                let final = folder.appendingPathComponent(file.rawValue).path
                let partial = folder.appendingPathComponent(".partial-" + file.rawValue).path
                try Still.writePNG(image, to: partial)
                guard rename(partial, final) == 0 else { throw FileError(final, "cannot write (\(String(cString: strerror(errno))))") }
            }
            observer.progress("stills", written, of: wanted.count, unit: "frames", detail: "")
        }
        return written
    }
}
