import Autograd
import Foundation

/// Any ncnn graph made of layers Hone has ops for, run as those ops, so it runs,
/// tiles and fine-tunes like Hone's own networks: the general path beside the two
/// architectures recognised by their wiring (`NCNNModel.network()`). Layers follow
/// ncnn's semantics (src/layer/*.cpp): blobs are NCHW tensors, ncnn's 1-D blobs
/// (after global pooling or InnerProduct) [n, c, 1, 1].
///
/// Networks that convolve without padding (waifu2x, Real-CUGAN) expect their input
/// padded by `prepadding` pixels on each side; the output is then `scale` × the unpadded input.
public final class NCNNGraph: Module, UpscalingNetwork, @unchecked Sendable {
    /// What a layer does, with the index of its weights in `weights`.
    enum Op {
        case convolution(weight: Int, bias: Int?, stride: Int, padding: Int, activation: Fused)
        /// `outputPadding` more rows and columns of the full result kept at the bottom and right (≤ `padding`).
        case deconvolution(weight: Int, bias: Int?, stride: Int, padding: Int, outputPadding: Int, activation: Fused)
        /// On [n, c, 1, 1]: a 1×1 convolution.
        case innerProduct(weight: Int, bias: Int?, activation: Fused)
        case prelu(slope: Int)
        case activation(Fused)
        /// Eltwise sum, each input times its coefficient.
        case sum(coefficients: [Float])
        /// Eltwise product, BinaryOp mul, and Scale from a second input: the second broadcast from [n, c, 1, 1].
        case product
        case difference
        case scalar(add: Float, times: Float)
        case concat
        case upsample(nearest: Bool, factor: Int)
        case pixelShuffle(Int)
        /// Margins cut from (top, left, bottom, right).
        case crop(top: Int, left: Int, bottom: Int, right: Int)
        /// The first input cut at (top, left) to the second input's size.
        case cropLike(top: Int, left: Int)
        case globalAveragePool
        case split
    }

