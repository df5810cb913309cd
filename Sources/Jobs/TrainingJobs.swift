import Foundation
import Networks
import Quality
import Training
import VideoIO

/// `hone finetune`: teach a network one video. Training pairs come from the
/// video itself (random crops of its frames as targets, their degraded
/// downscales as inputs); every n-th frame is held out for validation.
public struct FinetuneJob {
    /// The video to learn; nil only when resuming.
    public var video: String?
    /// The checkpoint to write; nil: `<video name>.hone-x<scale>.ckpt` in the current folder.
    public var output: String?
    /// Passes over the training frames; nil: 3, or a resumed run's own.
    public var epochs: Int?
    public var start = StartingModel.shipped
    public var settings = TrainingSettings()

    public init(video: String?) { self.video = video }

    /// The checkpoint written, once the scale is known (given, or the starting checkpoint's).
    func outputPath(_ settings: TrainingSettings) -> String { output ?? outputName(for: video ?? "clip", ".hone-x\(settings.scaleOrDefault).ckpt") }

    /// Decodes the video, trains, and saves the best-validated weights to `outputPath(_:)`.
    /// - Returns: the finished run (its record holds the validation scores).
    /// - Throws: `FileError`/`VideoIOError` naming the file at fault (checked
    ///   before decoding where possible), `UsageError` for a missing video,
    ///   `JobCancelled` after saving a resumable checkpoint.
    public func run(_ observer: JobObserver) throws -> TrainingRun {
        var settings = settings
        try settings.adopt(start)
        let scale = settings.scaleOrDefault
        if video == "-" { throw UsageError("fine-tuning needs a video file: standard input (--video -) works for infer only") }
        let absolute = video.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var run = try settings.openRun(output: outputPath(settings), fallback: "configs/default.yaml") { config in
            guard let absolute, let video else { throw UsageError("a video is needed to start a run") }
            var record = RunRecord(config: config, scale: scale, video: absolute, base: start.resolved(scale: scale, config: config), epochs: epochs ?? 3)
            record.targets = settings.targets(base: record.base, model: config.model)
            try settings.learnDamage({ try DamageEstimate.analyse(video) }, record: &record, fromShipped: start == .shipped, observer: observer)
            if scale == 1 && record.targets == .frames && settings.config == nil {
                // Restoration from the frames learns to undo this video's own damage, made a little worse.
                let estimate = try DamageEstimate.analyse(video)
                record.config = estimate.restoring(config)
                observer.report("\(video): \(estimate.summary)\nlearning to undo: \(record.config.degradation.summary)")
            }
            record.sampling = FrameSampling(video: try MediaInput(video).info, rate: settings.sampleRate, budget: settings.cacheBudget)
            return record
        }
        try run.requireUnchanged("--video", given: absolute, started: run.record.video)
        try run.requireUnchanged("--epochs", given: epochs.map(String.init), started: "\(run.record.epochs)")
        if case .checkpoint(let path) = start { try run.requireUnchanged("--checkpoint", given: path, started: run.record.base.argument) }
        let model = try run.startingModel(observer)
        // The video as the user named it (the record keeps its absolute path).
        let source = video ?? run.record.video
        let sampling = run.record.sampling ?? .everyFrame
        let info = try MediaInput(source).info
        if settings.sampleRate != nil || settings.cacheBudget != FrameSampling.defaultBudget {
            let asked = FrameSampling(video: info, rate: settings.sampleRate, budget: settings.cacheBudget)
            try run.requireUnchanged("--sample/--cache-budget", given: "\(asked)", started: "\(sampling)")
        }
        if run.record.config.model.radius > 0, sampling.rate != nil {
            let needed = info.estimatedFrames * info.width * info.height * 3
            throw UsageError("\(source): a multi-frame model learns from consecutive frames, and learning from \(sampling) keeps them apart; "
                             + (settings.sampleRate != nil ? "drop --sample" : "its frames overflow the cache budget: pass --cache-budget \(String(format: "%.3g", Double(needed) / 1e9 * 1.01)) or more"))
        }
        try sampling.requireEnoughFrames(of: info, path: source, config: run.record.config)
        let expected = sampling.expectedFrames(of: info)
        let lowered = settings.sampleRate.map { asked in (sampling.rate ?? asked) < asked * 0.999 } ?? false
        observer.report(String(format: "%@: %d frames of %d×%d (%.1f s); learning from %@: about %d frames, %@ of frame cache",
                               source, info.estimatedFrames, info.width, info.height, info.duration, sampling.description, expected,
                               byteCount(expected * info.width * info.height * 3))
                        + (lowered ? " (--sample lowered to fit the cache budget)" : ""))
        if run.record.targets == .ensemble { observer.report(TrainingTargets.ensembleNote) }
        let frames = try FrameCache(video: source, config: run.record.config, scale: run.record.scale, sampling: sampling, observer: observer)
        let trainer = try Trainer.forVideo(model: model, config: run.record.config, frames: frames, targets: run.record.targets,
                                           epochs: run.record.epochs, observer: observer)
        let (w, h) = frames.sizes[0]
        observer.report("\(frames.count) frames of \(w)×\(h): \(trainer.trainFrames.count) to train on, "
                        + "\(trainer.validationFrames.count) to validate; \(model.parameterCount) parameters; "
                        + "\(trainer.stepsPerEpoch) steps per epoch of \(run.record.config.training.batch) crops of \(run.record.config.training.patch)²")
        try run.train(trainer, trained: "fine-tuned", observer: observer)
        return run
    }
}

