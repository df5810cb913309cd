import Autograd
import Foundation

extension ONNXModel {
    /// The ONNX operators Hone runs (ai.onnx, opsets 7–18 as PyTorch exports them).
    public static let opTypes = ["Conv", "ConvTranspose", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "PRelu", "Add", "Sub", "Mul", "Div", "Concat",
                                 "DepthToSpace", "Resize", "Upsample", "GlobalAveragePool", "Identity", "Dropout", "Constant"]

    /// The graph written as the ncnn graph it is (ncnn's layer semantics, as onnx2ncnn maps them), to run
    /// as `NCNNGraph`. Weights that are constants of the picture's path become trainable: a per-channel
    /// constant added or multiplied becomes a 1×1 convolution (identity or diagonal weights, the constant as bias).
    /// - Throws: `FileError` naming the file and the first node Hone cannot run, with why.
    public func ncnn() throws -> NCNNModel {
        guard inputs.count == 1, outputs.count == 1 else {
            throw FileError(path, "has \(inputs.count) inputs and \(outputs.count) outputs; Hone imports a graph with one of each (a picture in, a picture out)")
        }
        var writer = NCNNWriter()
        var constants = initializers
        var blobs: [String: String] = [inputs[0]: writer.blob()]
        writer.layer("Input", "input", [], [blobs[inputs[0]]!])
        for node in nodes {
            func refuse(_ why: String) -> FileError { FileError(path, "node \(node.name) (\(node.opType)): \(why)") }
            func constant(_ i: Int) -> Constant? { i < node.inputs.count ? constants[node.inputs[i]] : nil }
            func given(_ i: Int) -> Bool { i < node.inputs.count && !node.inputs[i].isEmpty }
            func picture(_ i: Int) throws -> String {
                guard i < node.inputs.count, let blob = blobs[node.inputs[i]] else { throw refuse("input \(i) is not computed from the graph's input") }
                return blob
            }
            guard let result = node.outputs.first else { throw refuse("it has no output") }
            func output() -> String {
                let blob = writer.blob()
                blobs[result] = blob
                return blob
            }
            let name = node.name
            switch node.opType {
            case "Constant":
                switch node.attributes["value"] ?? node.attributes["value_float"] ?? node.attributes["value_floats"] {
                case .tensor(let t): constants[result] = t
                case .float(let v): constants[result] = Constant(dims: [], values: [v])
                case .floats(let v): constants[result] = Constant(dims: [v.count], values: v)
                default: throw refuse("only a tensor or float value is read")
                }
            case "Identity", "Dropout":
                blobs[result] = try picture(0)
            case "Conv", "ConvTranspose":
                let transposed = node.opType == "ConvTranspose"
                guard let w = constant(1), w.dims.count == 4 else { throw refuse("its weights are not a constant 4-D tensor") }
                let bias = constant(2)
                guard !given(2) || bias?.values.count == w.dims[transposed ? 1 : 0] else { throw refuse("its bias is not a constant of one value per output") }
                let (kh, kw) = (w.dims[2], w.dims[3])
                let strides = node.ints("strides") ?? [1, 1], dilations = node.ints("dilations") ?? [1, 1]
                let pads = node.ints("pads") ?? [0, 0, 0, 0]  // ONNX: top, left, bottom, right
                guard node.ints("kernel_shape").map({ $0 == [kh, kw] }) ?? true, kh == kw, strides.count == 2, dilations.count == 2, pads.count == 4 else {
                    throw refuse("only 2-D convolutions with square kernels are run")
                }
                guard node.string("auto_pad", "NOTSET") == "NOTSET" else { throw refuse("auto_pad is not read; export with explicit pads") }
                guard node.int("group", 1) == 1 else { throw refuse("grouped convolutions (group \(node.int("group", 1))) are not run") }
                // ONNX: [h, w]; ncnn keeps the bottom's and the right's (19=, 18=) and runs them up to the padding.
                let outputPadding = node.ints("output_padding") ?? [0, 0]
                guard transposed || outputPadding == [0, 0], outputPadding.count == 2, outputPadding[0] == outputPadding[1],
                      (0...pads[2]).contains(outputPadding[0]), pads[2] == pads[3], node.ints("output_shape") == nil else {
                    throw refuse(node.ints("output_shape") != nil ? "a fixed output shape is not run; export without output_size"
                                 : "output padding \(outputPadding) with padding \(pads) is not run: only the same output padding on both sides, at most the padding")
                }
                // ncnn keeps [out, in, k, k] for both; ONNX's ConvTranspose has [in, out, k, k].
                let (o, i) = transposed ? (w.dims[1], w.dims[0]) : (w.dims[0], w.dims[1])
                var weights = w.values
                if transposed {
                    for a in 0..<o { for b in 0..<i { for t in 0..<(kh * kw) { weights[(a * i + b) * kh * kw + t] = w.values[(b * o + a) * kh * kw + t] } } }
                }
                writer.layer(transposed ? "Deconvolution" : "Convolution", name, [try picture(0)], [output()],
                             [0: "\(o)", 1: "\(kw)", 11: "\(kh)", 2: "\(dilations[1])", 12: "\(dilations[0])", 3: "\(strides[1])", 13: "\(strides[0])",
                              4: "\(pads[1])", 14: "\(pads[0])", 15: "\(pads[3])", 16: "\(pads[2])", 5: bias == nil ? "0" : "1", 6: "\(weights.count)"]
                             .merging(outputPadding[0] > 0 ? [18: "\(outputPadding[1])", 19: "\(outputPadding[0])"] : [:]) { a, _ in a })
                writer.tagged(weights)
                if let bias { writer.raw(bias.values) }
            case "Relu": writer.layer("ReLU", name, [try picture(0)], [output()])
            case "LeakyRelu": writer.layer("ReLU", name, [try picture(0)], [output()], [0: try writer.number(node.float("alpha", 0.01), refuse)])
            case "Sigmoid": writer.layer("Sigmoid", name, [try picture(0)], [output()])
            case "Tanh": writer.layer("TanH", name, [try picture(0)], [output()])
            case "Clip":
                // Opset 11 on: the limits are inputs 1 and 2 (either may be absent); before, attributes.
                func limit(_ i: Int, _ key: String) throws -> Float? {
                    if given(i) {
                        guard let c = constant(i), c.values.count == 1 else { throw refuse("its limits are not constant numbers") }
                        return c.values[0]
                    }
                    return node.attributes[key] == nil ? nil : node.float(key, 0)
                }
                var params: [Int: String] = [:]
                if let lo = try limit(1, "min") { params[0] = try writer.number(lo, refuse) }
                if let hi = try limit(2, "max") { params[1] = try writer.number(hi, refuse) }
                writer.layer("Clip", name, [try picture(0)], [output()], params)
            case "PRelu":
                guard let slope = constant(1), (1...4096).contains(slope.values.count) else { throw refuse("its slopes are not a constant of 1 to 4096 values") }
                writer.layer("PReLU", name, [try picture(0)], [output()], [0: "\(slope.values.count)"])
                writer.raw(slope.values)
            case "Add", "Sub", "Mul", "Div":
                try arithmetic(node, constant(0), constant(1), picture: picture, output: output, writer: &writer, refuse: refuse)
            case "Concat":
                guard [1, -3].contains(node.int("axis", 1)) else { throw refuse("only concatenation along channels (axis 1) is run") }
                writer.layer("Concat", name, try node.inputs.indices.map(picture), [output()], [0: "0"])
            case "DepthToSpace":
                guard node.string("mode", "DCR") == "CRD" else {
                    throw refuse("mode DCR (TensorFlow's order) is not run; PyTorch's pixel_shuffle exports as mode CRD")
                }
                writer.layer("PixelShuffle", name, [try picture(0)], [output()], [0: "\(node.int("blocksize", 0))"])
            case "Resize", "Upsample":
                // Resize: X, roi, scales, sizes (opset 11+) or X, scales (opset 10); Upsample: X, scales (or a scales attribute, opset 7).
                let scalesInput = node.opType == "Resize" && node.inputs.count >= 3 ? 2 : 1
                if node.opType == "Resize", given(3) { throw refuse("it resizes to fixed sizes; export with a scale factor") }
                var scales = constant(scalesInput)?.values ?? []
                if scales.isEmpty, case .floats(let s) = node.attributes["scales"] { scales = s }
                guard scales.count == 4, scales[0] == 1, scales[1] == 1 else { throw refuse("its scales are not a constant [1, 1, s, s]") }
                let mode = node.string("mode", "nearest"), coordinates = node.string("coordinate_transformation_mode", "half_pixel")
                let nearest = mode == "nearest"
                guard nearest || (mode == "linear" && node.opType == "Resize" && ["half_pixel", "pytorch_half_pixel"].contains(coordinates)) else {
                    throw refuse("mode \(mode) (\(coordinates)) is not run: nearest, or linear with half-pixel centres (PyTorch's align_corners=False)")
                }
                writer.layer("Interp", name, [try picture(0)], [output()],
                             [0: nearest ? "1" : "2", 1: try writer.number(scales[2], refuse), 2: try writer.number(scales[3], refuse)])
            case "GlobalAveragePool": writer.layer("Pooling", name, [try picture(0)], [output()], [0: "1", 4: "1"])
            case "Shape", "Gather", "Slice", "Reshape", "Unsqueeze", "Squeeze", "Flatten":
                // PyTorch writes these for F.interpolate(size=…), reshapes and views: sizes computed while running.
                throw refuse("sizes computed while running are not run; export with F.interpolate(scale_factor=…) and without reshapes")
            default: throw refuse("not run (Hone runs \(Self.opTypes.joined(separator: ", ")))")
            }
        }
        guard blobs[outputs[0]] != nil else { throw FileError(path, "its output \(outputs[0]) is not computed from its input") }
        return try NCNNModel.parse(param: Data(writer.param.utf8), bin: writer.bin, paramPath: path, binPath: path)
    }

