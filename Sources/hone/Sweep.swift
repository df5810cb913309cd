import ArgumentParser
import Autograd
import Foundation
import SuperResolution
import Yams

/// `hone sweep`: the loss weights against overshoot, one short fine-tune per combination.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
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

    @Option(help: "The base model. (default: checkpoints/base-x<scale>.safetensors when it holds the config's model, else random)")
    var checkpoint: String?

    @Option(name: .shortAndLong, help: "Folder for the results and checkpoints. (default: <video name>.sweep)")
    var output: String?

    @OptionGroup var training: TrainingOptions

    /// Absent keys: 2 epochs, 8 frames, pixel [1], no perceptual terms, gram [0].
    struct Grid: Codable {
        var epochs: Int?, frames: Int?
        var pixel: [Float]?, perceptual: [String: [Float]]?, gram: [Float]?

        /// Every combination, as the loss options of one run.
        var runs: [(pixel: Float, perceptual: [(String, Float)], gram: Float)] {
            var layers: [[(String, Float)]] = [[]]
            for (layer, weights) in (perceptual ?? [:]).sorted(by: { $0.key < $1.key }) {
                layers = layers.flatMap { prefix in weights.map { prefix + [(layer, $0)] } }
            }
            return (pixel ?? [1]).flatMap { p in layers.flatMap { l in (gram ?? [0]).map { (p, l, $0) } } }
        }
    }

    func run() throws {
        guard let text = try? String(contentsOfFile: grid, encoding: .utf8) else { throw FileError(grid, "no such grid file") }
        let g: Grid
        do { g = try YAMLDecoder().decode(Grid.self, from: text) } catch { throw FileError(grid, "not a valid grid: \(error)") }
        let folder = output ?? URL(fileURLWithPath: video).deletingPathExtension().lastPathComponent + ".sweep"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let resultsPath = folder + "/results.json"
        var results = (try? JSONDecoder().decode([MethodScore].self, from: Data(contentsOf: URL(fileURLWithPath: resultsPath)))) ?? []
        func record(_ score: MethodScore) throws {
            results.append(score)
            try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: resultsPath), options: .atomic)
        }

        let observer = ConsoleObserver()
        let s = training.scaleOrDefault
        let gt = try GroundTruth.load(video, scale: s, frames: g.frames ?? 8, observer: observer)
        let config = try training.loadConfig(fallback: "configs/default.yaml")
        let base = checkpoint ?? TrainingRun.shippedBase(scale: s, config: config)
        if !results.contains(where: { $0.method == "bicubic" }) {
            let baseModel = try TrainingRun.model(base: base, config: config, scale: s, observer: observer)
            for score in try score(gt, [("bicubic", { try resizeBicubic($0, .up(s)) }), (baseLabel(base), Upscaler(baseModel).callAsFunction)],
                                   observer: observer) {
                try record(score)
            }
        }
        let runs = g.runs
        for (n, weights) in runs.enumerated() {
            let name = "pixel=\(weights.pixel)" + weights.perceptual.map { " \($0.0)=\($0.1)" }.joined() + " gram=\(weights.gram)"
            guard !results.contains(where: { $0.method == name }) else { continue }
            let checkpointPath = folder + "/" + name.replacingOccurrences(of: " ", with: "_") + ".ckpt"
            var options = training
            options.lossPixel = weights.pixel
            options.lossPerceptual = weights.perceptual.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            options.lossGram = weights.gram
            options.resume = FileManager.default.fileExists(atPath: checkpointPath)
            say("run \(n + 1)/\(runs.count): \(name)")
            let (model, _) = try fineTune(on: gt, source: video, base: base, epochs: g.epochs ?? 2, output: checkpointPath, options: options,
                                          observer: observer)
            let score = try score(gt, [(name, Upscaler(model).callAsFunction)], observer: observer)[0]
            try record(score)
            say(String(format: "run %d/%d: Y-PSNR %.2f dB  Y-SSIM %.4f  LPIPS %.4f  overshoot %.3f / %.2f", n + 1, runs.count,
                       score.psnrY, score.ssimY, score.lpips, score.overshootMean, score.overshootP99))
        }
        say("×\(s) on \(video), \(g.epochs ?? 2) epochs per run, \(gt.scored.count) frames scored; results in \(resultsPath)")
        printScores(results)
    }
}
