import Autograd
import Foundation

/// An ONNX model (onnx/onnx's `onnx.proto`: a `ModelProto` holding a `GraphProto`), read
/// defensively: the file may come from anyone. Only what an upscaler's graph needs is read —
/// nodes, initializers, constants, the graph's input and output — and the graph is then
/// written as the ncnn graph it is (`ncnn()`), which `NCNNGraph` runs as Hone's ops: one
/// general runner for both formats, so an ONNX network tiles and fine-tunes like any other.
public struct ONNXModel {
    /// A tensor's dimensions and values, as Float32 (ONNX's float, double, float16, int32 and int64 tensors).
    public struct Constant {
        public let dims: [Int]
        public let values: [Float]
    }

    /// An attribute's value: ONNX's float, int, string, tensor, floats and ints.
    public enum Attribute {
        case float(Float), int(Int), string(String), tensor(Constant), floats([Float]), ints([Int])
    }

    public struct Node {
        public let opType: String, name: String
        public let inputs: [String], outputs: [String]
        public let attributes: [String: Attribute]

        func int(_ key: String, _ fallback: Int) -> Int {
            if case .int(let v) = attributes[key] { return v }
            return fallback
        }
        func float(_ key: String, _ fallback: Float) -> Float {
            switch attributes[key] { case .float(let v): v; case .int(let v): Float(v); default: fallback }
        }
        func ints(_ key: String) -> [Int]? {
            if case .ints(let v) = attributes[key] { return v }
            return nil
        }
        func string(_ key: String, _ fallback: String) -> String {
            if case .string(let v) = attributes[key] { return v }
            return fallback
        }
    }

    public let nodes: [Node]
    /// Initializers by name.
    public let initializers: [String: Constant]
    /// The graph's inputs that are not initializers, and its outputs.
    public let inputs: [String], outputs: [String]
    /// The file, for messages.
    public let path: String

    /// Whether the file at `path` is ONNX: named .onnx, or starting as a `ModelProto` does (field 1,
    /// ir_version, as a number: byte 0x08) where an ncnn .param starts with its magic 7767517.
    public static func isONNX(_ path: String) -> Bool {
        if path.hasSuffix(".onnx") { return true }
        guard let file = FileHandle(forReadingAtPath: path), let head = try? file.read(upToCount: 1) else { return false }
        return head.first == 0x08
    }

