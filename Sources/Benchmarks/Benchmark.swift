import Autograd
import COpenBLAS
import Foundation
import Networks
import Quality
import Training

/// The engine's speed on fixed workloads, mirrored one for one in
/// bench/torch_reference.py so that Hone and PyTorch can be compared on the
/// same machine in the same run. Each result is a (name, value, unit) row.
public final class Benchmark {
    /// Timed repetitions of each workload after one warm-up.
    public let repeats: Int
    /// Report each workload's fastest run instead of the median.
    public let fastest: Bool
    /// Only the workloads whose names start with this, or with a trailing `$`
    /// only the one named (nil: all).
    public let only: String?
    public private(set) var rows: [(name: String, value: Double, unit: String)] = []

    public init(repeats: Int = 10, fastest: Bool = false, only: String? = nil) {
        (self.repeats, self.fastest, self.only) = (repeats, fastest, only)
    }

    /// Runs every workload `only` allows: sgemm, 3×3 convolutions, the
    /// reference training step (with and without a VGG16 loss) and model-only
    /// inference, each also with the specialised convolutions off (`_im2col`).
    /// - Throws: `FileError` when the shipped base or fast config is missing, or the VGG16 weights.
    public func run() throws {
        sgemm()
        conv()
        var rng = SeededRandom(seed: 2)
        let step = try ReferenceWorkload(rng: &rng)
        try eachAlgorithm { suffix in
            measure("reference_train_step_ms" + suffix, "ms") { seconds { try! step.step() } * 1000 }
            try measure("reference_vgg_train_step_ms" + suffix, "ms") {
                let withVGG = try ReferenceWorkload(rng: &rng, perceptual: VGG16())
                return seconds { try! withVGG.step() } * 1000
            }
        }
        try infer()
        try imported()
    }

    /// Adds a row when `only` wants its name.
    func measure(_ name: String, _ unit: String, _ value: () throws -> Double) rethrows {
        let wanted = only.map { $0.hasSuffix("$") ? name == $0.dropLast() : name.hasPrefix($0) } ?? true
        if wanted { rows.append((name, try value(), unit)) }
    }

    func sgemm() {
        let n = 1024
        let (a, b, c) = (Tensor(zeros: [n, n]), Tensor(zeros: [n, n]), Tensor(zeros: [n, n]))
        let multiply = { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024, 1024, 1, a.data, 1024, b.data, 1024, 0, c.data, 1024) }
        measure("sgemm_1024_gflops_1thread", "GFLOPS") { gflops(2 * Double(n * n * n), multiply) }
        measure("sgemm_1024_gflops_\(Parallel.threads)threads", "GFLOPS") {
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
    func conv() {
        var rng = SeededRandom(seed: 1)
        for ch in [32, 64] {
            let x = Tensor.uniform([16, ch, 48, 48], rng: &rng, requiresGrad: true)
            let conv = Conv2d(ch, ch, rng: &rng)
            let flops = 2 * Double(16 * 48 * 48 * ch * ch * 9)
            let dy = Tensor.uniform([16, ch, 48, 48], rng: &rng)
            eachAlgorithm { suffix in
                measure("conv3x3_\(ch)ch_forward_gflops" + suffix, "GFLOPS") {
                    gflops(flops) { _ = try! Grad.disabled { try conv(x) } }
                }
                // Forward then backward (weight and input gradients): three convolutions' worth.
                measure("conv3x3_\(ch)ch_forward_backward_gflops" + suffix, "GFLOPS") {
                    gflops(3 * flops) { try! sum(try mul(try conv(x), dy)).backward() }
                }
            }
        }
    }

    /// Frames per second of the shipped ×2 base (default config) through the
    /// tiled upscaler `hone infer` uses, on 640×360 and on the live page's 160×90; and of the fast config on 160×90 and 640×360.
    func infer() throws {
        guard let base = ProjectFiles.find("checkpoints/base-x2.safetensors"), let fast = ProjectFiles.find("configs/fast.yaml") else {
            throw FileError("checkpoints/base-x2.safetensors", "or configs/fast.yaml is missing beside hone")
        }
        var rng = SeededRandom(seed: 3)
        let models = [("infer_default_640x360_fps", try loadNetwork(checkpoint: base).0, 360, 640),
                      ("infer_default_160x90_fps", try loadNetwork(checkpoint: base).0, 90, 160),
                      ("infer_fast_160x90_fps", try makeNetwork(HoneConfig.load(fast).model, scale: 2), 90, 160),
                      ("infer_fast_640x360_fps", try makeNetwork(HoneConfig.load(fast).model, scale: 2), 360, 640)]
        for (name, model, h, w) in models {
            let frame = Tensor.uniform([1, 3, h, w], rng: &rng)
            let upscale = TiledUpscaler(model)
            eachAlgorithm { suffix in measure(name + suffix, "fps") { 1 / seconds { _ = try! upscale(frame) } } }
        }
    }

    /// Real-ESRGAN's networks once imported (`hone models --fetch`), model only,
    /// as bench/realesrgan_twin.py runs them: animevideov3 ×2 on 640×360,
    /// x4plus on 320×180, and a fine-tuning step of animevideov3 ×2 (batch 16 of 48² → 96², L1, Adam).
    func imported() throws {
        var rng = SeededRandom(seed: 4)
        for (name, model, h, w) in [("realesrgan_animevideov3_x2_640x360_ms", "realesrgan-animevideov3-x2", 360, 640),
                                    ("realesrgan_x4plus_320x180_ms", "realesrgan-x4plus", 180, 320),
                                    ("realcugan_se_x2_640x360_ms", "realcugan-se-x2", 360, 640)] {
            guard let path = NamedModel.named(model)?.checkpointPath, FileManager.default.fileExists(atPath: path) else { continue }
            let frame = Tensor.uniform([1, 3, h, w], rng: &rng)
            try measure(name, "ms") {
                let net = try loadNetwork(checkpoint: path).0
                return seconds { _ = try! Grad.disabled { try net(frame) } } * 1000
            }
        }
        guard let path = NamedModel.named("realesrgan-animevideov3-x2")?.checkpointPath, FileManager.default.fileExists(atPath: path) else { return }
        let (input, target) = (Tensor.uniform([16, 3, 48, 48], rng: &rng), Tensor.uniform([16, 3, 96, 96], rng: &rng))
        try measure("realesrgan_animevideov3_x2_train_step_ms", "ms") {
            let net = try loadNetwork(checkpoint: path).0
            let optimizer = Adam(net.parameters, learningRate: 1e-4)
            return seconds {
                optimizer.zeroGrad()
                try! l1Loss(try! net(input), target).backward()
                optimizer.update()
            } * 1000
        }
    }

    /// Wall time of `body` over `repeats` runs after one warm-up: the median, or with `fastest` the minimum.
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
