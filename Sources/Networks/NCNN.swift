import Autograd
import Foundation

/// An ncnn model (Tencent/ncnn's `.param` text graph and `.bin` weights), read
/// defensively: the files may come from anyone. Only the layer kinds that
/// Hone can run (`kinds`) are read; any other stops the import with the
/// file, the layer and its kind named. Format: ncnn's wiki "param and model file structure".
public struct NCNNModel {
    /// A parameter value: ncnn writes integers, floats, and (for keys ≤ −23300) arrays.
    public enum Value: Equatable, Sendable {
        case int(Int), float(Float), array([Float])
    }

    public struct Layer {
        public let kind: String, name: String
        public let bottoms: [String], tops: [String]
        public let params: [Int: Value]
        /// The layer's weights in file order: a Convolution's or Deconvolution's weights ([out, in, k, k]) and bias,
        /// an InnerProduct's ([out, in]) and bias, a PReLU's slopes.
        public var blobs: [Tensor] = []

        public func int(_ key: Int, _ fallback: Int) -> Int {
            switch params[key] { case .int(let v): v; case .float(let v): Int(v); default: fallback }
        }
        public func float(_ key: Int, _ fallback: Float) -> Float {
            switch params[key] { case .int(let v): Float(v); case .float(let v): v; default: fallback }
        }
        public func array(_ key: Int) -> [Float] {
            switch params[key] { case .array(let v): v; case .float(let v): [v]; case .int(let v): [Float(v)]; default: [] }
        }
    }

    public let layers: [Layer]
    /// The .param file, for messages.
    public let path: String
    /// The .param file's text, as a checkpoint carries the graph (`NCNNSpec`).
    public let param: String

    /// The layer kinds read; the import of any other stops at it.
    public static let kinds: Set<String> = ["Input", "Split", "Convolution", "Deconvolution", "InnerProduct", "PReLU", "ReLU", "Sigmoid", "TanH", "Clip",
                                            "Eltwise", "BinaryOp", "Concat", "PixelShuffle", "Interp", "Crop", "Pooling", "Scale"]

