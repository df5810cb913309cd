import ArgumentParser
import Jobs
import Networks
import Quality
import Training

/// `hone finetune`: teach a super-resolution network one video.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a super-resolution network on a video's own frames; writes a checkpoint.",
        discussion: """
            Training pairs come from the video itself. With --targets frames, random crops of \
            its frames are the targets, their antialiased bicubic downscales (plus the config's \
            blur and noise) the inputs. With --targets ensemble (the default when starting from \
            a trained Hone model), 32 frames are the inputs and the starting model's 8-way \
            self-ensemble upscale of each the targets, learnt on the pixel loss alone at 0.3× \
            the config's learning rate. Flips and 90° turns augment both. \
            --neighbours K trains a multi-frame model. Every n-th frame (the config's \
            validation_every, 10 by default) is held out; after each epoch Hone prints its \
            validation Y-PSNR/SSIM next to bicubic and the starting checkpoint. One epoch is \
            ⌈training frames × patches_per_frame / batch⌉ steps.
            --scale 1 restores at the same size (configs/restore.yaml, from \
            checkpoints/base-x1.safetensors, or checkpoints/base-x1-real.safetensors when the \
            video's edges read soft). With --targets frames its inputs are the frames \
            damaged a little more than `hone info --analyse` finds them (x264 above the \
            stream's QP, noise), and validation scores the input in bicubic's place.
            The checkpoint holds the weights that validated best, the starting ones included \
            (saved atomically after every epoch, every --save-every minutes and on Ctrl-C or \
            SIGTERM); `--resume -o CHECKPOINT` continues an interrupted run exactly, with the \
            video, scale, epochs and config it was started with.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (checkpoint saved).
            """)

    @Option(help: "The video to learn (any file or URL FFmpeg reads).")
    var video: String?

    @Option(parsing: .unconditional, help: "Passes over the training frames. (default: 3)")
    var epochs: Int?

    @Option(help: "Starting checkpoint, a name from `hone models` (realesrgan-x4plus, …), or `random`. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(name: .shortAndLong, help: "Where to write the checkpoint. (default: <video name>.hone-x<scale>.ckpt in the current folder)")
    var output: String?

    @Flag(help: "Learn this video's light and colour instead: the shipped light model (or --checkpoint, a light checkpoint) fine-tuned on the video's frames with zero-reference losses (exposure, colour constancy, spatial consistency, smooth and steady curves), kept near its start. Writes <video name>.hone-light.ckpt for `hone infer --light auto --light-checkpoint`.")
    var light = false

    @OptionGroup var training: TrainingOptions
    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        if light {
            guard video != nil else { throw ValidationError("--light learns from --video: give one") }
            let unused = training.givenButNotForLight + (sampling.sample != nil ? ["--sample"] : [])
            if !unused.isEmpty {
                throw ValidationError("--light fine-tunes the light model in one short run, with its own losses: drop \(unused.joined(separator: ", "))")
            }
        }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard training.resume || video != nil else { throw ValidationError("--video is required (unless --resume)") }
        guard !training.resume || output != nil || video != nil else {
            throw ValidationError("--resume needs the checkpoint to continue: -o CHECKPOINT")
        }
    }

    func run() throws {
        if light, let video { return try runLight(video) }
        var job = FinetuneJob(video: video)
        (job.output, job.epochs, job.settings) = (output, epochs, sampling.applied(to: try training.settings()))
        job.start = try checkpoint.map { StartingModel(try modelPath($0)) } ?? .shipped
        let run = try trainOrExplain("finetune") { try job.run(ConsoleObserver()) }
        say("wrote \(run.output)\nnext: hone infer --checkpoint \(run.output)")
    }

    func runLight(_ video: String) throws {
        var job = LightFinetuneJob(video: video)
        (job.output, job.start) = (output, checkpoint)
        if let epochs { job.tuning.epochs = epochs }
        let report = try job.run(ConsoleObserver())
        say(String(format: "learnt from %d frame%@ in %.1f s (%d steps; mean brightness kept near %.2f of white)", report.frames,
                   report.frames == 1 ? "" : "s", report.seconds, report.tuning.steps, report.tuning.level))
        say("wrote \(report.output)\nnext: hone infer --video \(video) --light auto --light-checkpoint \(report.output)")
    }
}
