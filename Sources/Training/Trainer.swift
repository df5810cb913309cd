import Autograd
import Foundation
import Networks
import Quality
import VideoIO

/// Where a training step's inputs come from.
public enum TrainingInputs {
    /// Made from each target crop by `Trainer.degrade` (a video's own frames, photographs).
    case degraded
    /// The pictures at the same indices of this cache, each 1/scale of its target's size
    /// (of its top-left part when the target's sides are not multiples of 2 × scale):
    /// the stream a receiver decodes, codec artifacts included (`hone pack`).
    case paired(FrameCache)
}

/// Where a recurrent model's training clips come from.
public enum ClipSource: Sendable {
    /// Pseudo-videos made from still pictures (`PseudoVideo`): pretraining on photographs.
    case photographs
    /// The same place of consecutive frames of a video, within a shot: a video's own fine-tune.
    case video
}

/// What training changes.
public enum Tuning: String, Sendable, CaseIterable {
    /// Every weight.
    case allWeights = "all-weights"
    /// A scale per output channel of each convolution, with the biases and PReLU slopes (`ChannelModulation`).
    case channelModulation = "channel-modulation"
    /// Channel modulation plus a low-rank change of each convolution's weights (`ChannelModulation.rank`).
    case lowRank = "low-rank"
}

/// Fine-tunes a model on one video's own frames: high-resolution crops of the
/// frames are the targets, their degraded downscales (or the paired
/// low-resolution frames) the inputs. Every n-th frame is held out for validation.
public final class Trainer {
    public let model: any UpscalingNetwork
    public let config: HoneConfig
    public let frames: FrameCache
    public let inputs: TrainingInputs
    /// Set when only channel scales (and low-rank changes), biases and slopes are tuned.
    public let modulation: ChannelModulation?
    /// A multi-frame model's inputs: for frame t, pictures t(2k + 1) … t(2k + 1) + 2k are
    /// its low-resolution stack (`Alignment.stack` of the frames' `bicubicInput`s); nil for a single-frame model.
    let windows: FrameCache?
    /// A recurrent model (`model.propagation`), which trains on clips (`clipSource`); else nil.
    let recurrent: SRNet?
    let clipSource: ClipSource
    /// The frames of a video that start a new shot (`Alignment.isSceneCut` from the one before): no clip spans one.
    let cuts: Set<Int>
    /// A recurrent model's held-out clips, one per validation picture, made once.
    let validationClips: [Clip]?
    public let trainFrames: [Int], validationFrames: [Int]
    /// Real pictures to validate on instead of the targets (at those indices), one scale down as for
    /// frames targets: a video's own frames when the targets are a teacher's output (ensemble targets),
    /// so that validation says how the model does on the video, not how close it comes to the teacher.
    public let validationTruth: FrameCache?
    /// ⌈training frames × patches per frame / batch⌉ unless given.
    public let stepsPerEpoch: Int
    public let epochs: Int
    public private(set) var step = 0
    /// The best validation so far and the weights that scored it.
    public private(set) var best: (score: Score, weights: [Tensor])?
    let loss: SRLoss
    let optimizer: Adam
    let schedule: OneCycle
    var rng: SeededRandom

    public var totalSteps: Int { epochs * stepsPerEpoch }
    public var scale: Int { model.scale }

