import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO
import Yams

extension GroundTruth {
    /// A ground-truth video or image folder, decoded with progress.
    /// - Throws: `FileError`/`VideoIOError` naming what cannot be read; `JobCancelled`.
    public static func load(_ path: String, scale: Int, frames: Int, damages: [Damage] = [], observer: JobObserver) throws -> GroundTruth {
        var isFolder: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
        let progress = observer.progress("decode", unit: folder ? "images" : "frames")
        defer { observer.finishStage() }
        let truth = folder ? try FrameCache(images: try ImageSet.pictures(in: path), maxSide: .max, progress: progress)
                           : try FrameCache(video: path, progress: progress)
        return try GroundTruth(truth: truth, scale: scale, isVideo: !folder, count: frames, damages: damages)
    }

    /// Scores `methods` on the scored frames with progress (see `score(_:lpips:progress:)`).
    public func score(_ methods: [(name: String, enhance: (FrameWindow) throws -> Tensor)], observer: JobObserver) throws -> [MethodScore] {
        try score(outputs: methods.map { method in (method.name, { try method.enhance(self.window($0)) }) }, observer: observer)
    }

    /// Scores methods given as frame i's output, with progress (see `score(outputs:lpips:progress:)`).
    public func score(outputs methods: [(name: String, output: (Int) throws -> Tensor)], observer: JobObserver) throws -> [MethodScore] {
        let lpips = try LPIPS()
        defer { observer.finishStage() }
        return try score(outputs: methods, lpips: lpips, progress: observer.progress("score", unit: isVideo ? "frames" : "images"))
    }

    /// Each classical filter with something to undo in the clip's damage (`ClassicalFilter.undoing`) at its
    /// best setting on this clip (highest Y-PSNR), named by its chain; none for a clean downscale.
    /// - Throws: `VideoIOError` when libavfilter refuses a chain; `JobCancelled`.
    public func bestClassicalFilters(for damages: [Damage], observer: JobObserver) throws -> [MethodScore] {
        let filters = ClassicalFilter.undoing(blur: damages.contains(where: \.isSoftening),
                                              noiseOrCompression: damages.contains(where: \.isNoiseOrCompression))
        return try scoreSettings(filters.map { ($0.settings, $0.isTemporal) }, observer: observer).best
    }

    /// Every setting (a libavfilter chain) of each tool scored, and each tool's best (highest Y-PSNR).
    /// - Throws: `VideoIOError` when libavfilter refuses a chain; `JobCancelled`.
    public func scoreSettings(_ tools: [(settings: [String], temporal: Bool)], observer: JobObserver) throws -> (best: [MethodScore], all: [MethodScore]) {
        var (best, all): ([MethodScore], [MethodScore]) = ([], [])
        for tool in tools {
            let outputs = try tool.settings.map { chain in (chain, try filtered(chain, temporal: tool.temporal)) }
            let scores = try score(outputs: outputs, observer: observer)
            best.append(scores.max { $0.psnrY < $1.psnrY }!)
            all += scores
        }
        return (best, all)
    }