    /// ncnn's BinaryOp operation types (0=…) of ONNX's Add, Sub and Mul.
    private static let binaryOps = ["Add": "0", "Sub": "1", "Mul": "2"]

    /// Add, Sub, Mul or Div of two pictures (ncnn's BinaryOp), of a picture and one number (BinaryOp with a
    /// scalar), or of a picture and one constant per channel (a 1×1 convolution).
    private func arithmetic(_ node: Node, _ a: Constant?, _ b: Constant?, picture: (Int) throws -> String, output: () -> String,
                            writer: inout NCNNWriter, refuse: (String) -> FileError) throws {
        let op = node.opType
        guard a == nil || b == nil else { throw refuse("it computes on constants alone; fold them before export (onnx-simplifier)") }
        guard let c = a ?? b else {
            guard let type = Self.binaryOps[op] else { throw refuse("a picture divided by a picture is not run") }
            return writer.layer("BinaryOp", node.name, [try picture(0), try picture(1)], [output()], [0: type])
        }
        let x = try picture(a == nil ? 0 : 1), constantFirst = a != nil
        if constantFirst, op == "Div" { throw refuse("a constant divided by a picture is not run") }
        if c.values.count == 1 {
            let v = c.values[0]
            switch (op, constantFirst) {
            case ("Sub", true):  // v − x = (−1)·x + v
                let negated = writer.blob()
                writer.layer("BinaryOp", node.name + "_negate", [x], [negated], [0: "2", 1: "1", 2: "-1.0"])
                writer.layer("BinaryOp", node.name, [negated], [output()], [0: "0", 1: "1", 2: try writer.number(v, refuse)])
            case ("Div", _):
                guard v != 0 else { throw refuse("it divides by zero") }
                writer.layer("BinaryOp", node.name, [x], [output()], [0: "2", 1: "1", 2: try writer.number(1 / v, refuse)])
            default:
                writer.layer("BinaryOp", node.name, [x], [output()], [0: Self.binaryOps[op]!, 1: "1", 2: try writer.number(v, refuse)])
            }
            return
        }
        let n = c.values.count
        guard c.dims.filter({ $0 != 1 }) == [n], c.dims.count >= 3, c.dims[c.dims.count - 3] == n else {
            throw refuse("a constant of shape \(c.dims) is neither one number nor one per channel")
        }
        // y = W·x + bias over the channels.
        var weights = [Float](repeating: 0, count: n * n), bias: [Float]?
        for k in 0..<n {
            switch op {
            case "Add": weights[k * n + k] = 1
            case "Sub": weights[k * n + k] = constantFirst ? -1 : 1
            case "Mul": weights[k * n + k] = c.values[k]
            default:
                guard c.values[k] != 0 else { throw refuse("it divides by zero") }
                weights[k * n + k] = 1 / c.values[k]
            }
        }
        if op == "Add" { bias = c.values } else if op == "Sub" { bias = constantFirst ? c.values : c.values.map { -$0 } }
        writer.layer("Convolution", node.name, [x], [output()], [0: "\(n)", 1: "1", 5: bias == nil ? "0" : "1", 6: "\(n * n)"])
        writer.tagged(weights)
        if let bias { writer.raw(bias) }
    }
}