    /// - Throws: `FileError` naming the pictures when they cannot train under `config`,
    ///   or when paired inputs are not 1/scale of their targets.
    /// `clips` says what the pictures are to a recurrent model: photographs or a video's frames.
    public init(model: any UpscalingNetwork, config: HoneConfig, frames: FrameCache, inputs: TrainingInputs = .degraded, tuning: Tuning = .allWeights,
                epochs: Int, stepsPerEpoch: Int? = nil, validationTruth: FrameCache? = nil, clips: ClipSource = .photographs,
                vggWeights: String = VGG16.defaultPath) throws {
        let t = config.training
        let smallest = frames.sizes.map { min($0.width, $0.height) }.min()!
        if let problem = Self.problem(config: config, scale: model.scale, pictures: frames.count, smallestSide: smallest, unit: "pictures") {
            throw FileError(frames.source, problem)
        }
        guard epochs >= 1 else { throw ShapeError("epochs must be at least 1, got \(epochs)") }
        if case .paired(let low) = inputs {
            let s = model.scale
            guard low.count == frames.count, zip(low.sizes, frames.sizes).allSatisfy({ $0.width * s <= $1.width && $0.height * s <= $1.height }) else {
                throw FileError(low.source, "its \(low.count) pictures are not 1/\(s) the size of the \(frames.count) in \(frames.source) (or less)")
            }
        }
        (self.model, self.config, self.frames, self.inputs, self.epochs) = (model, config, frames, inputs, epochs)
        self.validationTruth = validationTruth
        windows = model.radius == 0 ? nil : try Self.windows(of: frames, inputs: inputs, radius: model.radius, scale: model.scale)
        recurrent = model.config.propagation == nil ? nil : model as? SRNet
        if recurrent != nil, case .paired = inputs { throw UsageError("a recurrent model learns from clips; it cannot be tuned on paired pictures") }
        clipSource = clips
        cuts = recurrent != nil && clips == .video ? Set((1..<frames.count).filter { Alignment.isSceneCut(frames.frame($0 - 1), frames.frame($0)) }) : []
        if config.training.trained == .propagation {  // the single-frame weights keep their base's values, and need no gradients
            for (name, t) in model.namedTensors() where !name.hasPrefix("fusion.") { t.requiresGrad = false }
        }
        modulation = switch tuning {
        case .allWeights: nil
        case .channelModulation: ChannelModulation(model)
        case .lowRank: ChannelModulation(model, rank: ChannelModulation.rank, seed: config.training.seed)
        }
        let every = t.validationEvery
        let held = (0..<frames.count).filter { $0 % every == every / 2 }
        // At most 16 validation frames, spread through the video.
        validationFrames = held.count <= 16 ? held : (0..<16).map { held[$0 * held.count / 16] }
        trainFrames = (0..<frames.count).filter { $0 % every != every / 2 }
        self.stepsPerEpoch = stepsPerEpoch ?? Self.stepsPerEpoch(pictures: frames.count, config: config)
        loss = try SRLoss(config.loss, vggWeights: vggWeights)
        // Scales decay towards 1, not 0: modulation is not decayed.
        optimizer = Adam.adamW(modulation?.parameters.map(\.tensor) ?? model.parameters, learningRate: t.learningRate,
                               weightDecay: modulation == nil ? t.weightDecay : 0)
        schedule = OneCycle(maxLR: t.learningRate, totalSteps: epochs * self.stepsPerEpoch, pctStart: t.pctStart)
        rng = SeededRandom(seed: t.seed)
        var clipRNG = SeededRandom(seed: t.seed ^ 0x5EED)
        let length = t.clipFrames ?? TrainingConfig.defaultClipFrames
        let cuts = cuts
        validationClips = recurrent == nil ? nil : try validationFrames.map { i in
            guard clips == .video else {
                return try Self.clip(frames, photo: i, layer: nil, config: config, scale: model.scale, size: 2 * config.training.patch, damaged: nil, rng: &clipRNG)
            }
            // The held-out frame whole, last of a clip of the frames before it in its shot.
            let first = max(i - length + 1, cuts.filter { $0 <= i }.max() ?? 0)
            let hr = try (first...i).map { try crop(frames.frame($0), toMultipleOf: model.scale) }
            var clip = try Self.clip(hr, scale: model.scale, damaged: nil)
            clip.scored = i - first
            return clip
        }
    }

    /// A recurrent model's training or validation clip: low-resolution frames, their targets, and the flow
    /// from each frame to the one before (nil for the first), as DIS finds it on the low-resolution frames.
    struct Clip {
        var lr: [Tensor], hr: [Tensor], flows: [Tensor?]
        /// The first frame validation scores (a video's held-out frame comes after training frames).
        var scored = 0
    }

