import Autograd
import Networks
import Quality
import VideoIO

/// What a video's fine-tuning learns to produce.
public enum TrainingTargets: String, Sendable, CaseIterable, Codable {
    /// The video's frames, from their degraded downscales (lesson 7's way): what is
    /// learnt one scale below the video's own must carry over one scale up.
    case frames
    /// The starting model's self-ensemble upscale of the frames (`TiledUpscaler.selfEnsemble`),
    /// from the frames themselves: learnt at the video's own scale, from targets a
    /// little better than the model's single pass (self-supervised adaptation with
    /// pseudo-targets, after Yoo & Kim, "Self-Supervised Adaptation for Video
    /// Super-Resolution", 2021).
    case ensemble

    /// What a run learns unless told: `.ensemble` for a single-frame Hone model
    /// starting from trained weights (its own upscale is the better target, measured in
    /// notebooks-notes/temporal.md); `.frames` from random weights (bicubic teaches nothing),
    /// for an imported network (the video's frames correct its look), for a multi-frame
    /// or recurrent model, and when perceptual or gram weights are given (`loss`), which ensemble runs do not use.
    /// At ×1 too: the frames damaged further taught a restoration to over-smooth (notebooks-notes/restoration.md).
    public static func automatic(base: StartingModel, model: ModelConfig, loss: LossWeights) -> TrainingTargets {
        base != .random && model.layout == .hone && model.radius == 0 && model.propagation == nil && !loss.asksForPerceptualTerms ? .ensemble : .frames
    }

    /// Ensemble runs learn on the pixel loss alone: the targets are the model's own
    /// PSNR-minded upscale, which feature terms pull away from (on bikes.mp4 the default
    /// config's VGG terms kept validation below the start for 3 epochs; pixel loss alone gained 1.1 dB).
    static func pixelLossOnly(_ loss: LossConfig) -> LossConfig {
        var loss = loss
        (loss.perceptual, loss.gram, loss.pixel) = ([:], 0, loss.pixel > 0 ? loss.pixel : 1)
        return loss
    }

    /// Frames given ensemble targets, spread through the video: the teacher runs 8 times on each.
    public static let ensembleFrames = 32

    /// The share of the config's learning rate ensemble targets train at: their targets are
    /// close to the start, and at the full rate 3 of 8 clip-and-scale runs never got back
    /// above it; as shipped (0.3, pixel loss) 7 of 8 gained, +0.07 dB on average
    /// (notebooks-notes/temporal.md).
    public static let ensembleLearningRate: Float = 0.3

    /// Said before an ensemble run, so that it is not mistaken for lesson 7's.
    package static let ensembleNote = "targets: the starting model's 8-way self-ensemble output for up to \(ensembleFrames) frames, learnt from the frames "
        + "themselves on the pixel loss alone; validation scores the model on held-out real frames, downscaled when enlarging "
        + "(damaged at ×1; re-encoded too when the analysis line says so), as --targets frames does, which learns from such frames instead: sharper and lower in PSNR "
        + "when enlarging, over-smoothed at ×1"

    /// Why a multi-frame model cannot learn ensemble targets: its teacher reads one frame.
    package static let singleFrameOnly = UsageError("ensemble targets tune a single-frame model: drop --neighbours (or model.neighbours, model.propagation) or use --targets frames")
}

extension Trainer {
    /// The trainer of a video's fine-tune: on `frames` for `.frames`; for
    /// `.ensemble`, on up to `TrainingTargets.ensembleFrames` of them paired with
    /// `model`'s self-ensemble upscale of each, made before any step (so from the
    /// starting weights), for as many steps as the whole video would take, at
    /// `TrainingTargets.ensembleLearningRate` of the config's rate, on the pixel loss alone.
    /// - Throws: as `init`; `UsageError` for ensemble targets with a multi-frame model; `JobCancelled`.
    public static func forVideo(model: any UpscalingNetwork, config: HoneConfig, frames: FrameCache, targets: TrainingTargets, epochs: Int,
                                observer: JobObserver) throws -> Trainer {
        guard targets == .ensemble else { return try Trainer(model: model, config: config, frames: frames, epochs: epochs, clips: .video) }
        guard model.radius == 0 && model.config.propagation == nil else { throw TrainingTargets.singleFrameOnly }
        let n = min(frames.count, TrainingTargets.ensembleFrames)
        let chosen = (0..<n).map { $0 * frames.count / n }
        let low = try frames.subset(chosen, source: frames.source)
        let upscale = TiledUpscaler(model)
        let progress = observer.progress("targets", unit: "frames")
        var next = 0
        let high = try FrameCache(source: frames.source + " (self-ensemble targets)") {
            guard next < n else { return nil }
            defer { next += 1 }
            let target = try upscale.selfEnsemble(low.frame(next))
            try progress(next + 1, n)
            return target
        }
        observer.finishStage()
        var gentle = config
        gentle.training.learningRate *= TrainingTargets.ensembleLearningRate
        gentle.loss = TrainingTargets.pixelLossOnly(config.loss)
        return try Trainer(model: model, config: gentle, frames: high, inputs: .paired(low), epochs: epochs,
                           stepsPerEpoch: stepsPerEpoch(pictures: frames.count, config: config), validationTruth: low)
    }
}
