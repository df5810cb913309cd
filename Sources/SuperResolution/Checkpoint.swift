import Autograd
import Foundation

/// Named Float32 tensors (stored as Float32 or Float16) and string metadata in the safetensors layout: an
/// 8-byte little-endian header length, a JSON header giving each tensor's
/// dtype, shape and byte range, then the raw little-endian data. Python's
/// `safetensors` reads it; so does any file extension.
public struct Checkpoint {
    public var tensors: [(name: String, tensor: Tensor)]
    public var metadata: [String: String]

    public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) {
        (self.tensors, self.metadata) = (tensors, metadata)
    }

    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    /// Whether it holds an unfinished training run (optimiser state to continue from).
    public var isResumable: Bool { tensors.contains { $0.name.hasPrefix("optimizer.") } }

    /// How tensors are stored: Float32, or IEEE half precision (half the bytes,
    /// about 3 significant digits: for weights that are shipped, not trained on).
    public enum Precision: Sendable { case float32, float16 }

    /// The file's bytes, every tensor stored at `precision`.
    public func encoded(precision: Precision = .float32) throws -> Data {
        let width = precision == .float32 ? 4 : 2
        var header: [String: Any] = [:]
        var offset = 0
        for (name, t) in tensors {
            header[name] = ["dtype": precision == .float32 ? "F32" : "F16", "shape": t.shape, "data_offsets": [offset, offset + width * t.count]]
            offset += width * t.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))  // align the data
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for (_, t) in tensors {  // little-endian hosts only (x86-64, arm64)
            switch precision {
            case .float32: file.append(UnsafeBufferPointer(start: t.data, count: t.count))
            case .float16: file.append(contentsOf: UnsafeBufferPointer(start: t.data, count: t.count).map { Float16($0) }.withUnsafeBytes { Array($0) })
            }
        }
        return file
    }

    /// Writes under a temporary name, then renames: never a half-written file.
    public func save(to path: String, precision: Precision = .float32) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw FileError(path, "is a folder; give the checkpoint a file name")
        }
        do {
            try encoded(precision: precision).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FileError(path, "cannot write (\((error as NSError).localizedDescription))")
        }
    }

    /// Reads a checkpoint file.
    /// - Throws: `FileError` naming `path` when it is missing, unreadable, or not a well-formed checkpoint.
    public static func load(_ path: String) throws -> Checkpoint {
        guard let file = FileManager.default.contents(atPath: path) else {
            throw FileError(path, FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such checkpoint")
        }
        return try parse(file, path: path)
    }

    /// A checkpoint from its bytes, which may come from anyone: every length,
    /// shape and offset is checked against the data before anything is allocated.
    /// - Throws: `FileError` naming `path` and what is wrong.
    public static func parse(_ file: Data, path: String) throws -> Checkpoint {
        guard file.count >= 8 else { throw FileError(path, "not a checkpoint (\(file.count) bytes)") }
        let declared = file.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared > 0, declared <= UInt64(file.count - 8),
              let header = try? JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + Int(declared)))) as? [String: Any] else {
            throw FileError(path, "not a checkpoint (bad header); the file is corrupt or of another kind")
        }
        let dataStart = 8 + Int(declared), dataBytes = file.count - dataStart
        var tensors: [(String, Tensor, Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String, let width = ["F32": 4, "F16": 2][dtype],
                  let shape = entry["shape"] as? [Int], let range = entry["data_offsets"] as? [Int], range.count == 2,
                  shape.count <= 8, shape.allSatisfy({ $0 >= 0 }) else {
                throw FileError(path, "tensor \(name) is not a Float32 or Float16 entry")
            }
            var count: Int? = 1  // nil once the product overflows
            for side in shape {
                guard let total = count else { break }
                let (product, overflow) = total.multipliedReportingOverflow(by: side)
                count = overflow ? nil : product
            }
            guard let count, range[0] >= 0, range[0] <= range[1], range[1] <= dataBytes, count <= dataBytes / width, range[1] - range[0] == width * count else {
                throw FileError(path, "tensor \(name) runs past the end: the file is truncated or corrupt")
            }
            let t = Tensor(shape: shape)
            file.withUnsafeBytes { raw in
                let start = raw.baseAddress! + dataStart + range[0]
                if width == 4 {
                    UnsafeMutableRawPointer(t.data).copyMemory(from: start, byteCount: 4 * count)
                } else {
                    for i in 0..<count { t.data[i] = Float(start.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
                }
            }
            tensors.append((name, t, range[0]))
        }
        let metadata = (header["__metadata__"] as? [String: String]) ?? [:]
        return Checkpoint(tensors: tensors.sorted { $0.2 < $1.2 }.map { ($0.0, $0.1) }, metadata: metadata)
    }

    /// Copies the tensors whose names and shapes the module shares (a ×2
    /// model's into a ×4 one: all but the second upsampling stage); returns how many.
    public func loadMatching(into module: Module) -> Int {
        var copied = 0
        for (name, t) in module.namedTensors() {
            guard let saved = self[name], saved.shape == t.shape else { continue }
            t.data.update(from: saved.data, count: t.count)
            copied += 1
        }
        return copied
    }

    /// Copies these tensors into a module's by name (after `prefix`); every
    /// module tensor must be present with its shape.
    public func load(into module: Module, prefix: String = "", path: String) throws {
        for (name, t) in module.namedTensors(prefix: prefix) {
            guard let saved = self[name] else { throw FileError(path, "has no tensor \(name) for this model") }
            guard saved.shape == t.shape else {
                throw FileError(path, "tensor \(name) has shape \(saved.shape), the model wants \(t.shape)")
            }
            t.data.update(from: saved.data, count: t.count)
        }
    }
}

/// What a Hone checkpoint records besides tensors, as `hone.*` metadata:
/// enough to rebuild the model, resume the run, and report it.
public struct RunRecord {
    public var config: HoneConfig
    public var scale: Int
    /// The video fine-tuned on (absolute path; empty for pretraining).
    public var video: String
    /// Where the weights started: a checkpoint, or random (never `.shipped`, which is resolved first).
    public var base: StartingModel
    /// The photographs pretrained on (absolute paths; empty for fine-tuning).
    public var images: [String]
    public var epochs: Int, epochsDone: Int
    /// Steps in an epoch when fixed by the run rather than by the data (pretraining).
    public var epochSteps: Int?
    /// Validation scores by name: bicubic, base, model.
    public var validation: [String: Score]
    /// Which of the video's frames were learned from (nil: every one, or photographs).
    public var sampling: FrameSampling?
    /// What a video's fine-tune learnt to produce.
    public var targets = TrainingTargets.frames

    public init(config: HoneConfig, scale: Int, video: String = "", images: [String] = [], base: StartingModel, epochs: Int,
                epochSteps: Int? = nil, epochsDone: Int = 0, validation: [String: Score] = [:]) {
        (self.config, self.scale, self.video, self.images, self.base) = (config, scale, video, images, base)
        (self.epochs, self.epochSteps, self.epochsDone, self.validation) = (epochs, epochSteps, epochsDone, validation)
    }

    /// What validation's "bicubic" score is of: at ×1, bicubic is the damaged input itself.
    public var kernelLabel: String { scale == 1 ? "input" : "bicubic" }

    public init(_ checkpoint: Checkpoint, path: String) throws {
        let m = checkpoint.metadata
        guard let json = m["hone.config"], let config = try? HoneConfig.fromJSON(json), let scale = Int(m["hone.scale"] ?? "") else {
            throw FileError(path, "is not a Hone checkpoint (its metadata has no config and scale)")
        }
        // A checkpoint can come from anyone: its model must be one Hone would build from a config file.
        if let problem = config.problems().first { throw FileError(path, "its config is not valid: \(problem)") }
        guard (1...4).contains(scale) else { throw FileError(path, "its scale is \(scale); Hone's models restore at ×1 or upscale ×2, ×3 or ×4") }
        func decoded<T: Decodable>(_ key: String, _ empty: T) -> T {
            m[key].flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) } ?? empty
        }
        self.init(config: config, scale: scale, video: m["hone.video"] ?? "", images: decoded("hone.images", []),
                  base: StartingModel(m["hone.base"] ?? "random"), epochs: Int(m["hone.epochs"] ?? "") ?? 0,
                  epochSteps: m["hone.epoch_steps"].flatMap { Int($0) }, epochsDone: Int(m["hone.epochs_done"] ?? "") ?? 0,
                  validation: decoded("hone.validation", [:]))
        targets = m["hone.targets"].flatMap(TrainingTargets.init) ?? .frames
        if let limit = m["hone.frame_limit"].flatMap({ Int($0) }) {
            sampling = FrameSampling(rate: m["hone.sample_fps"].flatMap { Double($0) }.flatMap { $0 > 0 ? $0 : nil }, limit: max(limit, 1))
        }
    }

    public var metadata: [String: String] {
        // Sorted keys: the same run writes the same bytes.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) -> String { String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) }
        var m = ["hone.format": "hone-checkpoint-1", "hone.config": config.json(), "hone.scale": "\(scale)",
                 "hone.video": video, "hone.images": json(images), "hone.base": base.argument, "hone.epochs": "\(epochs)",
                 "hone.epochs_done": "\(epochsDone)", "hone.validation": json(validation)]
        if let epochSteps { m["hone.epoch_steps"] = "\(epochSteps)" }
        if targets != .frames { m["hone.targets"] = targets.rawValue }
        if let sampling {
            m["hone.frame_limit"] = "\(sampling.limit)"
            if let rate = sampling.rate { m["hone.sample_fps"] = "\(rate)" }
        }
        return m
    }
}

/// A model and its checkpoint's record, built from the config and scale the checkpoint holds.
/// - Throws: `FileError` naming `path` when it cannot be read, is not a Hone checkpoint, or lacks a tensor of its model.
public func loadNetwork(checkpoint path: String) throws -> (any UpscalingNetwork, RunRecord) {
    let file = try Checkpoint.load(path)
    let record = try RunRecord(file, path: path)
    let model: any UpscalingNetwork
    do { model = try makeNetwork(record.config.model, scale: record.scale) } catch let error as ShapeError {
        throw FileError(path, "holds a model Hone cannot build (\(error))")
    }
    try file.load(into: model, path: path)
    return (model, record)
}