    /// A pseudo-video clip of `training.clip_frames` frames of `size`² from photograph `photo` (`PseudoVideo`);
    /// its inputs through `damaged` (training's degradation), or the plain bicubic downscale when nil.
    static func clip(_ frames: FrameCache, photo: Int, layer: Int?, config: HoneConfig, scale: Int, size: Int,
                     damaged: ((Tensor) throws -> Tensor)?, rng: inout SeededRandom) throws -> Clip {
        let hr = try PseudoVideo.clip(frames, photo: photo, layer: layer, frames: config.training.clipFrames ?? TrainingConfig.defaultClipFrames,
                                      size: size, rng: &rng)
        return try clip(hr, scale: scale, damaged: damaged)
    }

    /// The clip of targets `hr` (consecutive, one shot), its inputs through `damaged` or the plain bicubic downscale.
    static func clip(_ hr: [Tensor], scale: Int, damaged: ((Tensor) throws -> Tensor)?) throws -> Clip {
        let lr = try hr.map { try damaged?($0) ?? bicubicInput($0, scale: scale) }
        let flows = try lr.indices.map { t in t == 0 ? nil : try Alignment.flow(from: lr[t], to: lr[t - 1]) }
        return Clip(lr: lr, hr: hr, flows: flows)
    }

    /// A video's training clip: the same `size`² place (under one flip or turn) of `length` consecutive
    /// training frames within a shot, none of them held out.
    func videoClip(length: Int, size: Int) throws -> [Tensor] {
        let held = Set(validationFrames)
        let starts = (0...max(0, frames.count - length)).filter { t0 in
            (t0..<t0 + length).allSatisfy { $0 < frames.count && !held.contains($0) } && !(t0 + 1..<t0 + length).contains(where: cuts.contains)
        }
        guard let t0 = starts.isEmpty ? nil : starts[Int(rng.next() % UInt64(starts.count))] else {
            throw FileError(frames.source, "has no \(length) consecutive frames in one shot without a held-out one: lower training.clip_frames")
        }
        let (w, h) = frames.sizes[t0]
        let x = Int(rng.next() % UInt64(w - size + 1)), y = Int(rng.next() % UInt64(h - size + 1)), transform = Int(rng.next() % 8)
        return (t0..<t0 + length).map { t in
            let picture = Tensor(shape: [1, 3, size, size])
            frames.crop(t, x: x, y: y, size: size, transform: transform, into: picture, slot: 0)
            return picture
        }
    }

    /// The low-resolution stack of every frame (see `windows`), aligned once: as
    /// inference sees them, from whole frames, with the ends mirrored and scene cuts respected.
    /// - Throws: `UsageError` for paired inputs, which have no stacks.
    static func windows(of frames: FrameCache, inputs: TrainingInputs, radius: Int, scale: Int) throws -> FrameCache {
        guard case .degraded = inputs else { throw UsageError("a multi-frame model cannot be tuned on paired pictures") }
        var i = 0
        let low = try FrameCache(source: frames.source) {
            defer { i += 1 }
            return i < frames.count ? try bicubicInput(try crop(frames.frame(i), toMultipleOf: scale), scale: scale) : nil
        }
        let m = 2 * radius + 1
        var (t, j, stack) = (0, 0, Tensor(shape: [1]))
        return try FrameCache(source: frames.source) {
            guard t < frames.count else { return nil }
            if j == 0 { stack = try Alignment.stack(FrameWindow(around: t, count: low.count, radius: radius, frame: low.frame), radius: radius) }
            defer { (t, j) = j == m - 1 ? (t + 1, 0) : (t, j + 1) }
            return try sliceChannels(stack, 3 * j..<3 * j + 3)
        }
    }