/// `hone pretrain`: a base model from folders of photographs, for fine-tuning to start from.
public struct PretrainJob {
    /// Folders of photographs (png, jpg, bmp, webp); empty only when resuming.
    public var folders: [String]
    /// Optimisation steps in all (rounded up to whole epochs) and steps between validations.
    public var steps = 20_000, epochSteps = 500
    /// Longest side a photograph is halved down to.
    public var maxSide = 2048
    public var start = StartingModel.random
    /// The checkpoint to write; nil: `base-x<scale>.safetensors` in the current folder.
    public var output: String?
    public var settings = TrainingSettings()

    public init(folders: [String]) { self.folders = folders }

    public var outputPath: String { output ?? "base-x\(settings.scaleOrDefault).safetensors" }

    /// Decodes the photographs, trains, and saves the best-validated weights to `outputPath`.
    /// - Throws: as `FinetuneJob.run`.
    public func run(_ observer: JobObserver) throws -> TrainingRun {
        let scale = settings.scaleOrDefault
        var run = try settings.openRun(output: outputPath, fallback: "configs/pretrain.yaml") { config in
            RunRecord(config: config, scale: scale, images: try folders.flatMap(ImageSet.pictures), base: start.resolved(scale: scale, config: config),
                      epochs: (steps + epochSteps - 1) / epochSteps, epochSteps: epochSteps)
        }
        if settings.targets != nil { throw UsageError("--targets is for a video's fine-tune; pretraining learns from photographs' downscales") }
        if run.record.config.model.radius > 0 {
            throw UsageError("a multi-frame model (model.neighbours \(run.record.config.model.radius)) learns from a video's consecutive frames, "
                             + "not photographs: pretrain a single-frame base and fine-tune it with --neighbours")
        }
        let model = try run.startingModel(observer)
        let pictures = try FrameCache(images: run.record.images, maxSide: maxSide, progress: observer.progress("decode", unit: "images"))
        observer.finishStage()
        let trainer = try Trainer(model: model, config: run.record.config, frames: pictures, epochs: run.record.epochs,
                                  stepsPerEpoch: run.record.epochSteps)
        let megapixels = Double(pictures.sizes.map { $0.width * $0.height }.reduce(0, +)) / 1e6
        observer.report("\(pictures.count) photographs (\(String(format: "%.1f", megapixels)) megapixels): \(trainer.trainFrames.count) to train on, "
                        + "\(trainer.validationFrames.count) to validate; \(model.parameterCount) parameters; "
                        + "\(trainer.totalSteps) steps of \(run.record.config.training.batch) "
                        + (model.config.propagation == nil ? "crops" : "pseudo-video clips of \(run.record.config.training.clipFrames ?? TrainingConfig.defaultClipFrames) frames")
                        + " of \(run.record.config.training.patch)²")
        try run.train(trainer, trained: "model", observer: observer)
        return run
    }
}
