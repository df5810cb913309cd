import Foundation
import Networks
import Quality
import Training

/// The parsers that read files people get from others — checkpoints
/// (safetensors with Hone's metadata), configs and sweep grids (YAML), ncnn
/// models (the .param text, a NUL byte, then the .bin, as one input), ONNX models, the
/// network a `hone pack` video carries, damage lists (`--degrade`, as a script
/// or another person's notes give them), presets files (`hone presets`, shared by hand) — each as one call on raw bytes. `make fuzz` runs them under libFuzzer; the tests
/// replay the seed corpus and every input that ever crashed one.
public enum UntrustedInput: String, CaseIterable, Sendable {
    case checkpoint, config, grid, ncnn, onnx, delivery, degrade, presets

    /// Parses `data` as this kind of file: true when it is accepted, false
    /// when it is refused with an error. It must never trap or hang.
    @discardableResult
    public func parse(_ data: Data) -> Bool {
        switch self {
        case .checkpoint:
            guard let file = try? Checkpoint.parse(data, path: "input"), let record = try? RunRecord(file, path: "input") else { return false }
            // The ncnn graph a checkpoint may carry is parsed as its network is built.
            return record.config.model.layout != .ncnn || (try? makeNetwork(record.config.model, scale: record.scale)) != nil
        case .config:
            return (try? HoneConfig.parse(String(decoding: data, as: UTF8.self), path: "input")) != nil
        case .grid:
            return (try? SweepJob.Grid.parse(String(decoding: data, as: UTF8.self), path: "input")) != nil
        case .ncnn:
            let cut = data.firstIndex(of: 0) ?? data.endIndex
            let bin = cut < data.endIndex ? data[(cut + 1)...] : Data()
            return (try? NCNNModel.parse(param: Data(data[..<cut]), bin: Data(bin), paramPath: "input.param", binPath: "input.bin").network()) != nil
        case .onnx:
            // Read, written as an ncnn graph and built (not run: a fuzzed graph may be of any size).
            return (try? NCNNGraph(ONNXModel.parse(data, path: "input.onnx").ncnn(), scale: 1)) != nil
        case .delivery:
            // Its seed (fuzz/corpus/delivery) is a pack of the shipped ×2 base: remake it with `hone pack` when that base changes.
            return (try? Delivery.decode(data, source: "input")) != nil
        case .degrade:
            return (try? Damage.parse(String(decoding: data, as: UTF8.self))) != nil
        case .presets:
            return (try? PresetFile.parse(String(decoding: data, as: UTF8.self), path: "input")) != nil
        }
    }
}