    /// Reads `param` and its weights `bin`.
    /// - Throws: `FileError` naming the file at fault: missing, not ncnn, a layer
    ///   of a kind Hone does not read, a weight block past the end of `bin` or of an unknown storage.
    public static func load(param: String, bin: String) throws -> NCNNModel {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: param, isDirectory: &isFolder), isFolder.boolValue { throw FileError(param, "is a folder, not an ncnn .param file") }
        if param.hasSuffix(".bin") { throw FileError(param, "holds ncnn weights; give the .param graph beside it (its .bin is read with it)") }
        guard let text = FileManager.default.contents(atPath: param) else { throw FileError(param, "no such ncnn .param file") }
        guard let weights = FileManager.default.contents(atPath: bin) else { throw FileError(bin, "no such ncnn .bin file") }
        return try parse(param: text, bin: weights, paramPath: param, binPath: bin)
    }

    /// Parses the two files' bytes; paths name them in errors. Throws as `load`.
    /// With `bin` nil every weight is zero, of its shape: the graph alone (a checkpoint's, whose tensors come after).
    public static func parse(param: Data, bin: Data?, paramPath: String, binPath: String) throws -> NCNNModel {
        guard param.count < 16 << 20, let text = String(data: param, encoding: .utf8) else {
            throw FileError(paramPath, "not an ncnn .param file (not text, or over 16 MB)")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }.filter { !$0.isEmpty }
        guard lines.count >= 2, lines[0] == ["7767517"], lines[1].count == 2, let layerCount = Int(lines[1][0]), (1...100_000).contains(layerCount) else {
            throw FileError(paramPath, "not an ncnn .param file (it must start with 7767517, then the layer and blob counts, then a line per layer)")
        }
        guard layerCount == lines.count - 2 else {
            throw FileError(paramPath, "declares \(layerCount) layers but has \(lines.count - 2): the file is truncated or edited")
        }
        lines.removeFirst(2)
        var reader = BlobReader(data: bin, path: binPath)
        var layers: [Layer] = []
        for fields in lines {
            let words = fields.map(String.init)
            guard words.count >= 4, let nIn = Int(words[2]), let nOut = Int(words[3]), (0...1000).contains(nIn), (0...1000).contains(nOut),
                  words.count >= 4 + nIn + nOut else {
                throw FileError(paramPath, "layer line '\(words.prefix(4).joined(separator: " "))…' is not kind, name, counts, inputs and outputs")
            }
            let (kind, name) = (words[0], words[1])
            guard kinds.contains(kind) else {
                throw FileError(paramPath, "layer \(name) is \(kind), which Hone does not import (it reads \(kinds.sorted().joined(separator: ", ")))")
            }
            var params: [Int: Value] = [:]
            for item in words[(4 + nIn + nOut)...] {
                let kv = item.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let key = Int(kv[0]), let value = Self.value(key: key, String(kv[1])) else {
                    throw FileError(paramPath, "layer \(name): parameter '\(item)' is not key=value")
                }
                params[key <= -23300 ? -23300 - key : key] = value
            }
            var layer = Layer(kind: kind, name: name, bottoms: Array(words[4..<(4 + nIn)]), tops: Array(words[(4 + nIn)..<(4 + nIn + nOut)]), params: params)
            switch kind {
            case "Convolution", "Deconvolution", "InnerProduct":
                let (out, size) = (layer.int(0, 0), layer.int(kind == "InnerProduct" ? 2 : 6, 0))
                let k = kind == "InnerProduct" ? 1 : layer.int(1, 0)
                guard out > 0, (1...64).contains(k), layer.int(11, k) == k, out * k * k <= size, size % (out * k * k) == 0, size <= 1 << 26 else {
                    throw FileError(paramPath, "layer \(name): weight size \(size) is not outputs \(out) × inputs × \(k)×\(k) (square kernels only)")
                }
                layer.blobs.append(try reader.tagged(size, shape: [out, size / (out * k * k), k, k], layer: name))
                if layer.int(kind == "InnerProduct" ? 1 : 5, 0) != 0 { layer.blobs.append(try reader.raw(out, layer: name)) }
            case "Scale":
                guard layer.int(0, 0) == -233, layer.int(1, 0) == 0 else {
                    throw FileError(paramPath, "layer \(name): a Scale with its own weights is not read (only the scale from a second input, 0=-233)")
                }
            case "PReLU":
                let n = layer.int(0, 0)
                guard (1...4096).contains(n) else { throw FileError(paramPath, "layer \(name): \(n) slopes") }
                layer.blobs.append(try reader.raw(n, layer: name))
            default: break
            }
            layers.append(layer)
        }
        if let bin, reader.offset != bin.count {
            throw FileError(binPath, "holds \(bin.count - reader.offset) bytes more than \(paramPath)'s layers read: the files do not belong together")
        }
        return NCNNModel(layers: layers, path: paramPath, param: text)
    }

    private static func value(key: Int, _ text: String) -> Value? {
        if key <= -23300 {
            let items = text.split(separator: ",")
            guard let count = items.first.flatMap({ Int($0) }), count == items.count - 1 else { return nil }
            let values = items.dropFirst().compactMap { Float($0) }
            return values.count == count ? .array(values) : nil
        }
        if text.contains(where: { ".eE".contains($0) }) { return Float(text).map(Value.float) }
        return Int(text).map(Value.int)
    }
}

/// Reads ncnn's weight blocks in order (ncnn's ModelBinFromDataReader).
private struct BlobReader {
    /// nil: no weights, every block zero.
    let data: Data?
    let path: String
    var offset = 0
    /// Floats made as zeros when there is no data: bounded, as a .bin's length bounds them otherwise.
    var zeroed = 0

    /// Without data, `count` zero floats, refused past 2²⁶ in all (RealSR, 16.7 M weights, fits 4 times).
    private mutating func zeros(_ count: Int, shape: [Int], layer: String) throws -> Tensor {
        zeroed += count
        guard zeroed <= 1 << 26 else { throw FileError(path, "layer \(layer): the graph asks for over 2²⁶ weights") }
        return Tensor(zeros: shape)
    }

