import ArgumentParser
import Foundation
import SuperResolution

@main
struct Hone: ParsableCommand {
    static func main() {
        BLASKernel.selectFastest()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch is JobCancelled {
            exit(withError: ExitCode(130))
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        abstract: "Make a video sharper by fine-tuning a super-resolution network on that video.",
        version: "0.4.0",
        subcommands: [Finetune.self, Pretrain.self, Infer.self, Eval.self, Evaluate.self, Sweep.self, Compare.self, Info.self, Bench.self])
}