/// An ncnn .param text and .bin bytes, written layer by layer (ncnn's wiki "param and model file structure").
struct NCNNWriter {
    private var lines: [String] = []
    private var blobs = 0
    private(set) var bin = Data()

    var param: String { "7767517\n\(lines.count) \(blobs)\n" + lines.joined(separator: "\n") + "\n" }

    mutating func blob() -> String {
        blobs += 1
        return "b\(blobs - 1)"
    }

    /// A layer line; the name loses characters ncnn's text cannot hold.
    mutating func layer(_ kind: String, _ name: String, _ bottoms: [String], _ tops: [String], _ params: [Int: String] = [:]) {
        let safe = String(name.map { $0.isLetter || $0.isNumber || "_-./:".contains($0) ? $0 : "_" }.prefix(200))
        let words = [kind, safe.isEmpty ? "layer\(lines.count)" : safe, "\(bottoms.count)", "\(tops.count)"] + bottoms + tops
            + params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.append(words.joined(separator: " "))
    }

    /// A float parameter as ncnn's text writes it (with a point, so it reads back as a float).
    func number(_ v: Float, _ refuse: (String) -> FileError) throws -> String {
        guard v.isFinite else { throw refuse("a parameter is \(v)") }
        let text = "\(v)"
        return text.contains(where: { ".eE".contains($0) }) ? text : text + ".0"
    }

    /// A weight block as Float32s behind ncnn's tag 0.
    mutating func tagged(_ values: [Float]) {
        bin.append(contentsOf: [0, 0, 0, 0])
        raw(values)
    }

    mutating func raw(_ values: [Float]) {
        guard !values.isEmpty else { return }
        values.withUnsafeBufferPointer { p in bin.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self), count: 4 * p.count)) }
    }
}