    /// Block type 1: `count` raw little-endian Float32s (biases, slopes).
    mutating func raw(_ count: Int, layer: String) throws -> Tensor {
        guard let data else { return try zeros(count, shape: [count], layer: layer) }
        try need(4 * count, layer)
        let t = Tensor(shape: [count])
        data.withUnsafeBytes { for i in 0..<count { t.data[i] = Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self))) } }
        offset += 4 * count
        return t
    }

    /// Block type 0: a 4-byte tag, then Float16s (tag 0x01306B47, padded to 4 bytes),
    /// Float32s (tag 0), or a 256-entry Float32 table and one byte per weight (other tags but int8's).
    mutating func tagged(_ count: Int, shape: [Int], layer: String) throws -> Tensor {
        guard let data else { return try zeros(count, shape: shape, layer: layer) }
        try need(4, layer)
        let tag = data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        offset += 4
        let t = Tensor(shape: shape)
        switch tag {
        case 0x0130_6B47:
            try need((2 * count + 3) / 4 * 4, layer)
            data.withUnsafeBytes { for i in 0..<count { t.data[i] = Float(Float16(bitPattern: UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 2 * i, as: UInt16.self)))) } }
            offset += (2 * count + 3) / 4 * 4
        case 0:
            let values = try raw(count, layer: layer)
            t.data.update(from: values.data, count: count)
        case 0x000D_4B38, 0x0002_C056:
            throw FileError(path, "layer \(layer): int8 weights (tag \(String(tag, radix: 16))) are not imported; export the model in fp16 or fp32")
        default:
            let table = try raw(256, layer: layer)
            try need((count + 3) / 4 * 4, layer)
            data.withUnsafeBytes { for i in 0..<count { t.data[i] = table.data[Int($0[offset + i])] } }
            offset += (count + 3) / 4 * 4
        }
        return t
    }

    private func need(_ bytes: Int, _ layer: String) throws {
        let size = data?.count ?? 0
        guard bytes >= 0, offset + bytes <= size else {
            throw FileError(path, "ends inside layer \(layer)'s weights (\(size) bytes): truncated, or not this .param's weights")
        }
    }
}

extension NCNNModel {
    /// The network this graph is, with its weights: SRVGGNetCompact or RRDBNet,
    /// recognised from the layers' kinds, parameters and wiring.
    /// - Throws: `FileError` naming the .param file and the first layer that does not fit either.
    public func network() throws -> any UpscalingNetwork {
        // Split layers only copy: follow each of their outputs back to what they copy.
        var source: [String: String] = [:]
        for layer in layers where layer.kind == "Split" { for top in layer.tops { source[top] = layer.bottoms.first } }
        func origin(_ blob: String) -> String {
            var blob = blob, hops = 0
            while let up = source[blob], hops < layers.count { (blob, hops) = (up, hops + 1) }
            return blob
        }
        let main = layers.filter { $0.kind != "Split" && $0.kind != "Input" }
        guard let input = layers.first(where: { $0.kind == "Input" })?.tops.first, let first = main.first else {
            throw FileError(path, "has no input layer, or nothing after it")
        }
        var reader = GraphReader(main: main, path: path, origin: origin)
        return main.contains { $0.kind == "PReLU" } ? try reader.compact(input: input, first: first) : try reader.rrdb(input: input)
    }
}

/// Walks a graph's layers in order, checking each against what the architecture expects.
private struct GraphReader {
    let main: [NCNNModel.Layer]
    let path: String
    let origin: (String) -> String
    var next = 0

    /// The next layer, which must be of `kind` and read `inputs` (blob names, after Splits).
    mutating func take(_ kind: String, reading inputs: [String]) throws -> NCNNModel.Layer {
        guard next < main.count else { throw FileError(path, "ends where a \(kind) layer was expected") }
        let layer = main[next]
        next += 1
        guard layer.kind == kind else {
            throw FileError(path, "layer \(layer.name) is \(layer.kind) where Real-ESRGAN's architectures have \(kind): not a model Hone imports")
        }
        guard layer.bottoms.map(origin) == inputs.map(origin) else {
            throw FileError(path, "layer \(layer.name) reads \(layer.bottoms) where its architecture reads \(inputs)")
        }
        return layer
    }