    /// Why `pictures` frames or photographs (`unit`) whose smallest side is `smallestSide` cannot
    /// train under `config` at `scale`, or nil: a crop must fit in every picture,
    /// and one picture in `validation_every` (the middle one) is held out.
    public static func problem(config: HoneConfig, scale: Int, pictures: Int, smallestSide: Int, unit: String) -> String? {
        let (patch, every) = (config.training.patch, config.training.validationEvery)
        if patch % scale != 0 { return "training.patch \(patch) is not a multiple of the scale \(scale)" }
        if patch > smallestSide {
            return "its smallest side is \(smallestSide) pixels, less than a training crop (training.patch \(patch)); lower patch in the config"
        }
        let needed = every / 2 + 1
        if pictures < needed {
            return "has \(pictures) \(unit); training needs at least \(needed) (one in validation_every \(every), the \(needed)th, is held out for validation)"
        }
        return nil
    }

    /// An epoch's steps for `pictures` under `config`: ⌈training pictures × patches per picture / batch⌉,
    /// where one picture in `validation_every` is held out.
    public static func stepsPerEpoch(pictures: Int, config: HoneConfig) -> Int {
        let t = config.training
        let training = (0..<pictures).filter { $0 % t.validationEvery != t.validationEvery / 2 }.count
        return max(1, (training * t.patchesPerFrame + t.batch - 1) / t.batch)
    }

    /// Whether the perceptual terms are on at this step (the config's `perceptual_start`).
    public var perceptualActive: Bool { Double(step) >= (config.loss.perceptualStart ?? 0) * Double(totalSteps) }

    /// One optimisation step on a fresh batch; returns the loss and its terms.
    @discardableResult
    public func trainStep() throws -> (loss: Float, terms: [String: Float]) {
        schedule.apply(to: optimizer, step: step)
        model.zeroGrad()
        optimizer.zeroGrad()
        let (total, terms) = try recurrent.map(clipLoss) ?? {
            let (lr, hr) = try sampleBatch()
            return try loss(try model(lr), hr, perceptual: perceptualActive)
        }()
        try total.backward()
        modulation?.projectGradients()
        clipGradNorm(optimizer.parameters, maxNorm: 10)
        optimizer.update()
        modulation?.fold()
        step += 1
        return (total.item, terms)
    }

    /// A recurrent model's loss on `training.batch` fresh clips, each frame's loss averaged over the clip
    /// (gradients flow back through the carried states).
    func clipLoss(_ net: SRNet) throws -> (Tensor, [String: Float]) {
        let (p, b) = (config.training.patch, config.training.batch)
        let clips = try (0..<b).map { _ in
            if clipSource == .video {
                return try Self.clip(try videoClip(length: config.training.clipFrames ?? TrainingConfig.defaultClipFrames, size: p), scale: scale, damaged: degrade)
            }
            let pick = { self.trainFrames[Int(self.rng.next() % UInt64(self.trainFrames.count))] }
            let (photo, layer) = (pick(), rng.next() % 2 == 0 ? pick() : nil)
            return try Self.clip(frames, photo: photo, layer: layer, config: config, scale: scale, size: p, damaged: degrade, rng: &rng)
        }
        let length = clips[0].lr.count
        let outputs = try net(clip: (0..<length).map { t in Self.batch(clips.map { $0.lr[t] }) },
                              flows: (0..<length).map { t in t == 0 ? nil : Self.batch(clips.map { $0.flows[t]! }) })
        var total: Tensor?
        var terms: [String: Float] = [:]
        for t in 0..<length {
            let (frameLoss, frameTerms) = try loss(outputs[t], Self.batch(clips.map { $0.hr[t] }), perceptual: perceptualActive)
            total = try total.map { try add($0, frameLoss) } ?? frameLoss
            terms.merge(frameTerms.mapValues { $0 / Float(length) }, uniquingKeysWith: +)
        }
        return (try mul(total!, Tensor(scalar: 1 / Float(length))), terms)
    }

