import ArgumentParser
import Jobs
import Networks
import Quality
import Training

/// `hone pretrain`: train a base model on photographs, for fine-tuning to start from.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Train a base super-resolution model on folders of photographs; writes a checkpoint.",
        discussion: """
            Training pairs are random crops of the photographs (flipped and turned) and their \
            degraded downscales, as in finetune; photographs are first halved until their \
            longer side is at most --max-side. Every n-th photograph (the config's \
            validation_every) is held out and scored after every epoch of --epoch-steps steps. \
            The config's loss.perceptual_start sets when the perceptual terms join the pixel loss. \
            A recurrent model (model.propagation, as in configs/recurrent-x2.yaml) learns from \
            pseudo-videos instead: a camera moving over a photograph, another's disc moving across it. \
            scripts/pretrain-corpus.sh gathers a corpus from Debian packages.
            The checkpoint holds the weights that validated best (saved atomically after every \
            epoch, every --save-every minutes and on Ctrl-C); `--resume -o CHECKPOINT` continues \
            an interrupted run exactly.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (checkpoint saved).
            """)

    @Option(parsing: .upToNextOption, help: "Folders of photographs (png, jpg, bmp, webp).")
    var images: [String] = []

    @Option(parsing: .unconditional, help: "Optimisation steps in all (rounded up to whole epochs).")
    var steps = 20_000

    @Option(parsing: .unconditional, help: "Steps between validations (an epoch here).")
    var epochSteps = 500

    @Option(parsing: .unconditional, help: "Longest side a photograph is halved down to.")
    var maxSide = 2048

    @Option(help: "Start from this checkpoint instead of random weights; one of another scale gives the layers the scales share (start ×4 from ×2).")
    var checkpoint: String?

    @Option(name: .shortAndLong, help: "Where to write the checkpoint. (default: base-x<scale>.safetensors in the current folder)")
    var output: String?

    @OptionGroup var training: TrainingOptions

    func validate() throws {
        guard steps >= 1, epochSteps >= 1 else { throw ValidationError("--steps and --epoch-steps must be at least 1") }
        guard maxSide >= 64 else { throw ValidationError("--max-side must be at least 64") }
        guard training.resume || !images.isEmpty else { throw ValidationError("--images is required (unless --resume)") }
    }

    func run() throws {
        var job = PretrainJob(folders: images)
        (job.steps, job.epochSteps, job.maxSide, job.output, job.settings) = (steps, epochSteps, maxSide, output, try training.settings())
        job.start = try checkpoint.map { StartingModel(try modelPath($0)) } ?? .random
        let run = try trainOrExplain("pretrain") { try job.run(ConsoleObserver()) }
        say("wrote \(run.output)\nevaluate with: " + (run.record.config.model.propagation == nil ? "hone eval --checkpoint \(run.output) --images DIR"
            : "hone evaluate --gt VIDEO --epochs 0 --also \(run.output) (a recurrent model runs over a video's frames in order)"))
    }
}