    /// Fine-tunes `base` on the low-resolution frames alone (as `hone finetune`
    /// would on that clip), checkpointing to `output`; returns the best-validated
    /// model and its record. When resuming, a finished run is reused as it is.
    public func fineTune(source: String, base: StartingModel, epochs: Int, output: String, settings: TrainingSettings,
                         fromShipped: Bool = false, observer: JobObserver) throws -> (any UpscalingNetwork, RunRecord) {
        if settings.resume, let done = try? loadNetwork(checkpoint: output), done.1.epochsDone >= done.1.epochs {
            observer.report("\(output): fine-tuning already finished")
            return done
        }
        var run = try settings.openRun(output: output, fallback: "configs/default.yaml") { config in
            var record = RunRecord(config: config, scale: scale, video: URL(fileURLWithPath: source).standardizedFileURL.path, base: base, epochs: epochs)
            record.targets = settings.targets(base: record.base, model: config.model)
            settings.learnDamage({ inputDamage }, record: &record, fromShipped: fromShipped, observer: observer)
            if scale == 1 && record.targets == .frames && settings.config == nil {
                let estimate = inputDamage
                record.config = estimate.restoring(config)
                observer.report("input: \(estimate.summary)\nlearning to undo: \(record.config.degradation.summary)")
            }
            if isVideo, let rate = settings.sampleRate { record.sampling = FrameSampling(rate: rate, limit: .max) }
            return record
        }
        if run.record.config.model.radius > 0 && (!isVideo || run.record.sampling != nil) {
            throw UsageError("a multi-frame model learns from a video's consecutive frames: " + (isVideo ? "drop --sample" : "give a ground-truth video"))
        }
        if run.record.targets == .ensemble { observer.report(TrainingTargets.ensembleNote) }
        // A sampled run learns from the frames `hone finetune` would keep of the same video.
        var frames = lowRes
        if let sampling = run.record.sampling {
            let fps = max(try MediaInput(source).info.frameRate, 1)
            let kept = (0..<lowRes.count).reduce(into: [Int]()) { kept, i in
                if sampling.keeps(seconds: Double(i) / fps, kept: kept.count, frameRate: fps) { kept.append(i) }
            }
            frames = try lowRes.subset(kept, source: lowRes.source)
            observer.report("learning from \(kept.count) of \(lowRes.count) frames: \(sampling)")
        }
        let trainer = try Trainer.forVideo(model: try run.startingModel(observer), config: run.record.config, frames: frames,
                                           targets: run.record.targets, epochs: run.record.epochs, observer: observer)
        try run.train(trainer, trained: "fine-tuned", observer: observer)
        return try loadNetwork(checkpoint: output)
    }
}

/// `hone evaluate`: what fine-tuning buys, measured against ground truth. The
/// truth is downscaled (not at ×1) and damaged as asked (`damages`) into an
/// input clip, the base is fine-tuned on that clip alone, and bicubic, lanczos
/// (at ×1, the input itself), each of FFmpeg's classical filters at its best
/// setting (with damages), the base and the fine-tuned model are scored against
/// the truth (`GroundTruth.score`). With `settings.neighbours`, a multi-frame
/// model is fine-tuned from the same base too and scored beside the single-frame one.
public struct EvaluateJob {
    /// A ground-truth video, or a folder of images.
    public var groundTruth: String
    public var epochs = 3
    /// Frames (or images) scored, spread through the truth.
    public var frames = 16
    public var start = StartingModel.shipped
    /// Where to keep the fine-tuned checkpoint; nil: `<truth name>.evaluate-x<scale>.ckpt`.
    public var output: String?
    public var settings = TrainingSettings()
    /// Also score the base and the fine-tuned models as geometric self-ensembles (`TiledUpscaler.selfEnsemble`, 8× the cost).
    public var selfEnsemble = false
    /// What damages the truth (after the downscale) into the input clip; needed at ×1.
    public var damages: [Damage] = []
    /// Checkpoints scored beside the rest as they are, after the fine-tuned model (other bases,
    /// the networks a user would otherwise use); each must upscale at the run's scale.
    public var also: [String] = []
    /// Score light and colour correction at ×1 instead (`runLight`): the light base, its fine-tune and FFmpeg's tools.
    public var light = false

    public init(groundTruth: String) { self.groundTruth = groundTruth }

    public struct Report: Codable, Sendable {
        public let groundTruth: String, scale: Int, frames: Int, epochs: Int
        public let methods: [MethodScore]
        /// Wall seconds of each stage.
        public let stages: [String: Double]
        public let isVideo: Bool
        /// The fine-tuned checkpoints: the single-frame model's, then the multi-frame one's.
        public let checkpoints: [String]
        /// What the fine-tunes learnt from (`TrainingTargets`).
        public let targets: String
        /// What damaged the input clip (`Damage`, as `--degrade` writes it), and what it was measured to suffer from.
        public let damages: [String]
        public let inputDamage: DamageEstimate?
        /// With `light`: every setting of FFmpeg's light tools, scored (the table shows each tool's best).
        public var settings: [MethodScore]? = nil
        /// With `light`: the truth's mean luma over the scored frames (`Metrics.meanY`), beside each method's `meanLuma`.
        public var truthMeanLuma: Double? = nil
    }