    /// Reads an .onnx file.
    /// - Throws: `FileError` naming the file: missing, a folder, over 1 GiB, not ONNX, or
    ///   weights kept in other files (external data).
    public static func load(_ path: String) throws -> ONNXModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw FileError(path, "no such ONNX file") }
        if isFolder.boolValue { throw FileError(path, "is a folder, not an ONNX file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= 1 << 30 else { throw FileError(path, "is over 1 GiB: not an upscaler Hone imports") }
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path, "cannot be read") }
        return try parse(data, path: path)
    }

    /// Parses a `ModelProto`'s bytes; `path` names it in errors. Throws as `load`.
    public static func parse(_ data: Data, path: String) throws -> ONNXModel {
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBufferPointer { buffer in
            var model = Protobuf(buffer, path: path)
            var graph: Protobuf?
            while let field = try model.next() {
                if field.number == 7 { graph = try model.message(field) } else { try model.skip(field) }
            }
            guard var graph else { throw FileError(path, "not an ONNX model (no graph in it)") }
            return try read(&graph, path: path)
        }
    }

    private static func read(_ graph: inout Protobuf, path: String) throws -> ONNXModel {
        var nodes: [Node] = [], initializers: [String: Constant] = [:], inputs: [String] = [], outputs: [String] = []
        var weights = 0
        while let field = try graph.next() {
            switch field.number {
            case 1:
                guard nodes.count < 100_000 else { throw FileError(path, "has over 100,000 nodes") }
                var node = try graph.message(field)
                nodes.append(try readNode(&node, path: path))
            case 5:
                var tensor = try graph.message(field)
                let (name, constant) = try readTensor(&tensor, path: path)
                weights += constant.values.count
                guard weights <= 1 << 28 else { throw FileError(path, "holds over 2²⁸ weights: not an upscaler Hone imports") }
                initializers[name] = constant
            case 11, 12:
                var info = try graph.message(field)
                var name = ""
                while let f = try info.next() { if f.number == 1 { name = try info.string(f) } else { try info.skip(f) } }
                if field.number == 11 { inputs.append(name) } else { outputs.append(name) }
            default: try graph.skip(field)
            }
        }
        return ONNXModel(nodes: nodes, initializers: initializers, inputs: inputs.filter { initializers[$0] == nil }, outputs: outputs, path: path)
    }

    private static func readNode(_ node: inout Protobuf, path: String) throws -> Node {
        var (inputs, outputs, name, opType, domain) = ([String](), [String](), "", "", "")
        var attributes: [String: Attribute] = [:]
        while let field = try node.next() {
            switch field.number {
            case 1: inputs.append(try node.string(field))
            case 2: outputs.append(try node.string(field))
            case 3: name = try node.string(field)
            case 4: opType = try node.string(field)
            case 7: domain = try node.string(field)
            case 5:
                var attribute = try node.message(field)
                let (key, value) = try readAttribute(&attribute, path: path)
                if let value { attributes[key] = value }
            default: try node.skip(field)
            }
            guard inputs.count <= 1000, outputs.count <= 1000 else { throw FileError(path, "a node has over 1000 inputs or outputs") }
        }
        guard domain.isEmpty || domain == "ai.onnx" else {
            throw FileError(path, "node \(name) is \(opType) from the operator set \(domain), which Hone does not import (only ONNX's own)")
        }
        return Node(opType: opType, name: name.isEmpty ? "\(opType)_\(outputs.first ?? "")" : name, inputs: inputs, outputs: outputs, attributes: attributes)
    }

    private static func readAttribute(_ attribute: inout Protobuf, path: String) throws -> (String, Attribute?) {
        var name = "", value: Attribute?, floats: [Float] = [], ints: [Int] = []
        var type = 0
        while let field = try attribute.next() {
            switch field.number {
            case 1: name = try attribute.string(field)
            case 2: value = .float(try attribute.float(field))
            case 3: value = .int(try attribute.int(field))
            case 4: value = .string(try attribute.string(field))
            case 5: var t = try attribute.message(field); value = .tensor(try readTensor(&t, path: path).1)
            case 7: try attribute.floats(field, into: &floats)
            case 8: try attribute.ints(field, into: &ints)
            case 20: type = try attribute.int(field)
            default: try attribute.skip(field)
            }
        }
        // AttributeProto.AttributeType: FLOATS 6, INTS 7 (an empty list has only its type).
        if type == 6 || !floats.isEmpty { value = .floats(floats) }
        if type == 7 || !ints.isEmpty { value = .ints(ints) }
        return (name, value)
    }

    /// TensorProto: its name and values. Data types (TensorProto.DataType): FLOAT 1, INT32 6, INT64 7, FLOAT16 10, DOUBLE 11.
    private static func readTensor(_ tensor: inout Protobuf, path: String) throws -> (String, Constant) {
        var (dims, name, type) = ([Int](), "", 1)
        var raw: UnsafeBufferPointer<UInt8>?, floats: [Float] = [], ints: [Int] = [], doubles: [Float] = []
        while let field = try tensor.next() {
            switch field.number {
            case 1: try tensor.ints(field, into: &dims)
            case 2: type = try tensor.int(field)
            case 4: try tensor.floats(field, into: &floats)
            case 5, 7: try tensor.ints(field, into: &ints)
            case 8: name = try tensor.string(field)
            case 9: raw = try tensor.bytes(field)
            case 10: try tensor.doubles(field, into: &doubles)
            case 14:
                // data_location EXTERNAL (1): the values are in another file.
                if try tensor.int(field) == 1 { throw FileError(path, "keeps tensor \(name)'s weights in another file (external data); save the model as one file") }
            default: try tensor.skip(field)
            }
            guard dims.count <= 8 else { throw FileError(path, "tensor \(name) has over 8 dimensions") }
        }
        let count = try dims.reduce(1) { n, d in
            guard d >= 0, n <= 1 << 28, d <= 1 << 28 else { throw FileError(path, "tensor \(name) has dimensions \(dims)") }
            return n * d
        }
        guard count <= 1 << 28 else { throw FileError(path, "tensor \(name) has over 2²⁸ values") }
        var values: [Float]
        if let raw {
            let size: Int
            switch type { case 1, 6: size = 4; case 7, 11: size = 8; case 10: size = 2; default: size = 0 }
            guard size > 0 else { throw FileError(path, "tensor \(name) is of ONNX data type \(type); Hone reads float, float16, double, int32 and int64") }
            guard raw.count == count * size else { throw FileError(path, "tensor \(name) holds \(raw.count) bytes for \(count) values of \(size) bytes") }
            let base = UnsafeRawPointer(raw.baseAddress!)
            values = (0..<count).map { i in
                switch type {
                case 1: Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case 6: Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case 7: Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case 11: Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                default: Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                }
            }
        } else {
            values = !floats.isEmpty ? floats : !doubles.isEmpty ? doubles : ints.map(Float.init)
            guard values.count == count else { throw FileError(path, "tensor \(name) holds \(values.count) values for dimensions \(dims)") }
        }
        return (name, Constant(dims: dims, values: values))
    }
}

