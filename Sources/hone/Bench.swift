import ArgumentParser
import Autograd
import COpenBLAS
import Foundation
import SuperResolution

/// `hone bench`: the engine's speed on fixed workloads, so it can be compared
/// with a peer (bench/torch_reference.py) on the same machine in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine: sgemm, 3×3 convolution, reference training steps and model-only inference.")

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed repetitions of each workload (after one warm-up).")
    var repeats = 10

    @Flag(help: "Report each workload's fastest run instead of the median: steadier on a shared machine, for comparing code changes.")
    var fastest = false

    @Option(help: "Run only the workloads whose names start with this (sgemm, conv, conv3x3_32ch, reference, infer, …).")
    var only: String?

    /// Results in the order measured; a workload runs only if --only wants its name.
    final class Results {
        let only: String?
        var rows: [(name: String, value: Double, unit: String)] = []
        init(only: String?) { self.only = only }
        func measure(_ name: String, _ unit: String, _ value: () throws -> Double) rethrows {
            if only.map({ name.hasPrefix($0) }) ?? true { rows.append((name, try value(), unit)) }
        }
    }

    func run() throws {
        let results = Results(only: only)
        sgemm(results)
        conv(results)
        var rng = SeededRandom(seed: 2)
        let step = try ReferenceWorkload(rng: &rng)
        try eachAlgorithm { suffix in
            results.measure("reference_train_step_ms" + suffix, "ms") { seconds { try! step.step() } * 1000 }
            try results.measure("reference_vgg_train_step_ms" + suffix, "ms") {
                let withVGG = try ReferenceWorkload(rng: &rng, perceptual: VGG16())
                return seconds { try! withVGG.step() } * 1000
            }
        }
        try infer(results)
        if json {
            try Console.emitJSON(Dictionary(uniqueKeysWithValues: results.rows.map { ($0.name, ($0.value * 100).rounded() / 100) }))
        } else {
            for (name, value, unit) in results.rows {
                say(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %9.2f %@", value, unit))
            }
        }
    }

    func sgemm(_ results: Results) {
        let n = 1024
        let (a, b, c) = (Tensor(zeros: [n, n]), Tensor(zeros: [n, n]), Tensor(zeros: [n, n]))
        let multiply = { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024, 1024, 1, a.data, 1024, b.data, 1024, 0, c.data, 1024) }
        results.measure("sgemm_1024_gflops_1thread", "GFLOPS") { gflops(2 * Double(n * n * n), multiply) }
        results.measure("sgemm_1024_gflops_\(Parallel.threads)threads", "GFLOPS") {
            openblas_set_num_threads(Int32(Parallel.threads))
            defer { openblas_set_num_threads(1) }
            return gflops(2 * Double(n * n * n), multiply)
        }
    }

    /// Runs `body` as the engine runs (suffix ""), then with the specialised
    /// convolutions (Winograd, direct) switched off (suffix "_im2col"), to show
    /// what they buy in the same run.
    func eachAlgorithm(_ body: (String) throws -> Void) rethrows {
        defer { Conv2dAlgorithm.specialised = true }
        for specialised in [true, false] {
            Conv2dAlgorithm.specialised = specialised
            try body(specialised ? "" : "_im2col")
        }
    }

    /// 3×3 convolutions, 32 and 64 channels, batch 16 of 48×48.
    func conv(_ results: Results) {
        var rng = SeededRandom(seed: 1)
        for ch in [32, 64] {
            let x = Tensor.uniform([16, ch, 48, 48], rng: &rng, requiresGrad: true)
            let conv = Conv2d(ch, ch, rng: &rng)
            let flops = 2 * Double(16 * 48 * 48 * ch * ch * 9)
            let dy = Tensor.uniform([16, ch, 48, 48], rng: &rng)
            eachAlgorithm { suffix in
                results.measure("conv3x3_\(ch)ch_forward_gflops" + suffix, "GFLOPS") {
                    gflops(flops) { _ = try! Grad.disabled { try conv(x) } }
                }
                // Forward then backward (weight and input gradients): three convolutions' worth.
                results.measure("conv3x3_\(ch)ch_forward_backward_gflops" + suffix, "GFLOPS") {
                    gflops(3 * flops) { try! sum(try mul(try conv(x), dy)).backward() }
                }
            }
        }
    }

    /// Frames per second of the shipped ×2 base (default config) through the
    /// tiled upscaler `hone infer` uses, on 640×360; and of the fast config on 160×90.
    func infer(_ results: Results) throws {
        guard let base = ProjectFiles.find("checkpoints/base-x2.safetensors"), let fast = ProjectFiles.find("configs/fast.yaml") else {
            throw ValidationError("checkpoints/base-x2.safetensors or configs/fast.yaml is missing")
        }
        var rng = SeededRandom(seed: 3)
        let models = [("infer_default_640x360_fps", try SRNet.load(checkpoint: base).0, 360, 640),
                      ("infer_fast_160x90_fps", try SRNet(HoneConfig.load(fast).model, scale: 2), 90, 160)]
        for (name, model, h, w) in models {
            let frame = Tensor.uniform([1, 3, h, w], rng: &rng)
            let upscale = Upscaler(model)
            eachAlgorithm { suffix in results.measure(name + suffix, "fps") { 1 / seconds { _ = try! upscale(frame) } } }
        }
    }

    /// Wall time of `body` over `repeats` runs after one warm-up: the median, or with --fastest the minimum.
    func seconds(_ body: () -> Void) -> Double {
        body()
        let times = (0..<max(1, repeats)).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }.sorted()
        return fastest ? times[0] : times[times.count / 2]
    }

    func gflops(_ flops: Double, _ body: () -> Void) -> Double { flops / seconds(body) / 1e9 }
}

/// The foundation issue's reference workload, mirrored in bench/torch_reference.py:
/// conv 3→32, 8 × (conv 32→32 + ReLU), conv 32→12, pixel shuffle ×2, plus a
/// bicubic ×2 skip; batch 16 of 3×48×48 against 3×96×96; MSE; one Adam step.
/// With `perceptual`, the loss adds L1 between VGG16 relu3_3 features of output and target.
final class ReferenceWorkload: Module, @unchecked Sendable {
    let head: Conv2d
    let body: [Conv2d]
    let tail: Conv2d
    private let input: Tensor, target: Tensor
    private let vgg: VGG16?
    private lazy var optimizer = Adam(parameters, learningRate: 1e-4)

    init(rng: inout SeededRandom, perceptual vgg: VGG16? = nil) throws {
        self.vgg = vgg
        head = Conv2d(3, 32, rng: &rng)
        body = (0..<8).map { _ in Conv2d(32, 32, rng: &rng) }
        tail = Conv2d(32, 12, rng: &rng)
        input = Tensor.uniform([16, 3, 48, 48], rng: &rng)
        target = Tensor.uniform([16, 3, 96, 96], rng: &rng)
    }

    func forward(_ x: Tensor) throws -> Tensor {
        var h = try head(x)
        for conv in body { h = relu(try conv(h)) }
        return try add(try pixelShuffle(try tail(h), 2), try resizeBicubic(x, .up(2)))
    }

    func step() throws {
        optimizer.zeroGrad()
        let sr = try forward(input)
        var loss = try mseLoss(sr, target)
        if let vgg {
            let want: Set<VGGLayer> = [.relu3_3]
            let truth = try Grad.disabled { try vgg.features(target, want)[.relu3_3]! }
            loss = try add(loss, try l1Loss(try vgg.features(sr, want)[.relu3_3]!, truth))
        }
        try loss.backward()
        optimizer.update()
    }
}
