import Autograd
import Foundation
import Networks
import Quality

/// One training run (fine-tuning or pretraining), fresh or resumed from its
/// own checkpoint: the model it starts from, then the loop — steps with
/// progress, validation and a checkpoint after every epoch, a checkpoint every
/// few minutes and when cancelled. The best-validated weights are kept, the
/// starting weights included: a run that never beats its start saves the start.
public struct TrainingRun {
    public var record: RunRecord
    let saved: Checkpoint?
    public let output: String
    /// Minutes between timed checkpoints, besides the one after every epoch.
    public var saveEvery: Double = 5
    /// Whether a cancelled run saves a checkpoint to resume from (a pack's run, whose checkpoint is temporary, does not).
    public var savesWhenCancelled = true
    /// A TSV file to append the mean loss every 50 steps and each validation to.
    public let log: String?
    let locks: [OutputLock]

    /// Resumes the run saved at `output` when `resume`, else starts the one
    /// `fresh()` describes; `log` (a TSV) is appended to. `inputs` are files the
    /// run reads besides its record's video, photographs and base (a config).
    /// - Throws: `FileError` when `output` or `log` is one of the inputs, its
    ///   folder is missing, or another run is writing it; when `output` holds an
    ///   interrupted run and `resume` is off; when resuming, when `output` is not
    ///   a Hone checkpoint or its run has finished.
    public init(output: String, resume: Bool, log: String? = nil, inputs: [String] = [], fresh: () throws -> RunRecord) throws {
        (self.output, self.log) = (output, log)
        if !resume, let existing = try? Checkpoint.load(output), existing.isResumable {
            throw FileError(output, "holds an interrupted run (step \(existing.metadata["hone.step"] ?? "?")); continue it with --resume, "
                            + "or write the new run under another name")
        }
        if resume {
            let file = try Checkpoint.load(output)
            (saved, record) = (file, try RunRecord(file, path: output))
            guard file.isResumable else {
                throw FileError(output, "this run has finished (\(record.epochsDone) of \(record.epochs) epochs): there is nothing to resume; "
                                + "to train further, start a new run from it (--checkpoint \(output) -o NEW)")
            }
        } else {
            (saved, record) = (nil, try fresh())
        }
        let read = inputs + [record.video, record.base.argument] + record.images
        locks = try [OutputLock(output, inputs: read)] + (log.map { [try OutputLock($0, inputs: read + [output])] } ?? [])
    }

    /// Refuses an option given again for a resumed run when it differs from what
    /// the run was started with (`given` nil: not given, or the same).
    /// - Throws: `FileError` naming the checkpoint, the option and both values.
    public func requireUnchanged(_ option: String, given: String?, started: String) throws {
        guard saved != nil, let given, given != started else { return }
        throw FileError(output, "this run was started with \(option) \(started), not \(given); drop \(option) to resume it, "
                        + "or start a new run under another name")
    }

    /// The record's base checkpoint, which must match the config, or random weights.
    public func startingModel(_ observer: JobObserver) throws -> any UpscalingNetwork {
        try Self.model(base: record.base, config: record.config, scale: record.scale, observer: observer)
    }

    /// A base checkpoint's model, which must match the config, or random weights
    /// (the shipped base when it fits, `.shipped`). A base of another scale gives
    /// the layers the scales share (a ×4 run can start from the ×2 model); a
    /// single-frame base starts a multi-frame model, whose neighbour weights start at zero.
    /// - Throws: `FileError` naming the base when it cannot be read or holds another model.
    public static func model(base start: StartingModel, config: HoneConfig, scale: Int, observer: JobObserver) throws -> any UpscalingNetwork {
        guard case .checkpoint(let base) = start.resolved(scale: scale, config: config) else {
            return try makeNetwork(config.model, scale: scale, seed: config.training.seed)
        }
        let file = try Checkpoint.load(base)
        let record = try RunRecord(file, path: base)
        guard record.config.model.singleFrame == config.model.singleFrame, record.config.model.radius <= config.model.radius,
              record.config.model.propagation == nil || record.config.model.propagation == config.model.propagation else {
            throw FileError(base, "its model (\(record.config.model)) does not match the config (\(config.model))")
        }
        if record.scale == scale && record.config.model == config.model { return try loadNetwork(checkpoint: base).0 }
        if let problem = StartingModel.scaleProblem(base: record.scale, run: scale) { throw FileError(base, problem) }
        let model = try makeNetwork(config.model, scale: scale, seed: config.training.seed)
        let copied = file.loadMatching(into: model)
        if let net = model as? SRNet, file["upsample.0.weight"]?.shape != net.upsample.first?.weight.shape {
            // No upsampling stage came from the base (×3 from ×2): the tail starts at zero, so the model starts as bicubic.
            net.tail.weight.fill(0)
            net.tail.bias?.fill(0)
        }
        if record.scale != scale {
            observer.report("note: \(base) is a ×\(record.scale) model: \(copied) of \(model.namedTensors().count) tensors taken from it")
        }
        return model
    }