    /// - Throws: `FileError`/`VideoIOError` naming the file at fault; `JobCancelled` (the checkpoint is resumable).
    public func run(_ observer: JobObserver) throws -> Report {
        if light { return try runLight(observer) }
        var stages: [String: Double] = [:]
        var clock = Date()
        func lap(_ stage: String) { stages[stage] = Date().timeIntervalSince(clock); clock = Date() }
        var settings = settings
        try settings.adopt(start)
        let scale = settings.scaleOrDefault
        if scale == 1 && damages.isEmpty { throw UsageError("--scale 1 restores: give --degrade (x264:crf=35, noise:sigma=10, …) to damage the ground truth") }
        let radius = settings.neighbours ?? 0
        if epochs == 0 && radius > 0 { throw UsageError("--neighbours fine-tunes a multi-frame model: give --epochs 1 or more") }
        if radius > 0 {
            // Refused before any work: sampling keeps frames apart, and ensemble targets need a single-frame model.
            if settings.sampleRate != nil { throw UsageError("--sample: a multi-frame model learns from consecutive frames; drop --sample to use --neighbours") }
            _ = try settings.loadConfig(fallback: "configs/default.yaml")
            // Both models learn from the same targets, so the table shows what the neighbours add.
            settings.targets = settings.targets ?? .frames
        }

        // Loaded before the long work, so that a wrong one is told at once.
        let others = try also.map { path in
            let (model, _) = try loadNetwork(checkpoint: path)
            guard model.scale == scale else { throw UsageError("--also: \(path) upscales ×\(model.scale), this run ×\(scale)") }
            return (name: StartingModel.checkpoint(path).fileName, model: model)
        }
        let gt = try GroundTruth.load(groundTruth, scale: scale, frames: frames, damages: damages, observer: observer)
        if !gt.isVideo, others.contains(where: { $0.model.config.propagation != nil }) {
            throw UsageError("--also: a recurrent network needs a ground-truth video, not a folder of pictures")
        }
        lap(scale == 1 ? "decode and damage" : damages.isEmpty ? "decode and downscale" : "decode, downscale and damage")
        var single = settings
        single.neighbours = nil
        let base = start.resolved(scale: scale, config: try single.loadConfig(fallback: "configs/default.yaml"))
        let checkpoint = output ?? outputName(for: groundTruth, ".evaluate-x\(scale).ckpt")
        // With no epochs, the models are scored as they are.
        let (tuned, record) = epochs == 0 ? (nil, RunRecord(config: try single.loadConfig(fallback: "configs/default.yaml"), scale: scale, base: base, epochs: 0))
            : try gt.fineTune(source: groundTruth, base: base, epochs: epochs, output: checkpoint, settings: single,
                              fromShipped: start == .shipped, observer: observer)
        var checkpoints = tuned == nil ? [] : [checkpoint]
        lap("fine-tune")
        let baseModel = try TrainingRun.model(base: base, config: record.config, scale: scale, observer: observer)
        let kernels: [(name: String, enhance: (FrameWindow) throws -> Tensor)] = scale == 1 ? [("input", { $0.image })]
            : [("bicubic", { try resizeBicubic($0.image, .up(scale)) }), ("lanczos", { try resizeLanczos($0.image, .up(scale)) })]
        var methods = kernels + [(base.label, TiledUpscaler(baseModel).callAsFunction)]
        if record.base != base {  // the automatic choice started from another shipped base: scored by its file's name
            let start = try TrainingRun.model(base: record.base, config: record.config, scale: scale, observer: observer)
            methods.append((record.base.fileName, TiledUpscaler(start).callAsFunction))
        }
        if let tuned { methods.append(("fine-tuned", TiledUpscaler(tuned).callAsFunction)) }
        methods += others.filter { $0.model.config.propagation == nil }.map { ($0.name, TiledUpscaler($0.model).callAsFunction) }
        if radius > 0 {
            guard gt.isVideo else { throw UsageError("--neighbours needs a ground-truth video: the pictures of a folder have no neighbours") }
            observer.report("multi-frame: fine-tuning a model that reads \(radius) frame\(radius == 1 ? "" : "s") each side")
            let multi = (checkpoint.hasSuffix(".ckpt") ? String(checkpoint.dropLast(5)) : checkpoint) + "-k\(radius).ckpt"
            observer.report("multi-frame checkpoint: \(multi); both models learn from \(settings.targets!.rawValue) targets")
            let (model, _) = try gt.fineTune(source: groundTruth, base: base, epochs: epochs, output: multi, settings: settings, observer: observer)
            methods.append(("fine-tuned, \(2 * radius + 1) frames", TiledUpscaler(model).callAsFunction))
            checkpoints.append(multi)
            lap("fine-tune multi-frame")
        }
        if selfEnsemble {
            methods.append((base.label + " ×8", TiledUpscaler(baseModel).selfEnsemble))
            if let tuned { methods.append(("fine-tuned ×8", TiledUpscaler(tuned).selfEnsemble)) }
        }
        var scores = try gt.score(methods, observer: observer)
        let recurrent = others.filter { $0.model.config.propagation != nil }
        if !recurrent.isEmpty {  // each runs over the clip in order, apart from the rest
            scores += try gt.score(outputs: recurrent.map { ($0.name, try gt.streamed($0.model)) }, observer: observer)
        }
        lap("score")
        let filters = try gt.bestClassicalFilters(for: damages, observer: observer)
        if !filters.isEmpty {
            scores.insert(contentsOf: filters, at: kernels.count)
            lap("classical filters")
        }
        return Report(groundTruth: groundTruth, scale: scale, frames: gt.scored.count, epochs: epochs, methods: scores, stages: stages,
                      isVideo: gt.isVideo, checkpoints: checkpoints, targets: record.targets.rawValue,
                      damages: damages.map(\.description), inputDamage: gt.inputDamage)
    }
}