/// Protocol Buffers' wire format (protobuf.dev/programming-guides/encoding), read from a byte
/// buffer with every length checked against what is left.
struct Protobuf {
    struct Field { let number: Int, wireType: Int }

    let bytes: UnsafeBufferPointer<UInt8>
    let path: String
    var offset = 0
    let end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, path: String, from start: Int = 0, to end: Int? = nil) {
        (self.bytes, self.path, self.offset, self.end) = (bytes, path, start, end ?? bytes.count)
    }

    private func broken(_ why: String) -> FileError { FileError(path, "not an ONNX file, or damaged: \(why) at byte \(offset)") }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard offset < end else { throw broken("a number runs past the end") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw broken("a number is over 10 bytes") }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        throw broken("a number is over 10 bytes")
    }

    /// The next field's number and wire type, or nil at the end.
    mutating func next() throws -> Field? {
        guard offset < end else { return nil }
        let key = try varint()
        let field = Field(number: Int(truncatingIfNeeded: key >> 3), wireType: Int(key & 7))
        guard field.number > 0, [0, 1, 2, 5].contains(field.wireType) else { throw broken("field \(field.number) of wire type \(field.wireType)") }
        return field
    }

    /// A length-delimited field's bytes, as bounds.
    private mutating func span(_ field: Field) throws -> Range<Int> {
        guard field.wireType == 2 else { throw broken("field \(field.number) should have a length") }
        let length = try varint()
        guard length <= UInt64(end - offset) else { throw broken("field \(field.number) is \(length) bytes long, past the end") }
        defer { offset += Int(length) }
        return offset..<(offset + Int(length))
    }

    mutating func message(_ field: Field) throws -> Protobuf {
        let range = try span(field)
        return Protobuf(bytes, path: path, from: range.lowerBound, to: range.upperBound)
    }

    mutating func bytes(_ field: Field) throws -> UnsafeBufferPointer<UInt8> {
        let range = try span(field)
        return UnsafeBufferPointer(rebasing: bytes[range])
    }

    mutating func string(_ field: Field) throws -> String {
        let range = try span(field)
        guard range.count <= 1 << 16 else { throw broken("a name of \(range.count) bytes") }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    mutating func int(_ field: Field) throws -> Int {
        guard field.wireType == 0 else { throw broken("field \(field.number) should be a number") }
        return Int(truncatingIfNeeded: Int64(bitPattern: try varint()))
    }

    private mutating func fixed32() throws -> UInt32 {
        guard end - offset >= 4 else { throw broken("a float runs past the end") }
        defer { offset += 4 }
        return UInt32(littleEndian: UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(as: UInt32.self))
    }

    private mutating func fixed64() throws -> UInt64 {
        guard end - offset >= 8 else { throw broken("a double runs past the end") }
        defer { offset += 8 }
        return UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(as: UInt64.self))
    }

    mutating func float(_ field: Field) throws -> Float {
        guard field.wireType == 5 else { throw broken("field \(field.number) should be a float") }
        return Float(bitPattern: try fixed32())
    }

    /// A repeated int64 field, packed (one length-delimited run) or one value per field; at most 2²⁴
    /// (an upscaler's integers are shapes and indices, and each takes 8 bytes here for one in the file).
    mutating func ints(_ field: Field, into values: inout [Int]) throws {
        guard values.count < 1 << 24 else { throw broken("over 2²⁴ integers in one field") }
        if field.wireType == 0 { return values.append(try int(field)) }
        var run = try message(field)
        while run.offset < run.end {
            guard values.count < 1 << 24 else { throw broken("over 2²⁴ integers in one field") }
            values.append(Int(truncatingIfNeeded: Int64(bitPattern: try run.varint())))
        }
    }

    /// A repeated float field, packed or one value per field.
    mutating func floats(_ field: Field, into values: inout [Float]) throws {
        if field.wireType == 5 { return values.append(try float(field)) }
        var run = try message(field)
        guard (run.end - run.offset) % 4 == 0 else { throw broken("a run of floats is not a multiple of 4 bytes") }
        values.reserveCapacity(values.count + (run.end - run.offset) / 4)
        while run.offset < run.end { values.append(Float(bitPattern: try run.fixed32())) }
    }

    /// A repeated double field (as Float32), packed or one value per field.
    mutating func doubles(_ field: Field, into values: inout [Float]) throws {
        if field.wireType == 1 { return values.append(Float(Double(bitPattern: try fixed64()))) }
        var run = try message(field)
        guard (run.end - run.offset) % 8 == 0 else { throw broken("a run of doubles is not a multiple of 8 bytes") }
        while run.offset < run.end { values.append(Float(Double(bitPattern: try run.fixed64()))) }
    }

    mutating func skip(_ field: Field) throws {
        switch field.wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed64()
        case 5: _ = try fixed32()
        default: _ = try span(field)
        }
    }
}