    /// Trains to the end of the last epoch; `trained` names the model in the epoch lines.
    /// - Throws: `JobCancelled` after saving when the observer is cancelled;
    ///   `FileError` when the checkpoint or log cannot be written.
    public mutating func train(_ trainer: Trainer, trained: String, observer: JobObserver) throws {
        if let saved {
            try trainer.resume(from: saved, bestScore: record.validation["model"], path: output)
            observer.report("resuming at step \(trainer.step) of \(trainer.totalSteps)")
        } else {
            // Only when there is no base to start from: `--checkpoint random` chosen over one needs no warning.
            if record.base == .random && record.images.isEmpty && StartingModel.shipped.resolved(scale: record.scale, config: record.config) == .random {
                observer.warn("no base checkpoint for this model at ×\(record.scale): starting from random initialisation "
                              + "(the output starts as \(record.scale == 1 ? "the input" : "bicubic"))")
            }
            record.validation["bicubic"] = try trainer.validate { try resizeBicubic($0, .up(record.scale)) }
            let start = try trainer.validateModel()
            trainer.record(start)
            (record.validation["base"], record.validation["model"]) = (start, start)
            observer.report("validation Y-PSNR/SSIM  \(record.kernelLabel) \(record.validation["bicubic"]!)  start \(start)")
        }
        let log = try log.map { try LossLog($0) }

        var lastSave = Date()
        func save() throws {
            record.epochsDone = trainer.step / trainer.stepsPerEpoch
            try trainer.checkpoint(metadata: record.metadata).save(to: output)
            lastSave = Date()
        }

        defer { observer.finishStage() }
        var recent: [Float] = []
        // How long the run will take, said once a few steps have been timed (validation excluded).
        let (timedFrom, timedSteps, clock) = (trainer.step, 3, Date())
        while trainer.step < trainer.totalSteps {
            if observer.isCancelled {
                observer.finishStage()
                guard savesWhenCancelled else { throw JobCancelled() }
                try save()
                observer.report("interrupted at step \(trainer.step); saved \(output)")
                throw JobCancelled(saved: output)
            }
            let (loss, _) = try trainer.trainStep()
            if trainer.step == timedFrom + timedSteps, trainer.step < trainer.totalSteps {
                let perStep = Date().timeIntervalSince(clock) / Double(timedSteps)
                observer.finishStage()
                let (left, validations) = (trainer.totalSteps - trainer.step, trainer.epochs - trainer.step / trainer.stepsPerEpoch)
                observer.report(String(format: "training: %d step%@ left at %.2f s a step, about %@ (plus %d validation%@)",
                                       left, left == 1 ? "" : "s", perStep, duration(perStep * Double(left)), validations, validations == 1 ? "" : "s"))
            }
            recent = Array((recent + [loss]).suffix(50))
            let mean = recent.reduce(0, +) / Float(recent.count)
            if trainer.step % 50 == 0 { log?.write(step: trainer.step, "loss", Double(mean)) }
            observer.progress("train", trainer.step, of: trainer.totalSteps, unit: "steps",
                              detail: String(format: "loss %.4f  epoch %d/%d", mean, (trainer.step - 1) / trainer.stepsPerEpoch + 1, trainer.epochs)
                                  + (trainer.perceptualActive && !trainer.config.loss.perceptual.isEmpty ? "  +perceptual" : ""))
            if trainer.step % trainer.stepsPerEpoch == 0 {
                let epoch = trainer.step / trainer.stepsPerEpoch
                let scores = try trainer.validateModel()
                trainer.record(scores)
                record.validation["model"] = trainer.best?.score
                log?.write(step: trainer.step, "validation_psnr", scores.psnr)
                observer.finishStage()
                observer.report("epoch \(epoch)/\(trainer.epochs)  validation Y-PSNR/SSIM  \(record.kernelLabel) \(record.validation["bicubic"].map(\.description) ?? "-")  "
                                + "start \(record.validation["base"].map(\.description) ?? "-")  \(trained) \(scores)")
                try save()
            } else if Date().timeIntervalSince(lastSave) > saveEvery * 60 {
                try save()
            }
        }
        if let best = record.validation["model"], let start = record.validation["base"], best.psnr <= start.psnr {
            observer.warn("no epoch validated above the start (\(start)): \(output) holds the starting weights")
        }
    }
}

/// Seconds as people read a duration: "40 s", "12 min", "3.5 h".
func duration(_ seconds: Double) -> String {
    seconds < 90 ? String(format: "%.0f s", seconds) : seconds < 5400 ? String(format: "%.0f min", seconds / 60) : String(format: "%.1f h", seconds / 3600)
}

/// A TSV of (step, quantity, value) lines, appended to across resumes.
struct LossLog {
    let handle: FileHandle

    init(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: Data("step\tquantity\tvalue\n".utf8)) else {
                throw FileError(path, "cannot create the log file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw FileError(path, "cannot open the log file") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func write(step: Int, _ quantity: String, _ value: Double) {
        handle.write(Data("\(step)\t\(quantity)\t\(String(format: "%.6f", value))\n".utf8))
    }
}