    /// A 3×3, stride 1, pad 1 convolution with bias; `leaky` when fused with LeakyReLU 0.2.
    mutating func conv(_ input: String, into conv: Conv2d, leaky: Bool = false) throws -> String {
        let layer = try take("Convolution", reading: [input])
        let fused = layer.int(9, 0)
        guard layer.int(1, 0) == 3, layer.int(11, 3) == 3, layer.int(3, 1) == 1, layer.int(13, 1) == 1, layer.int(2, 1) == 1,
              layer.int(4, 0) == 1, layer.int(14, 1) == 1, layer.blobs.count == 2 else {
            throw FileError(path, "layer \(layer.name) is not a 3×3 convolution with stride 1, padding 1 and a bias")
        }
        let isLeaky = (fused == 2 || fused == 1) && layer.array(10) == [0.2]
        guard leaky ? isLeaky : fused == 0 else {
            throw FileError(path, "layer \(layer.name) has activation \(fused) \(layer.array(10)) where its architecture has \(leaky ? "LeakyReLU 0.2" : "none")")
        }
        guard layer.blobs[0].shape == conv.weight.shape else {
            throw FileError(path, "layer \(layer.name) has weights \(layer.blobs[0].shape) where its architecture has \(conv.weight.shape)")
        }
        conv.weight.data.update(from: layer.blobs[0].data, count: conv.weight.count)
        conv.bias!.data.update(from: layer.blobs[1].data, count: conv.bias!.count)
        return layer.tops[0]
    }

    /// Input, conv + PReLU pairs, a conv, PixelShuffle r, plus the input by nearest ×r, then optionally bicubic to the scale.
    mutating func compact(input: String, first: NCNNModel.Layer) throws -> any UpscalingNetwork {
        let convs = main.filter { $0.kind == "Convolution" }
        guard let last = convs.last, last.blobs.count == 2, first.kind == "Convolution", first.blobs.count == 2 else {
            throw FileError(path, "is neither SRVGGNetCompact nor RRDBNet (no convolutions with biases at both ends)")
        }
        let channels = first.blobs[0].shape[0], r2 = last.blobs[0].shape[0] / 3
        let r = Int(Double(r2).squareRoot().rounded())
        guard r * r * 3 == last.blobs[0].shape[0], (2...4).contains(r) else {
            throw FileError(path, "layer \(last.name) has \(last.blobs[0].shape[0]) outputs: not 3·r² for r = 2, 3 or 4")
        }
        var scale = r
        if let resize = main.last, resize.kind == "Interp", resize.int(0, 0) == 3 {
            let factor = Double(resize.float(1, 1)) * Double(r)
            scale = Int(factor.rounded())
            guard abs(factor - Double(scale)) < 1e-4, resize.float(1, 1) == resize.float(2, 1), (2..<r).contains(scale) else {
                throw FileError(path, "layer \(resize.name) resizes ×\(r) output by \(resize.float(1, 1))×\(resize.float(2, 1)): not to ×2 or ×3")
            }
        }
        let config = ModelConfig(architecture: .compact, channels: channels, blocks: convs.count - 2, activation: .prelu, unet: false,
                                 networkScale: scale == r ? nil : r)
        let net = try SRVGGNetCompact(config, scale: scale)
        var h = try conv(input, into: net.head)
        h = try prelu(h, into: net.headSlope!)
        for (body, slope) in zip(net.body, net.bodySlopes) { h = try prelu(try conv(h, into: body), into: slope!) }
        let shuffled = try take("PixelShuffle", reading: [try conv(h, into: net.tail)])
        guard shuffled.int(0, 0) == r, shuffled.int(1, 0) == 0 else { throw FileError(path, "layer \(shuffled.name) shuffles by \(shuffled.int(0, 0)), not \(r)") }
        let skip = try take("Interp", reading: [input])
        guard skip.int(0, 0) == 1, skip.float(1, 0) == Float(r), skip.float(2, 0) == Float(r) else {
            throw FileError(path, "layer \(skip.name) is not a nearest ×\(r) enlargement of the input")
        }
        let sum = try take("BinaryOp", reading: [shuffled.tops[0], skip.tops[0]])
        guard sum.int(0, 0) == 0, sum.int(1, 0) == 0 else { throw FileError(path, "layer \(sum.name) is not an addition") }
        if scale != r { _ = try take("Interp", reading: [sum.tops[0]]) }
        try finish()
        return net
    }