    /// Random crops (with flips and 90° turns) and their degraded downscales,
    /// or the same places of the paired low-resolution pictures.
    func sampleBatch() throws -> (lr: Tensor, hr: Tensor) {
        let (p, b, s) = (config.training.patch, config.training.batch, scale)
        let hr = Tensor(shape: [b, 3, p, p])
        if let windows {
            // The same place of the frame and of its aligned low-resolution stack, under one transform.
            let m = 2 * model.radius + 1
            let lr = Tensor(shape: [b, 3 * m, p / s, p / s])
            for slot in 0..<b {
                let i = trainFrames[Int(rng.next() % UInt64(trainFrames.count))]
                let (w, h) = windows.sizes[i * m]
                let x = Int(rng.next() % UInt64(w - p / s + 1)), y = Int(rng.next() % UInt64(h - p / s + 1))
                let transform = Int(rng.next() % 8)
                frames.crop(i, x: x * s, y: y * s, size: p, transform: transform, into: hr, slot: slot)
                for j in 0..<m { windows.crop(i * m + j, x: x, y: y, size: p / s, transform: transform, into: lr, slot: slot * m + j) }
            }
            try corrupt(lr)
            return (lr, hr)
        }
        guard case .paired(let low) = inputs else {
            for slot in 0..<b {
                let i = trainFrames[Int(rng.next() % UInt64(trainFrames.count))]
                let (w, h) = frames.sizes[i]
                let x = Int(rng.next() % UInt64(w - p + 1)), y = Int(rng.next() % UInt64(h - p + 1))
                frames.crop(i, x: x, y: y, size: p, transform: Int(rng.next() % 8), into: hr, slot: slot)
            }
            if let g = config.degradation.lightScene, g.count == 2 {
                for slot in 0..<b {
                    let gamma = rng.uniform(g[0], g[1])
                    let picture = hr.data + slot * 3 * p * p
                    for j in 0..<(3 * p * p) { picture[j] = pow(picture[j], gamma) }
                }
            }
            return (try degrade(hr), hr)
        }
        let lr = Tensor(shape: [b, 3, p / s, p / s])
        for slot in 0..<b {
            let i = trainFrames[Int(rng.next() % UInt64(trainFrames.count))]
            let (w, h) = low.sizes[i]
            // On the low-resolution grid, so both crops cover the same part of the picture.
            let x = Int(rng.next() % UInt64(w - p / s + 1)), y = Int(rng.next() % UInt64(h - p / s + 1))
            let transform = Int(rng.next() % 8)
            frames.crop(i, x: x * s, y: y * s, size: p, transform: transform, into: hr, slot: slot)
            low.crop(i, x: x, y: y, size: p / s, transform: transform, into: lr, slot: slot)
        }
        return (lr, hr)
    }

    /// The training inputs of targets `hr` [n, 3, h, w] (sides multiples of the scale) → [n, 3, h/s, w/s]:
    /// the config's lens blur (each picture's σ drawn), an antialiased downscale (bicubic, or a kernel drawn
    /// for `resize_share` of them), then `corrupt`.
    /// - Throws: `VideoIOError` from the codecs.
    public func degrade(_ hr: Tensor) throws -> Tensor {
        var soft = hr
        let (n, h, w) = (hr.shape[0], hr.shape[2], hr.shape[3])
        if config.degradation.lensRange != nil {
            soft = hr.detached()
            for img in 0..<n {
                config.degradation.drawLens(&rng)?.blurLens(soft.data + img * 3 * h * w, planes: 3, h: h, w: w)
            }
        }
        let lr: Tensor
        if scale > 1, (config.degradation.resizeShare ?? 0) > 0 {
            lr = Tensor(shape: [n, 3, (h + scale - 1) / scale, (w + scale - 1) / scale])
            let size = lr.count / n
            for img in 0..<n {
                let one = Tensor(shape: [1, 3, h, w])
                one.data.update(from: soft.data + img * 3 * h * w, count: 3 * h * w)
                let small = try Grad.disabled { try config.degradation.drawResizeKernel(&rng).resize(one, .down(scale)) }
                withExtendedLifetime(small) { (lr.data + img * size).update(from: small.data, count: size) }
            }
        } else {
            lr = try downscale(soft, scale: scale)
        }
        try corrupt(lr)
        return lr
    }