/// `hone sweep`: one short fine-tune per combination of loss weights in a
/// grid, each scored against ground truth as in `EvaluateJob`, next to bicubic
/// and the base. Results are written after every run and finished runs are
/// skipped, so running it again resumes.
public struct SweepJob {
    /// A grid of loss weights; absent keys: 2 epochs, 8 frames, pixel [1], no perceptual terms, gram [0].
    public struct Grid: Codable, Sendable {
        public var epochs: Int?, frames: Int?
        public var pixel: [Float]?, perceptual: [String: [Float]]?, gram: [Float]?

        /// Reads a grid file.
        /// - Throws: `FileError` naming the file, and the layer when one is unknown.
        public static func load(_ path: String) throws -> Grid {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw FileError(path, "no such grid file") }
            return try parse(text, path: path)
        }

        /// A grid from YAML text; `path` names it in errors. Throws as `load`.
        public static func parse(_ text: String, path: String) throws -> Grid {
            let grid: Grid
            do {
                try refuseDeepYAML(text, path: path)
                grid = try onDeepStack {
                    if let root = try Yams.compose(yaml: text) { try refuseBase60(root, path: path) }
                    return try YAMLDecoder().decode(Grid.self, from: text)
                }
            } catch let error as FileError {
                throw error
            } catch let error as DecodingError {
                throw FileError(path, "not a valid grid: \(HoneConfig.describe(error))")
            } catch {
                throw FileError(path, "not valid YAML (\(String(describing: error).split(separator: "\n").joined(separator: " ")))")
            }
            for layer in (grid.perceptual ?? [:]).keys where VGGLayer(rawValue: layer) == nil {
                throw FileError(path, "perceptual.\(layer): unknown layer; use \(VGGLayer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return grid
        }

        /// Every combination, as the loss weights of one run, with its name.
        public var runs: [(name: String, weights: LossWeights)] {
            var layers: [[(VGGLayer, Float)]] = [[]]
            for (layer, weights) in (perceptual ?? [:]).sorted(by: { $0.key < $1.key }) {
                layers = layers.flatMap { prefix in weights.map { prefix + [(VGGLayer(rawValue: layer)!, $0)] } }
            }
            return (pixel ?? [1]).flatMap { p in layers.flatMap { l in (gram ?? [0]).map { g in
                ("pixel=\(p)" + l.map { " \($0.0.rawValue)=\($0.1)" }.joined() + " gram=\(g)",
                 LossWeights(pixel: p, perceptual: Dictionary(uniqueKeysWithValues: l), gram: g))
            } } }
        }
    }

    /// The ground-truth video (or image folder).
    public var video: String
    public var grid: Grid
    public var start = StartingModel.shipped
    /// Folder for results.json and the checkpoints; nil: `<video name>.sweep`.
    public var output: String?
    public var settings = TrainingSettings()

    public init(video: String, grid: Grid) { (self.video, self.grid) = (video, grid) }

    public var folder: String { output ?? outputName(for: video, ".sweep") }
    public var resultsPath: String { folder + "/results.json" }

    /// Runs what is not in results.json yet; returns every result, bicubic and the base first.
    /// - Throws: `FileError`/`VideoIOError` naming the file at fault; `JobCancelled` (rerun to resume).
    public func run(_ observer: JobObserver) throws -> [MethodScore] {
        let created = !FileManager.default.fileExists(atPath: folder)
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw FileError(folder, "cannot create the folder")
        }
        do { return try sweep(observer) } catch {
            // A sweep that failed before any result leaves no folder behind.
            if created, (try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true { try? FileManager.default.removeItem(atPath: folder) }
            throw error
        }
    }

    private func sweep(_ observer: JobObserver) throws -> [MethodScore] {
        var settings = settings
        try settings.adopt(start)
        // A grid of loss weights compares lesson 7's runs: every one learns from the frames.
        settings.targets = settings.targets ?? .frames
        var results = (try? JSONDecoder().decode([MethodScore].self, from: Data(contentsOf: URL(fileURLWithPath: resultsPath)))) ?? []
        func record(_ score: MethodScore) throws {
            results.append(score)
            do { try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: resultsPath), options: .atomic) } catch {
                throw FileError(resultsPath, "cannot write")
            }
        }
        let scale = settings.scaleOrDefault
        let gt = try GroundTruth.load(video, scale: scale, frames: grid.frames ?? 8, observer: observer)
        let config = try settings.loadConfig(fallback: "configs/default.yaml")
        let base = start.resolved(scale: scale, config: config)
        if !results.contains(where: { $0.method == "bicubic" }) {
            let baseModel = try TrainingRun.model(base: base, config: config, scale: scale, observer: observer)
            for score in try gt.score([("bicubic", { try resizeBicubic($0.image, .up(scale)) }), (base.label, TiledUpscaler(baseModel).callAsFunction)],
                                      observer: observer) {
                try record(score)
            }
        }
        let runs = grid.runs
        for (n, (name, weights)) in runs.enumerated() where !results.contains(where: { $0.method == name }) {
            let checkpoint = folder + "/" + name.replacingOccurrences(of: " ", with: "_") + ".ckpt"
            var settings = settings
            settings.loss = weights
            settings.resume = FileManager.default.fileExists(atPath: checkpoint)
            observer.report("run \(n + 1)/\(runs.count): \(name)")
            let (model, _) = try gt.fineTune(source: video, base: base, epochs: grid.epochs ?? 2, output: checkpoint, settings: settings,
                                             observer: observer)
            let score = try gt.score([(name, TiledUpscaler(model).callAsFunction)], observer: observer)[0]
            try record(score)
            observer.report(String(format: "run %d/%d: Y-PSNR %.2f dB  Y-SSIM %.4f  LPIPS %.4f  overshoot %.3f / %.2f", n + 1, runs.count,
                                   score.psnrY, score.ssimY, score.lpips, score.overshootMean, score.overshootP99))
        }
        observer.report("×\(scale) on \(video), \(grid.epochs ?? 2) epochs per run, \(gt.scored.count) frames scored; results in \(resultsPath)")
        return results
    }
}