    /// The activation ncnn fuses into a convolution (its `9=` type, `10=` parameters).
    enum Fused {
        case none, relu, leaky(Float), sigmoid, tanh
        /// Limited to [lo, hi].
        case clip(Float, Float)

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            switch self {
            case .none: x
            case .relu: Autograd.relu(x)
            case .leaky(let slope): Autograd.leakyRelu(x, slope: slope)
            case .sigmoid: Autograd.sigmoid(x)
            case .tanh: Autograd.tanh(x)
            case let .clip(lo, hi): Autograd.clamp(x, lo, hi)
            }
        }
    }

    struct Node {
        let op: Op
        let inputs: [Int], outputs: [Int]
        /// The blobs no later node reads, freed after this one.
        var last: [Int] = []
    }

    /// Every layer's weights and biases, in file order: the trainable state.
    public let weights: [Tensor]
    let nodes: [Node]
    let input: Int, output: Int
    public let scale: Int
    public let prepadding: Int
    public let config: ModelConfig
    public let receptiveRadius: Int
    public let activationBytesPerPixel: Int
    /// Some layer pools over the whole picture (squeeze-and-excitation): tiles then need the whole
    /// picture's means (`TiledUpscaler` gathers them, `callAsFunction(_:means:)` takes them).
    public var poolsWholePicture: Bool { poolingLayers > 0 }
    /// How many layers pool over the whole picture.
    public var poolingLayers: Int { poolingPitches.count }
    /// The pixel pitch (input pixels per pixel) of what each of them pools, in order.
    public let poolingPitches: [Double]
    /// The input's sides are made a multiple of this (the strides' product) before the graph, as
    /// Real-CUGAN's reference code pads its U-Nets' input (upcunet_v3.py), and the output cut back.
    public let alignment: Int

    /// The graph a config carries (`ModelConfig.ncnn`), its weights zero until a checkpoint's are loaded.
    /// - Throws: `FileError` for a graph Hone cannot run (the config's problems are checked first).
    public convenience init(_ config: ModelConfig, scale: Int) throws {
        guard let spec = config.ncnn, config.problems().isEmpty else { throw FileError("model", config.problems().first ?? "no ncnn graph") }
        try self.init(try NCNNModel.parse(param: Data(spec.param.utf8), bin: nil, paramPath: "the graph", binPath: "the graph"),
                      scale: scale, prepadding: spec.prepadding)
    }

    /// The graph of `model`, its scale and prepadding found from the output sizes of two inputs: an
    /// input of side a gives s·(a − 2p), so sides 64 and 96 give s and p.
    /// - Throws: `FileError` naming the .param file when the graph does not run on them, or its sizes fit no scale 1…4.
    public static func probing(_ model: NCNNModel) throws -> NCNNGraph {
        let graph = try NCNNGraph(model, scale: 1)
        var sides: [Int] = []
        for side in [64, 96] {
            do { sides.append(try Grad.disabled { try graph.run(Tensor(zeros: [1, 3, side, side])) }.shape[3]) } catch {
                throw FileError(model.path, "does not run on a \(side)×\(side) picture (\(error)), so its scale cannot be found")
            }
        }
        let scale = (sides[1] - sides[0]) / 32, twice = scale > 0 ? 64 - sides[0] / scale : -1
        guard (1...4).contains(scale), sides[1] - sides[0] == 32 * scale, sides[0] % scale == 0, twice >= 0, twice % 2 == 0 else {
            throw FileError(model.path, "gives \(sides[0]) and \(sides[1]) pixels from 64 and 96: not an upscaler by 1 to 4 of padded input")
        }
        return try NCNNGraph(model, scale: scale, prepadding: twice / 2)
    }

    /// `init(config, scale:)` for `makeNetwork`: its zero weights are a checkpoint's to fill.
    /// - Throws: `ShapeError` naming what in the graph Hone cannot run.
    static func zeroed(_ config: ModelConfig, scale: Int) throws -> NCNNGraph {
        do { return try NCNNGraph(config, scale: scale) } catch let error as FileError { throw ShapeError("its ncnn graph: \(error.problem)") }
    }

    /// The graph of `model`, upscaling by `scale` from input padded by `prepadding`.
    /// - Throws: `FileError` naming the .param file and the first layer Hone cannot run as ncnn would.
    public init(_ model: NCNNModel, scale: Int, prepadding: Int = 0) throws {
        var blobIndex: [String: Int] = [:]
        func blob(_ name: String) -> Int {
            if let i = blobIndex[name] { return i }
            blobIndex[name] = blobIndex.count
            return blobIndex.count - 1
        }
        var weights: [Tensor] = [], nodes: [Node] = [], input: Int?
        let path = model.path
        for layer in model.layers {
            func refuse(_ why: String) -> FileError { FileError(path, "layer \(layer.name) (\(layer.kind)): \(why)") }
            func take(_ t: Tensor) -> Int {
                t.requiresGrad = true
                weights.append(t)
                return weights.count - 1
            }
            func fused() throws -> Fused {
                let params = layer.array(10)
                switch layer.int(9, 0) {
                case 0: return .none
                case 1: return .relu
                case 2: return .leaky(params.first ?? 0)
                case 3 where params.count == 2 && params[0] <= params[1]: return .clip(params[0], params[1])
                case 4: return .sigmoid
                case let type: throw refuse("activation type \(type) is not run (0 none, 1 ReLU, 2 leaky ReLU, 3 clip, 4 sigmoid are)")
                }
            }
            func symmetricPadding() throws -> Int {
                let pad = layer.int(4, 0)
                // 18 is a convolution's padding value, a deconvolution's output padding (read apart).
                guard pad >= 0, [14, 15, 16].allSatisfy({ layer.int($0, pad) == pad }), layer.kind == "Deconvolution" || layer.int(18, 0) == 0 else {
                    throw refuse("only the same padding on every side is run")
                }
                return pad
            }
            func squareStride() throws -> Int {
                let stride = layer.int(3, 1)
                guard stride >= 1, layer.int(13, stride) == stride, layer.int(2, 1) == 1, layer.int(12, 1) == 1 else {
                    throw refuse("only square strides without dilation are run")
                }
                return stride
            }
            let op: Op
            switch layer.kind {
            case "Input":
                guard input == nil, let top = layer.tops.first else { throw refuse("a second input") }
                input = blob(top)
                continue
            case "Convolution":
                guard layer.int(7, 1) == 1, layer.int(8, 0) == 0 else { throw refuse("grouped or int8 convolutions are not run") }
                op = .convolution(weight: take(layer.blobs[0]), bias: layer.blobs.count > 1 ? take(layer.blobs[1]) : nil,
                                  stride: try squareStride(), padding: try symmetricPadding(), activation: try fused())
            case "Deconvolution":
                guard layer.int(7, 1) == 1, layer.int(20, 0) == 0, layer.int(21, 0) == 0 else { throw refuse("grouped deconvolutions or fixed output sizes are not run") }
                // ncnn stores [out, in, k, k]; deconv2d takes [in, out, k, k].
                let w = layer.blobs[0], (o, i, k) = (w.shape[0], w.shape[1], w.shape[2])
                let t = Tensor(shape: [i, o, k, k])
                for a in 0..<o { for b in 0..<i { (t.data + (b * o + a) * k * k).update(from: w.data + (a * i + b) * k * k, count: k * k) } }
                let (padding, outputPadding) = (try symmetricPadding(), layer.int(18, 0))
                guard outputPadding >= 0, layer.int(19, outputPadding) == outputPadding, outputPadding <= padding else {
                    throw refuse("only the same output padding at the bottom and right, no more than the padding, is run")
                }
                op = .deconvolution(weight: take(t), bias: layer.blobs.count > 1 ? take(layer.blobs[1]) : nil,
                                    stride: try squareStride(), padding: padding, outputPadding: outputPadding, activation: try fused())
            case "InnerProduct":
                guard layer.int(8, 0) == 0 else { throw refuse("int8 weights are not run") }
                op = .innerProduct(weight: take(layer.blobs[0]), bias: layer.blobs.count > 1 ? take(layer.blobs[1]) : nil, activation: try fused())
            case "PReLU": op = .prelu(slope: take(layer.blobs[0]))
            case "ReLU": op = .activation(layer.float(0, 0) == 0 ? .relu : .leaky(layer.float(0, 0)))
            case "Sigmoid": op = .activation(.sigmoid)
            case "TanH": op = .activation(.tanh)
            case "Clip":
                let (lo, hi) = (layer.float(0, -.greatestFiniteMagnitude), layer.float(1, .greatestFiniteMagnitude))
                guard lo <= hi else { throw refuse("its minimum \(lo) is above its maximum \(hi)") }
                op = .activation(.clip(lo, hi))
            case "Split": op = .split
            case "Concat":
                guard layer.int(0, 0) == 0 else { throw refuse("only concatenation along channels (axis 0) is run") }
                op = .concat
            case "Eltwise":
                switch layer.int(0, 1) {
                case 0: op = .product
                case 1:
                    let c = layer.array(1)
                    guard c.isEmpty || c.count == layer.bottoms.count else { throw refuse("\(c.count) coefficients for \(layer.bottoms.count) inputs") }
                    op = .sum(coefficients: c.isEmpty ? Array(repeating: 1, count: layer.bottoms.count) : c)
                case let type: throw refuse("operation \(type) is not run (0 product, 1 sum are)")
                }
            case "BinaryOp":
                let (type, withScalar, b) = (layer.int(0, 0), layer.int(1, 0) != 0, layer.float(2, 0))
                switch (type, withScalar) {
                case (0, false): op = .sum(coefficients: [1, 1])
                case (1, false): op = .difference
                case (2, false): op = .product
                case (0, true): op = .scalar(add: b, times: 1)
                case (1, true): op = .scalar(add: -b, times: 1)
                case (2, true): op = .scalar(add: 0, times: b)
                default: throw refuse("operation \(type)\(withScalar ? " with a scalar" : "") is not run (add, sub and mul are)")
                }
            case "Scale": op = .product
            case "Interp":
                let (type, sh, sw) = (layer.int(0, 0), layer.float(1, 1), layer.float(2, 1))
                guard [1, 2].contains(type), sh == sw, sh == sh.rounded(), (2...8).contains(Int(sh)), layer.int(3, 0) == 0, layer.int(4, 0) == 0, layer.int(6, 0) == 0 else {
                    throw refuse("only nearest or bilinear resizing by a whole factor 2…8 (no fixed size, no align_corners) is run")
                }
                op = .upsample(nearest: type == 1, factor: Int(sh))
            case "PixelShuffle":
                let r = layer.int(0, 1)
                guard (2...8).contains(r), layer.int(1, 0) == 0 else { throw refuse("only PyTorch's pixel shuffle by 2…8 is run") }
                op = .pixelShuffle(r)
            case "Pooling":
                guard layer.int(0, 0) == 1, layer.int(4, 0) == 1 else { throw refuse("only global average pooling is run") }
                op = .globalAveragePool
            case "Crop":
                if layer.bottoms.count == 2 {
                    op = .cropLike(top: layer.int(1, 0), left: layer.int(0, 0))
                } else {
                    let (starts, ends, axes) = (layer.array(9), layer.array(10), layer.array(11))
                    // Axes of a 3-D (c, h, w) blob: h is 1 or −2, w is 2 or −1.
                    guard starts.count == 2, ends.count == 2, axes.map(Int.init) == [-2, -1] || axes.map(Int.init) == [1, 2],
                          starts.allSatisfy({ $0 >= 0 }), ends.allSatisfy({ $0 < 0 }) else {
                        throw refuse("only a crop of height and width by margins (starts ≥ 0, ends < 0) is run")
                    }
                    op = .crop(top: Int(starts[0]), left: Int(starts[1]), bottom: -Int(ends[0]), right: -Int(ends[1]))
                }
            default: throw refuse("not run")
            }
            nodes.append(Node(op: op, inputs: layer.bottoms.map(blob), outputs: layer.tops.map(blob)))
        }
        guard let input else { throw FileError(path, "has no Input layer") }
        let read = Set(nodes.flatMap(\.inputs))
        let ends = Set(nodes.flatMap(\.outputs)).subtracting(read)
        guard ends.count == 1, let output = ends.first else { throw FileError(path, "has \(ends.count) unread outputs; Hone runs graphs with one") }
        // Free each blob after the last node that reads it.
        var lastReader: [Int: Int] = [:]
        for (i, node) in nodes.enumerated() { for b in node.inputs { lastReader[b] = i } }
        for (b, i) in lastReader where b != output { nodes[i].last.append(b) }
        guard (1...4).contains(scale), (0...64).contains(prepadding) else { throw FileError(path, "scale \(scale) and prepadding \(prepadding) must be 1…4 and 0…64") }
        (self.weights, self.nodes, self.input, self.output, self.scale, self.prepadding) = (weights, nodes, input, output, scale, prepadding)
        let extent = Self.extents(nodes, weights: weights, input: input, output: output)
        // The true reach of deep graphs (RealSR: over 350 pixels) would make tiles mostly overlap; outer
        // weights add little, as for RRDBNet's 24 (`testTiledX4plusStaysCloseToTheWholeImage`), so it is capped at 32.
        receptiveRadius = Int(min(extent.reach, 32).rounded(.up)) + prepadding + 2
        activationBytesPerPixel = 3 * extent.bytesPerPixel
        poolingPitches = extent.poolingPitches
        // The least multiple of the input's sides for which every layer's sides agree and the output is
        // `scale` × the input (Real-CUGAN ×3: 4; waifu2x cunet, whose crops floor odd sides: 2), tried on three sides of each.
        alignment = (0...5).map { 1 << $0 }.first { a in
            (1...3).allSatisfy { m in Self.side(nodes, weights: weights, input: input, output: output, 64 + a * m + 2 * prepadding) == scale * (64 + a * m) }
        } ?? 1
        var config = ModelConfig(architecture: .ncnn, channels: 1, blocks: 0, activation: .relu, unet: false)
        config.ncnn = NCNNSpec(param: model.param, prepadding: prepadding)
        self.config = config
    }

    /// How far the output reaches into the input (input pixels), the most bytes one blob holds per
    /// input pixel, and the pixel pitch (in input pixels) of what each pooling layer pools: each blob's
    /// reach, pitch and channels followed through the graph.
    static func extents(_ nodes: [Node], weights: [Tensor], input: Int, output: Int) -> (reach: Double, bytesPerPixel: Int, poolingPitches: [Double]) {
        struct Extent { var reach = 0.0, pitch = 1.0, channels = 3, pooled = false }
        var blobs: [Int: Extent] = [input: Extent()]
        var widest = 0.0, poolingPitches: [Double] = []
        for node in nodes {
            let ins = node.inputs.map { blobs[$0] ?? Extent() }
            var e = ins.first ?? Extent()
            e.reach = ins.map(\.reach).max() ?? 0
            switch node.op {
            case let .convolution(w, _, stride, _, _):
                e.reach += Double(weights[w].shape[2] / 2) * e.pitch
                e.pitch *= Double(stride)
                e.channels = weights[w].shape[0]
            case let .deconvolution(w, _, stride, _, _, _):
                e.pitch /= Double(stride)
                e.reach += Double(weights[w].shape[2] / 2) * e.pitch
                e.channels = weights[w].shape[1]
            case let .innerProduct(w, _, _): e.channels = weights[w].shape[0]
            case let .upsample(nearest, factor):
                if !nearest { e.reach += e.pitch }
                e.pitch /= Double(factor)
            case .pixelShuffle(let r):
                e.pitch /= Double(r)
                e.channels /= r * r
            case .concat: e.channels = ins.map(\.channels).reduce(0, +)
            case .globalAveragePool:
                poolingPitches.append(e.pitch)
                e.pooled = true
            default: break
            }
            if !e.pooled { widest = max(widest, Double(e.channels) / (e.pitch * e.pitch)) }
            for o in node.outputs { blobs[o] = e }
        }
        return (blobs[output]?.reach ?? 0, Int(4 * widest), poolingPitches)
    }

    /// The output side for a square input of side `n`, following each layer's size arithmetic; nil where a
    /// layer's inputs would disagree (a U-Net's skip and its upsampled path) or a side would vanish.
    static func side(_ nodes: [Node], weights: [Tensor], input: Int, output: Int, _ n: Int) -> Int? {
        var sides: [Int: Int] = [input: n]  // 0: pooled to one pixel, which broadcasts
        for node in nodes {
            let ins = node.inputs.compactMap { sides[$0] }
            guard ins.count == node.inputs.count, let first = ins.first else { return nil }
            var out = first
            switch node.op {
            case let .convolution(w, _, stride, padding, _):
                let k = weights[w].shape[2]
                guard first + 2 * padding >= k else { return nil }
                out = (first + 2 * padding - k) / stride + 1
            case let .deconvolution(w, _, stride, padding, outputPadding, _): out = (first - 1) * stride - 2 * padding + weights[w].shape[2] + outputPadding
            case let .upsample(_, factor): out = first * factor
            case .pixelShuffle(let r): out = first * r
            case let .crop(top, _, bottom, _): out = first - top - bottom
            case let .cropLike(top, _):
                guard ins[1] + top <= first else { return nil }
                out = ins[1]
            case .globalAveragePool:
                for o in node.outputs { sides[o] = 0 }
                continue
            case .sum, .product, .difference, .concat:
                let spatial = ins.filter { $0 != 0 }
                guard Set(spatial).count <= 1 else { return nil }
                out = spatial.first ?? 0
            default: break
            }
            guard first == 0 || out > 0 else { return nil }
            for o in node.outputs { sides[o] = out }
        }
        return sides[output]
    }

    /// The graph on `x` as it is, already padded: [n, c, h, w] → the output blob. The first
    /// `means.count` pooling layers give `means` ([1, c, 1, 1] each) instead of their own input's means;
    /// with `stopAtPooling`, the blob pooling layer `means.count` would pool is returned instead of the output.
    /// - Throws: `ShapeError` where a layer's inputs do not fit it.
    public func run(_ x: Tensor, means: [Tensor] = [], stopAtPooling: Bool = false) throws -> Tensor {
        var pooled = 0
        var blobs = [Tensor?](repeating: nil, count: nodes.reduce(input + 1) { max($0, ($1.inputs + $1.outputs).max().map { $0 + 1 } ?? 0) })
        blobs[input] = x
        for node in nodes {
            let xs = try node.inputs.map { i in
                guard let t = blobs[i] else { throw ShapeError("ncnn graph: a layer reads a blob no earlier layer wrote") }
                return t
            }
            let y: Tensor
            switch node.op {
            case .split:
                for o in node.outputs { blobs[o] = xs[0] }
                for b in node.last { blobs[b] = nil }
                continue
            case let .convolution(w, b, stride, padding, activation):
                y = try activation(try conv2d(xs[0], weights[w], b.map { weights[$0] }, stride: stride, padding: padding))
            case let .deconvolution(w, b, stride, padding, 0, activation):
                y = try activation(try deconv2d(xs[0], weights[w], b.map { weights[$0] }, stride: stride, padding: padding))
            case let .deconvolution(w, b, stride, padding, outputPadding, activation):
                // The full result, cut by the padding at the top and left and by padding − output padding at the bottom and right.
                let full = try deconv2d(xs[0], weights[w], b.map { weights[$0] }, stride: stride, padding: 0)
                let (h, w) = (full.shape[2] - 2 * padding + outputPadding, full.shape[3] - 2 * padding + outputPadding)
                y = try activation(try cropSpatial(full, top: padding, left: padding, height: h, width: w))
            case let .innerProduct(w, b, activation):
                guard xs[0].shape.count == 4, xs[0].shape[2] == 1, xs[0].shape[3] == 1 else {
                    throw ShapeError("ncnn graph: InnerProduct on \(xs[0].shape); Hone runs it after global pooling ([n, c, 1, 1])")
                }
                y = try activation(try conv2d(xs[0], weights[w], b.map { weights[$0] }))
            case .prelu(let slope) where weights[slope].count == 1 && xs[0].shape[1] != 1:
                // One slope for every channel (ncnn's num_slope 1, PyTorch's nn.PReLU()): relu(x) − a·relu(−x).
                y = try sub(relu(xs[0]), try mul(relu(Autograd.scale(xs[0], -1)), weights[slope]))
            case .prelu(let slope): y = try prelu(xs[0], weights[slope])
            case .activation(let f): y = try f(xs[0])
            case .sum(let coefficients):
                var total = coefficients[0] == 1 ? xs[0] : Autograd.scale(xs[0], coefficients[0])
                for (t, c) in zip(xs.dropFirst(), coefficients.dropFirst()) { total = try add(total, c == 1 ? t : Autograd.scale(t, c)) }
                y = total
            case .product: y = try mul(xs[0], xs[1])
            case .difference: y = try sub(xs[0], xs[1])
            case let .scalar(addend, factor):
                let scaled = factor == 1 ? xs[0] : Autograd.scale(xs[0], factor)
                y = addend == 0 ? scaled : try add(scaled, try Tensor(shape: [1], values: [addend]))
            case .concat: y = try concat(xs)
            case let .upsample(nearest, factor): y = nearest ? try upsampleNearest(xs[0], scale: factor) : try upsampleBilinear(xs[0], scale: factor)
            case .pixelShuffle(let r): y = try pixelShuffle(xs[0], r)
            case let .crop(top, left, bottom, right):
                y = try cropSpatial(xs[0], top: top, left: left, height: xs[0].shape[2] - top - bottom, width: xs[0].shape[3] - left - right)
            case let .cropLike(top, left):
                y = try cropSpatial(xs[0], top: top, left: left, height: xs[1].shape[2], width: xs[1].shape[3])
            case .globalAveragePool:
                if pooled == means.count && stopAtPooling { return xs[0] }
                y = pooled < means.count ? means[pooled] : try globalAveragePool(xs[0])
                pooled += 1
            }
            blobs[node.outputs[0]] = y
            for b in node.last { blobs[b] = nil }
        }
        guard let y = blobs[output] else { throw ShapeError("ncnn graph: the output blob was never written") }
        return y
    }

    /// [n, 3, h, w] in [0, 1] → [n, 3, h·scale, w·scale]: the input padded by `prepadding`, and at the
    /// bottom and right to a multiple of `alignment` (mirrored, as Real-CUGAN's reference code pads),
    /// then the graph, its output cut to the input's size × scale.
    /// - Throws: `ShapeError` when the graph's output is not `scale` × the padded input, or the input is
    ///   not larger than the padding it mirrors.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try self(x, means: []) }

    /// As `callAsFunction(_:)`, with the first `means.count` pooling layers given the whole picture's
    /// means (`run(_:means:)`): a tile of a picture computes what the whole picture computes there.
    public func callAsFunction(_ x: Tensor, means: [Tensor]) throws -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        let y = try run(try padded(x), means: means)
        let (extraH, extraW) = ((alignment - h % alignment) % alignment, (alignment - w % alignment) % alignment)
        guard y.shape[2] == (h + extraH) * scale, y.shape[3] == (w + extraW) * scale else {
            throw ShapeError("ncnn graph: \(x.shape) gave \(y.shape), not ×\(scale) (is its prepadding \(prepadding)?)")
        }
        return try cropSpatial(y, height: h * scale, width: w * scale)
    }

    /// The blob [n, c, bh, bw] that pooling layer `means.count` pools when the graph runs on `x` (padded as
    /// `callAsFunction` pads it) with the earlier pooling layers given `means`; and the padded input's height and width.
    /// - Throws: `ShapeError` where a layer's inputs do not fit it, or when `means` already covers every pooling layer.
    public func poolingInput(_ x: Tensor, means: [Tensor]) throws -> (blob: Tensor, height: Int, width: Int) {
        guard means.count < poolingLayers else { throw ShapeError("ncnn graph: \(means.count) means given for \(poolingLayers) pooling layers") }
        let input = try padded(x)
        return (try run(input, means: means, stopAtPooling: true), input.shape[2], input.shape[3])
    }

    /// `x` padded by `prepadding` (mirrored), and at the bottom and right to a multiple of `alignment`.
    private func padded(_ x: Tensor) throws -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        let (extraH, extraW) = ((alignment - h % alignment) % alignment, (alignment - w % alignment) % alignment)
        return try reflectPad(x, top: prepadding, bottom: prepadding + extraH, left: prepadding, right: prepadding + extraW)
    }
}