    /// In place: the config's degradations at random strengths (see the free function).
    func corrupt(_ lr: Tensor) throws { try Training.corrupt(lr, config.degradation, rng: &rng) }

    /// Mean Y-PSNR/SSIM of `enhance` on the held-out frames, each downscaled as
    /// in training without noise or blur (at ×1, damaged at the config's typical
    /// strengths instead; or its paired low-resolution picture; for a multi-frame
    /// model, its aligned stack).
    public func validate(_ enhance: (Tensor) throws -> Tensor) throws -> Score {
        if let validationClips { return try Self.score(validationClips, border: scale) { try $0.lr.map(enhance) } }
        var psnr = 0.0, ssim = 0.0
        for i in validationFrames {
            var hr = try crop((validationTruth ?? frames).frame(i), toMultipleOf: scale)
            let lr: Tensor
            if let windows {
                let m = 2 * model.radius + 1
                lr = try concat((i * m..<(i + 1) * m).map(windows.frame))
            } else if validationTruth == nil, case .paired(let low) = inputs {
                lr = low.frame(i)
                hr = try crop(hr, width: lr.shape[3] * scale, height: lr.shape[2] * scale)
            } else if scale == 1 {
                hr = try crop(hr, toMultipleOf: 2)  // x264 takes even sides
                lr = try Damage.apply(config.degradation.typical, to: Damage.applyLens(config.degradation.typical, to: hr), seed: UInt64(i))
            } else {
                // Held-out real frames, damaged as training assumes the video was: a lens blur's and a
                // CRF range's middle, when the config has them (its noise and blur stay out, as they always have).
                let assumed = config.degradation.typical.filter { $0.lensSigma != nil || $0.crf != nil }
                if assumed.contains(where: { $0.crf != nil }) { hr = try crop(hr, toMultipleOf: 2 * scale) }  // x264 takes even sides
                lr = try Damage.apply(assumed, to: try bicubicInput(Damage.applyLens(assumed, to: hr), scale: scale), seed: UInt64(i))
            }
            let sr = try enhance(lr)
            psnr += Metrics.psnrY(sr, hr, border: scale)
            ssim += Metrics.ssimY(sr, hr, border: scale)
        }
        let n = Double(validationFrames.count)
        return Score(psnr: psnr / n, ssim: ssim / n)
    }

    /// The model's validation: `validate` of its tiled upscale, or a recurrent model run over each held-out
    /// clip (a pseudo-video's every frame; a video's held-out frame, after the frames before it in its shot,
    /// downscaled alone: the config's assumed lens and codec are not applied to them).
    public func validateModel() throws -> Score {
        guard let recurrent, let validationClips else { return try validate(TiledUpscaler(model).callAsFunction) }
        return try Self.score(validationClips, border: scale) { clip in try Grad.disabled { try recurrent(clip: clip.lr, flows: clip.flows) } }
    }

    /// Mean Y-PSNR/SSIM over the scored frames of `clips` of what `enhance` makes of each clip.
    static func score(_ clips: [Clip], border: Int, _ enhance: (Clip) throws -> [Tensor]) rethrows -> Score {
        var psnr = 0.0, ssim = 0.0, n = 0
        for clip in clips {
            for (sr, hr) in zip(try enhance(clip), clip.hr).dropFirst(clip.scored) {
                (psnr, ssim, n) = (psnr + Metrics.psnrY(sr, hr, border: border), ssim + Metrics.ssimY(sr, hr, border: border), n + 1)
            }
        }
        return Score(psnr: psnr / Double(n), ssim: ssim / Double(n))
    }

