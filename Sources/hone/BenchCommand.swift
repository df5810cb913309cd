import ArgumentParser
import Autograd
import Benchmarks
import Foundation

/// `hone bench`: the engine's speed on fixed workloads, so it can be compared
/// with a peer (bench/torch_reference.py) on the same machine in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine: sgemm, 3×3 convolution, reference training steps and model-only inference.")

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed repetitions of each workload (after one warm-up).")
    var repeats = 10

    @Flag(help: "Report each workload's fastest run instead of the median: steadier on a shared machine, for comparing code changes.")
    var fastest = false

    @Option(help: "Run only the workloads whose names start with this (sgemm, conv, conv3x3_32ch, reference, infer, …); with a trailing $ only the one named (quoted: 'infer_fast_160x90_fps$').")
    var only: String?

    @Flag(help: "Print only the CPU, its SIMD features and the OpenBLAS kernel in use.")
    var cpu = false

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1 (got \(repeats)).") }
    }

    func run() throws {
        let report = BLASKernel.report
        let cpuLine = "cpu \(report.cpuModel); \(report.features.joined(separator: " ")); OpenBLAS kernel \(report.kernel)"
        if cpu { say(cpuLine); return }
        let benchmark = Benchmark(repeats: repeats, fastest: fastest, only: only)
        try benchmark.run()
        if let only, benchmark.rows.isEmpty {
            throw ValidationError("No workload matches '\(only)': names start with sgemm, conv, reference, infer or realesrgan (the last after `hone models --fetch`).")
        }
        if json {
            try Console.emitJSON(Dictionary(uniqueKeysWithValues: benchmark.rows.map { ($0.name, ($0.value * 100).rounded() / 100) }))
        } else {
            say(cpuLine)
            for (name, value, unit) in benchmark.rows {
                say(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %9.2f %@", value, unit))
            }
        }
    }
}
