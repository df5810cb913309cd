import ArgumentParser
import Jobs
import Networks
import Quality
import Training

/// `hone sweep`: the loss weights against overshoot, one short fine-tune per combination.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Fine-tune once per combination of loss weights in a grid and tabulate the scores against ground truth.",
        discussion: """
            The video is the ground truth: as in `hone evaluate`, it is downscaled, each run \
            fine-tunes the base model on the low-resolution clip alone with one combination \
            of weights, and is scored against the truth (Y-PSNR, Y-SSIM, LPIPS, overshoot, \
            flicker), next to bicubic and the base model. The grid is YAML, e.g. \
            configs/sweep.yaml:
              epochs: 2
              frames: 8
              pixel: [1.0]
              perceptual: {relu2_2: [0, 0.02], relu3_3: [0, 0.02]}
              gram: [0]
            Results go to DIR/results.json as each run ends, checkpoints to DIR/<weights>.ckpt; \
            running the same command again skips finished runs and resumes an interrupted one.
            Exit codes: 0 done, 1 error (one line naming the file), 64 bad options, 130 interrupted (resumable).
            """)

    @Option(help: "The ground-truth video (or image folder).")
    var video: String

    @Option(help: "The grid of loss weights (YAML).")
    var grid: String

    @Option(help: "The base model: a checkpoint or a name from `hone models`. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(name: .shortAndLong, help: "Folder for the results and checkpoints. (default: <video name>.sweep)")
    var output: String?

    @OptionGroup var training: TrainingOptions

    func run() throws {
        var job = SweepJob(video: video, grid: try SweepJob.Grid.load(grid))
        (job.output, job.settings) = (output, try training.settings())
        job.start = try checkpoint.map { StartingModel(try modelPath($0)) } ?? .shipped
        printScores(try job.run(ConsoleObserver()))
    }
}