    /// Pictures [1, c, h, w] of one size as a batch [n, c, h, w] (data: no gradient passes).
    static func batch(_ parts: [Tensor]) -> Tensor {
        var shape = parts[0].shape
        shape[0] = parts.count
        let out = Tensor(shape: shape)
        for (k, part) in parts.enumerated() { (out.data + k * part.count).update(from: part.data, count: part.count) }
        return out
    }

    /// Keeps a copy of the weights when `score` is the best validation yet.
    public func record(_ score: Score) {
        guard score.psnr > (best?.score.psnr ?? -.infinity) else { return }
        best = (score, kept.map { $0.tensor.detached() })
    }

    /// What a checkpoint keeps: the model's tensors, and with channel modulation its own under `modulation.`.
    var kept: [(name: String, tensor: Tensor)] {
        model.namedTensors() + (modulation?.parameters.map { ("modulation." + $0.name, $0.tensor) } ?? [])
    }

    /// The best weights so far as the model (the current ones before any
    /// validation). Until the last step, also the current weights under
    /// `resume.` with the optimiser's state and position, so `resume(from:)`
    /// continues exactly; a finished run's checkpoint is the model alone.
    public func checkpoint(metadata: [String: String]) -> Checkpoint {
        let named = kept
        var meta = metadata
        meta["hone.step"] = "\(step)"
        meta["hone.rng"] = "\(rng.state)"
        guard let best else { return Checkpoint(tensors: named + optimizerState(), metadata: meta) }
        let model = zip(named, best.weights).map { ($0.name, $1) }
        guard step < totalSteps else { return Checkpoint(tensors: model, metadata: meta) }
        return Checkpoint(tensors: model + named.map { ("resume." + $0.name, $0.tensor) } + optimizerState(), metadata: meta)
    }

    /// What the optimiser updates, by name.
    var tuned: [(name: String, tensor: Tensor)] { modulation?.parameters ?? model.namedTensors().filter(\.tensor.requiresGrad) }

    /// Adam's moments as `optimizer.m.<name>` and `optimizer.v.<name>` tensors.
    func optimizerState() -> [(String, Tensor)] {
        tuned.enumerated().flatMap { k, entry in
            let (m, v) = optimizer.moments(k)
            return [("m", m), ("v", v)].map { kind, buffer in
                let copy = Tensor(shape: entry.tensor.shape)
                copy.data.update(from: buffer, count: entry.tensor.count)
                return ("optimizer.\(kind).\(entry.name)", copy)
            }
        }
    }

    /// Continues where `checkpoint` stopped: weights, optimiser moments, step,
    /// the random sequence, and the best weights with their score (`bestScore`,
    /// from the run's record), so the run ends bit for bit as an uninterrupted one.
    /// - Throws: `FileError` naming `path` when a tensor is missing or misshapen.
    public func resume(from checkpoint: Checkpoint, bestScore: Score?, path: String) throws {
        if modulation != nil { throw FileError(path, "a run tuning channel modulation cannot be resumed") }
        try checkpoint.load(into: model, path: path)
        if let bestScore {
            record(bestScore)
        }
        if checkpoint["resume." + (model.namedTensors().first?.name ?? "")] != nil {
            try checkpoint.load(into: model, prefix: "resume.", path: path)
        }
        for (k, (name, t)) in model.namedTensors().filter(\.tensor.requiresGrad).enumerated() {
            let (m, v) = optimizer.moments(k)
            guard let sm = checkpoint["optimizer.m.\(name)"], let sv = checkpoint["optimizer.v.\(name)"] else {
                throw FileError(path, "holds no optimiser state to resume from")
            }
            m.update(from: sm.data, count: t.count)
            v.update(from: sv.data, count: t.count)
        }
        step = Int(checkpoint.metadata["hone.step"] ?? "0") ?? 0
        optimizer.restore(step: step)
        // The crops, flips, noise and JPEG qualities continue where they stopped
        // (checkpoints from before this was saved restart the sequence).
        if let state = checkpoint.metadata["hone.rng"].flatMap(UInt64.init) { rng = SeededRandom(seed: state) }
    }
}
