import ArgumentParser
import Autograd
import CMalloc
import Foundation
import Jobs
import Networks
import Quality
import Training

@main
struct Hone: ParsableCommand {
    static func main() {
        // One malloc arena for every thread, before any starts: with glibc's
        // per-thread arenas, `hone serve`'s job thread upscaled bikes.mp4 in
        // 78.6 s instead of 55.2 s; the CLI's own speed is the same either way
        // (notebooks-notes/serve.md).
        mallopt(M_ARENA_MAX, 1)
        BLASKernel.selectFastest()
        // The subcommand, once parsed: a request it cannot run as asked is shown with its own usage line.
        var parsed: ParsableCommand.Type = Hone.self
        do {
            var command = try parseAsRoot()
            parsed = type(of: command)
            try command.run()
        } catch let cancelled as JobCancelled {
            if cancelled.saved == nil { FileHandle.standardError.write(Data("interrupted; nothing was written\n".utf8)) }
            exit(withError: ExitCode(130))
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("Error: \(error)\nUsage: \(Hone.usageString(for: parsed))\n  See '\((["hone"] + commandPath(to: parsed)).joined(separator: " ")) --help' for more information.\n".utf8))
            exit(withError: ExitCode.validationFailure)
        } catch {
            exit(withError: error)
        }
    }

    /// The subcommand names leading from `root` to `command` (`presets save`); empty for `root` itself.
    static func commandPath(to command: ParsableCommand.Type, from root: ParsableCommand.Type = Hone.self) -> [String] {
        if command == root { return [] }
        for sub in root.configuration.subcommands {
            let rest = commandPath(to: command, from: sub)
            if command == sub || !rest.isEmpty { return [sub._commandName] + rest }
        }
        return []
    }

    static let configuration = CommandConfiguration(
        abstract: "Make a video sharper by fine-tuning a super-resolution network on that video.",
        version: "0.4.0",
        subcommands: [FinetuneCommand.self, PretrainCommand.self, InferCommand.self, ScoreImagesCommand.self, EvaluateCommand.self,
                      SweepCommand.self, CompareCommand.self, InfoCommand.self, BenchCommand.self, ServeCommand.self, JoinCommand.self,
                      PackCommand.self, ModelsCommand.self, PresetsCommand.self])
}
