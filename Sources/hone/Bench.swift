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

    @Option(help: "Run only the workloads whose names start with this (sgemm, conv, reference, infer).")
    var only: String?

    func run() throws {
        var results: [(String, Double, String)] = []
        func wanted(_ name: String) -> Bool { only.map { name.hasPrefix($0) } ?? true }
        if wanted("sgemm") { try sgemm(&results) }
        if wanted("conv") { try conv(&results) }
        if wanted("reference") {
            var rng = SeededRandom(seed: 2)
            let step = try ReferenceWorkload(rng: &rng)
            results.append(("reference_train_step_ms", Self.seconds(repeats) { try! step.step() } * 1000, "ms"))
            let withVGG = try ReferenceWorkload(rng: &rng, perceptual: VGG16())
            results.append(("reference_vgg_train_step_ms", Self.seconds(repeats) { try! withVGG.step() } * 1000, "ms"))
        }
        if wanted("infer") { try infer(&results) }
        if json {
            try Console.emitJSON(Dictionary(uniqueKeysWithValues: results.map { ($0.0, ($0.1 * 100).rounded() / 100) }))
        } else {
            for (name, value, unit) in results { say(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %9.2f %@", value, unit)) }
        }
    }

    func sgemm(_ results: inout [(String, Double, String)]) throws {
        let n = 1024
        let (a, b, c) = (Tensor(zeros: [n, n]), Tensor(zeros: [n, n]), Tensor(zeros: [n, n]))
        let sgemm1 = Self.gflops(2 * Double(n * n * n), repeats) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024, 1024, 1, a.data, 1024, b.data, 1024, 0, c.data, 1024)
        }
        results.append(("sgemm_1024_gflops_1thread", sgemm1, "GFLOPS"))
        openblas_set_num_threads(Int32(Parallel.threads))
        let sgemmAll = Self.gflops(2 * Double(n * n * n), repeats) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024, 1024, 1, a.data, 1024, b.data, 1024, 0, c.data, 1024)
        }
        openblas_set_num_threads(1)
        results.append(("sgemm_1024_gflops_\(Parallel.threads)threads", sgemmAll, "GFLOPS"))
    }

    /// 3×3 convolutions as the engine runs them, and (suffix `_im2col`) with
    /// Winograd switched off, to show what it buys in the same run.
    func conv(_ results: inout [(String, Double, String)]) throws {
        var rng = SeededRandom(seed: 1)
        for ch in [32, 64] {
            let x = Tensor.uniform([16, ch, 48, 48], rng: &rng, requiresGrad: true)
            let conv = Conv2d(ch, ch, rng: &rng)
            let flops = 2 * Double(16 * 48 * 48 * ch * ch * 9)
            let dy = Tensor.uniform([16, ch, 48, 48], rng: &rng)
            for winograd in [true, false] {
                Conv2dAlgorithm.winograd = winograd
                defer { Conv2dAlgorithm.winograd = true }
                let suffix = winograd ? "" : "_im2col"
                results.append(("conv3x3_\(ch)ch_forward_gflops" + suffix, Self.gflops(flops, repeats) {
                    _ = try! Grad.disabled { try conv(x) }
                }, "GFLOPS"))
                // Forward then backward (weight and input gradients): three convolutions' worth.
                results.append(("conv3x3_\(ch)ch_forward_backward_gflops" + suffix, Self.gflops(3 * flops, repeats) {
                    try! sum(try mul(try conv(x), dy)).backward()
                }, "GFLOPS"))
            }
        }
    }

    /// Frames per second of the shipped ×2 base (default config) through the
    /// tiled upscaler `hone infer` uses, on 640×360; and of the fast config on 160×90.
    func infer(_ results: inout [(String, Double, String)]) throws {
        guard let base = ProjectFiles.find("checkpoints/base-x2.safetensors") else {
            throw ValidationError("checkpoints/base-x2.safetensors is missing")
        }
        var rng = SeededRandom(seed: 3)
        let fast = try SRNet(HoneConfig.load(ProjectFiles.find("configs/fast.yaml")!).model, scale: 2)
        for (name, model, h, w) in [("infer_default_640x360_fps", try SRNet.load(checkpoint: base).0, 360, 640),
                                    ("infer_fast_160x90_fps", fast, 90, 160)] {
            let frame = Tensor.uniform([1, 3, h, w], rng: &rng)
            let upscale = Upscaler(model)
            results.append((name, 1 / Self.seconds(repeats) { _ = try! upscale(frame) }, "fps"))
        }
    }

    /// Median wall time of `body` over `repeats` runs, after one warm-up.
    static func seconds(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        let times = (0..<max(1, repeats)).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }.sorted()
        return times[times.count / 2]
    }

    static func gflops(_ flops: Double, _ repeats: Int, _ body: () -> Void) -> Double {
        flops / seconds(repeats, body) / 1e9
    }
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
