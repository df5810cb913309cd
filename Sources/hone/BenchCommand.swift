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

    @Option(help: "Run only the workloads whose names start with this (sgemm, conv, conv3x3_32ch, reference, infer, …); with a trailing $ only the one named (infer_fast_160x90_fps$).")
    var only: String?

    func run() throws {
        let benchmark = Benchmark(repeats: repeats, fastest: fastest, only: only)
        try benchmark.run()
        if json {
            try Console.emitJSON(Dictionary(uniqueKeysWithValues: benchmark.rows.map { ($0.name, ($0.value * 100).rounded() / 100) }))
        } else {
            let cpu = BLASKernel.report
            say("cpu \(cpu.cpuModel); \(cpu.features.joined(separator: " ")); OpenBLAS kernel \(cpu.kernel)")
            for (name, value, unit) in benchmark.rows {
                say(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %9.2f %@", value, unit))
            }
        }
    }
}
