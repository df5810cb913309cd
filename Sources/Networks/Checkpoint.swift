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
