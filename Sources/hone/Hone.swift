import ArgumentParser
import Autograd
import Foundation
import SuperResolution

@main
struct Hone: ParsableCommand {
    static func main() {
        BLASKernel.selectFastest()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let cancelled as JobCancelled {
            if cancelled.saved == nil { FileHandle.standardError.write(Data("interrupted; nothing was written\n".utf8)) }
            exit(withError: ExitCode(130))
        } catch let error as UsageError {
            exit(withError: ValidationError(error.description))
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        abstract: "Make a video sharper by fine-tuning a super-resolution network on that video.",
        version: "0.4.0",
        subcommands: [FinetuneCommand.self, PretrainCommand.self, InferCommand.self, ScoreImagesCommand.self, EvaluateCommand.self,
                      SweepCommand.self, CompareCommand.self, InfoCommand.self, BenchCommand.self, ServeCommand.self])
}
