import ArgumentParser
import Autograd
import COpenBLAS
import Foundation

/// `hone bench`: the engine's speed on fixed workloads, so it can be compared
/// with a peer (bench/torch_reference.py) on the same machine in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine: sgemm, 3×3 convolution and a reference training step.")

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed repetitions of each workload (after one warm-up).")
    var repeats = 10

    @Option(help: "Run only the workloads whose names start with this (sgemm, conv, reference).")
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
        }
        if json {
            try Console.emitJSON(Dictionary(uniqueKeysWithValues: results.map { ($0.0, ($0.1 * 100).rounded() / 100) }))
        } else {
            for (name, value, unit) in results { say(name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: " %9.2f %@", value, unit)) }
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

    func conv(_ results: inout [(String, Double, String)]) throws {
        var rng = SeededRandom(seed: 1)
        for ch in [32, 64] {
            let x = Tensor.uniform([16, ch, 48, 48], rng: &rng, requiresGrad: true)
            let conv = Conv2d(ch, ch, rng: &rng)
            let flops = 2 * Double(16 * 48 * 48 * ch * ch * 9)
            results.append(("conv3x3_\(ch)ch_forward_gflops", Self.gflops(flops, repeats) {
                _ = try! Grad.disabled { try conv(x) }
            }, "GFLOPS"))
            let y = try conv(x)
            let dy = Tensor.uniform(y.shape, rng: &rng)
            // Forward then backward (weight and input gradients): three GEMMs of the forward's size.
            results.append(("conv3x3_\(ch)ch_forward_backward_gflops", Self.gflops(3 * flops, repeats) {
                try! sum(try mul(try conv(x), dy)).backward()
            }, "GFLOPS"))
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
final class ReferenceWorkload: Module, @unchecked Sendable {
    let head: Conv2d
    let body: [Conv2d]
    let tail: Conv2d
    private let input: Tensor, target: Tensor
    private lazy var optimizer = Adam(parameters, learningRate: 1e-4)

    init(rng: inout SeededRandom) throws {
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
        try mseLoss(try forward(input), target).backward()
        optimizer.update()
    }
}