    mutating func prelu(_ input: String, into slope: Tensor) throws -> String {
        let layer = try take("PReLU", reading: [input])
        guard layer.blobs[0].count == slope.count else { throw FileError(path, "layer \(layer.name) has \(layer.blobs[0].count) slopes, not \(slope.count)") }
        slope.data.update(from: layer.blobs[0].data, count: slope.count)
        return layer.tops[0]
    }

    /// ESRGAN's graph: conv, RRDBs, conv, skip, two (nearest ×2, conv), two convs.
    mutating func rrdb(input: String) throws -> any UpscalingNetwork {
        let convs = main.filter { $0.kind == "Convolution" }
        guard convs.count >= 6, (convs.count - 6) % 15 == 0, convs[0].blobs.count == 2 else {
            throw FileError(path, "has \(convs.count) convolutions: not RRDBNet's 6 + 15 per block")
        }
        let config = ModelConfig(architecture: .rrdb, channels: convs[0].blobs[0].shape[0], blocks: (convs.count - 6) / 15,
                                 activation: .leakyRelu, unet: false)
        let net = try RRDBNet(config, scale: 4)
        let head = try conv(input, into: net.head)
        var h = head
        for block in net.body {
            let blockInput = h
            for dense in block.blocks { h = try denseBlock(h, dense) }
            h = try eltwise(h, blockInput)
        }
        let sum = try take("BinaryOp", reading: [head, try conv(h, into: net.bodyTail)])
        guard sum.int(0, 0) == 0, sum.int(1, 0) == 0 else { throw FileError(path, "layer \(sum.name) is not an addition") }
        h = sum.tops[0]
        for up in net.upsample {
            let enlarge = try take("Interp", reading: [h])
            guard enlarge.int(0, 0) == 1, enlarge.float(1, 0) == 2, enlarge.float(2, 0) == 2 else {
                throw FileError(path, "layer \(enlarge.name) is not a nearest ×2 enlargement")
            }
            h = try conv(enlarge.tops[0], into: up, leaky: true)
        }
        _ = try conv(try conv(h, into: net.highRes, leaky: true), into: net.tail)
        try finish()
        return net
    }

    /// Five convs over the growing concatenation, the last scaled by 0.2 and added to the input.
    mutating func denseBlock(_ x: String, _ block: ResidualDenseBlock) throws -> String {
        var features = [x]
        for (i, c) in block.convs.enumerated() {
            let input = i == 0 ? x : try take("Concat", reading: features).tops[0]
            if i > 0 { guard main[next - 1].int(0, 0) == 0 else { throw FileError(path, "layer \(main[next - 1].name) joins along another axis than channels") } }
            features.append(try conv(input, into: c, leaky: i < 4))
        }
        return try eltwise(features.last!, x)
    }

    /// 0.2·a + b.
    mutating func eltwise(_ a: String, _ b: String) throws -> String {
        let layer = try take("Eltwise", reading: [a, b])
        guard layer.int(0, 0) == 1, layer.array(1) == [0.2, 1] else {
            throw FileError(path, "layer \(layer.name) is not 0.2·a + b (op \(layer.int(0, 0)), coefficients \(layer.array(1)))")
        }
        return layer.tops[0]
    }

    func finish() throws {
        guard next == main.count else { throw FileError(path, "layer \(main[next].name) (\(main[next].kind)) follows the network's output") }
    }
}
