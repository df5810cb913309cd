import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import XCTest

/// Writes small ncnn models the way ncnn's converters do: a .param line per
/// layer, weights in layer order (convolution weights tagged fp16 or fp32, biases and slopes raw).
struct NCNNWriter {
    var lines: [String] = []
    var bin = Data()
    var rng = SeededRandom(seed: 21)
    var blobs = 0
    /// Alternate weight blocks between fp16 and fp32 storage, so both are read.
    var half = true

    mutating func layer(_ kind: String, _ bottoms: [String], _ params: String = "", tops: Int = 1) -> [String] {
        let outs = (0..<tops).map { _ in blobs += 1; return "b\(blobs)" }
        lines.append("\(kind) \(kind.lowercased())_\(lines.count) \(bottoms.count) \(outs.count) \((bottoms + outs).joined(separator: " ")) \(params)")
        return outs
    }

    mutating func raw(_ values: [Float]) { for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bin.append(contentsOf: $0) } } }

    mutating func conv(_ x: String, _ cin: Int, _ cout: Int, leaky: Bool = false) -> String {
        let n = cout * cin * 9
        let bound = 1 / Float(cin * 9).squareRoot()  // PyTorch's initial range: outputs stay near the inputs' size
        let weights = (0..<n).map { _ in rng.uniform(-bound, bound) }
        if half {
            withUnsafeBytes(of: UInt32(0x0130_6B47).littleEndian) { bin.append(contentsOf: $0) }
            for v in weights { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bin.append(contentsOf: $0) } }
            if n % 2 == 1 { bin.append(contentsOf: [0, 0]) }
        } else {
            bin.append(contentsOf: [0, 0, 0, 0])  // the tag of raw Float32s
            raw(weights)
        }
        half.toggle()
        raw((0..<cout).map { _ in rng.uniform(-0.1, 0.1) })
        return layer("Convolution", [x], "0=\(cout) 1=3 4=1 5=1 6=\(n)" + (leaky ? " 9=2 -23310=1,2.000000e-01" : ""))[0]
    }

    mutating func prelu(_ x: String, _ c: Int) -> String {
        raw((0..<c).map { _ in rng.uniform(0, 0.5) })
        return layer("PReLU", [x], "0=\(c)")[0]
    }

    /// SRVGGNetCompact: `convs` body convs, ×r shuffle, optionally resized by `resize`.
    static func compact(channels c: Int, convs: Int, r: Int, resize: Float? = nil) -> NCNNWriter {
        var w = NCNNWriter()
        let input = w.layer("Input", [], "0=0 1=0 2=3")[0]
        let split = w.layer("Split", [input], tops: 2)
        var h = w.prelu(w.conv(split[0], 3, c), c)
        for _ in 0..<convs { h = w.prelu(w.conv(h, c, c), c) }
        let shuffled = w.layer("PixelShuffle", [w.conv(h, c, 3 * r * r)], "0=\(r)")[0]
        let near = w.layer("Interp", [split[1]], "0=1 1=\(r).000000e+00 2=\(r).000000e+00")[0]
        let sum = w.layer("BinaryOp", [shuffled, near], "0=0")[0]
        if let resize { _ = w.layer("Interp", [sum], "0=3 1=\(resize) 2=\(resize)") }
        return w
    }

    /// RRDBNet with `blocks` RRDBs of `c` channels (growth 32), wired as Real-ESRGAN's export.
    static func rrdb(channels c: Int, blocks: Int) -> NCNNWriter {
        var w = NCNNWriter()
        let input = w.layer("Input", [], "0=0 1=0 2=3")[0]
        let head = w.conv(input, 3, c)
        var h = head
        for _ in 0..<blocks {
            let blockInput = h
            for _ in 0..<3 {
                var features = [h]
                for i in 0..<5 {
                    let joined = i == 0 ? h : w.layer("Concat", features, "0=0")[0]
                    features.append(w.conv(joined, c + i * 32, i == 4 ? c : 32, leaky: i < 4))
                }
                h = w.layer("Eltwise", [features.last!, h], "0=1 -23301=2,2.000000e-01,1.000000e+00")[0]
            }
            h = w.layer("Eltwise", [h, blockInput], "0=1 -23301=2,2.000000e-01,1.000000e+00")[0]
        }
        h = w.layer("BinaryOp", [head, w.conv(h, c, c)], "0=0")[0]
        for _ in 0..<2 { h = w.conv(w.layer("Interp", [h], "0=1 1=2.000000e+00 2=2.000000e+00")[0], c, c, leaky: true) }
        _ = w.conv(w.conv(h, c, c, leaky: true), c, 3)
        return w
    }

    /// Writes NAME.param and NAME.bin into `folder`; returns the .param's path.
    func write(_ folder: String, _ name: String) throws -> String {
        let param = "\(folder)/\(name).param"
        try ("7767517\n\(lines.count) \(blobs)\n" + lines.joined(separator: "\n") + "\n").write(toFile: param, atomically: true, encoding: .utf8)
        try bin.write(to: URL(fileURLWithPath: "\(folder)/\(name).bin"))
        return param
    }
}

final class ImportTests: XCTestCase {
    /// A folder for the test's files, removed when it ends.
    func scratch() throws -> String {
        let folder = try Media.temporaryFolder("ncnn").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    func load(_ param: String) throws -> any UpscalingNetwork {
        try NCNNModel.load(param: param, bin: String(param.dropLast(6)) + ".bin").network()
    }

    /// The imported network is the graph: checked against the graph's own layers run one by one.
    func testHandMadeCompactFileImportsAsItsGraph() throws {
        let folder = try scratch()
        let path = try NCNNWriter.compact(channels: 4, convs: 1, r: 4, resize: 0.75).write(folder, "tiny")
        let net = try load(path)
        XCTAssert(net is SRVGGNetCompact)
        XCTAssertEqual(net.scale, 3)
        XCTAssertEqual(net.config, ModelConfig(architecture: .compact, channels: 4, blocks: 1, activation: .prelu, unet: false, networkScale: 4))

        let graph = try NCNNModel.load(param: path, bin: folder + "/tiny.bin")
        var rng = SeededRandom(seed: 5)
        let x = Tensor.uniform([1, 3, 7, 9], rng: &rng)
        var blobs: [String: Tensor] = [:]
        for layer in graph.layers {
            let ins = layer.bottoms.map { blobs[$0]! }
            let out: [Tensor] = switch layer.kind {
            case "Input": [x]
            case "Split": layer.tops.map { _ in ins[0] }
            case "Convolution": [try conv2d(ins[0], layer.blobs[0], layer.blobs[1], padding: 1)]
            case "PReLU": [try prelu(ins[0], layer.blobs[0])]
            case "PixelShuffle": [try pixelShuffle(ins[0], layer.int(0, 0))]
            case "BinaryOp": [try add(ins[0], ins[1])]
            case "Interp" where layer.int(0, 0) == 1: [try upsampleNearest(ins[0], scale: Int(layer.float(1, 0)))]
            default: [try interpolateBicubic(ins[0], height: Int(Float(7) * 4 * layer.float(1, 0)), width: Int(Float(9) * 4 * layer.float(2, 0)))]
            }
            for (top, t) in zip(layer.tops, out) { blobs[top] = t }
        }
        let expected = blobs[graph.layers.last!.tops[0]]!, ours = try net(x)
        XCTAssertEqual(ours.shape, [1, 3, 21, 27])
        for i in 0..<ours.count { XCTAssertEqual(ours.data[i], expected.data[i], accuracy: 1e-5) }
    }

    func testRRDBFileImportsWithItsShape() throws {
        let folder = try scratch()
        let net = try load(try NCNNWriter.rrdb(channels: 8, blocks: 2).write(folder, "rrdb"))
        XCTAssert(net is RRDBNet)
        XCTAssertEqual(net.config, ModelConfig(architecture: .rrdb, channels: 8, blocks: 2, activation: .leakyRelu, unet: false))
        var rng = SeededRandom(seed: 6)
        XCTAssertEqual(try net(Tensor.uniform([1, 3, 5, 6], rng: &rng)).shape, [1, 3, 20, 24])
    }

    /// Damaged or foreign files get one line naming the file, and the layer where there is one.
    func testBadFilesNameTheFileAndTheLayer() throws {
        let folder = try scratch()
        let good = NCNNWriter.compact(channels: 4, convs: 1, r: 2)
        func message(_ change: (inout NCNNWriter) -> Void) throws -> String {
            var w = good
            change(&w)
            let path = try w.write(folder, "bad")
            do { _ = try load(path); return "" } catch let error as FileError { return "\(error)" }
        }
        let foreign = try message { $0.lines[2] = $0.lines[2].replacingOccurrences(of: "Convolution", with: "Softmax") }
        XCTAssert(foreign.contains("bad.param") && foreign.contains("convolution_2") && foreign.contains("Softmax"), foreign)
        let truncated = try message { $0.bin = $0.bin.prefix(100) }
        XCTAssert(truncated.contains("bad.bin") && truncated.contains("ends inside layer"), truncated)
        let longer = try message { $0.bin.append(contentsOf: [0, 0, 0, 0]) }
        XCTAssert(longer.contains("bad.bin") && longer.contains("do not belong together"), longer)
        let rewired = try message { $0.lines[3] = $0.lines[3].replacingOccurrences(of: " b4 ", with: " b1 ") }
        XCTAssert(rewired.contains("bad.param") && rewired.contains("prelu_3") && rewired.contains("reads"), rewired)
        let notNCNN = try message { $0.lines.insert("garbage", at: 0) }
        XCTAssert(notNCNN.contains("bad.param"), notNCNN)
    }

    /// Hone's outputs against the PyTorch twin (bench/realesrgan_twin.py, which reads the
    /// ncnn files itself) on hand-made files, and on Real-ESRGAN's own once fetched.
    func testImportedNetworksMatchPyTorch() throws {
        guard (try? Media.run("/usr/bin/python3", ["-c", "import torch"])) != nil else {
            throw XCTSkip("no PyTorch (Debian's python3-torch): the twin reference cannot run")
        }
        let folder = try scratch()
        var params = [try NCNNWriter.compact(channels: 8, convs: 2, r: 4, resize: 0.5).write(folder, "compact"),
                      try NCNNWriter.rrdb(channels: 8, blocks: 1).write(folder, "rrdb")]
        // Real-ESRGAN's own files, fetched once into the cache (a failed download leaves them out, with a note).
        for model in NamedModel.realESRGAN {
            do { _ = try model.checkpoint(RecordingObserver()); params.append(model.ncnnFiles.param) } catch { print("note: \(model.name) left out: \(error)") }
        }
        var rng = SeededRandom(seed: 8)
        let (h, w) = (12, 10)
        let x = Tensor.uniform([1, 3, h, w], rng: &rng)
        try Data(buffer: UnsafeBufferPointer(start: x.data, count: x.count)).write(to: URL(fileURLWithPath: folder + "/x.f32"))
        let twin = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../bench/realesrgan_twin.py").path
        for param in params {
            let net = try load(param)
            let ours = try net(x)
            _ = try Media.run("/usr/bin/python3", [twin, "run", param, folder + "/x.f32", "\(h)", "\(w)", folder + "/y.f32"])
            let theirs = try Data(contentsOf: URL(fileURLWithPath: folder + "/y.f32"))
            XCTAssertEqual(theirs.count, 4 * ours.count, param)
            var worst: Float = 0
            theirs.withUnsafeBytes { t in for i in 0..<min(ours.count, theirs.count / 4) { worst = max(worst, abs(ours.data[i] - t.load(fromByteOffset: 4 * i, as: Float.self))) } }
            XCTAssertLessThan(worst, 1e-3, "\(param): largest difference from PyTorch \(worst)")
            print("\(URL(fileURLWithPath: param).lastPathComponent): largest difference from PyTorch \(worst)")
        }
    }

    /// Fine-tuning from an imported network keeps its architecture and scale, and
    /// starts from its weights (the first validation's "start" is the import's own output).
    func testFineTuningStartsFromAnImportedNetwork() throws {
        let folder = try scratch()
        let param = try NCNNWriter.compact(channels: 4, convs: 1, r: 4, resize: 0.75).write(folder, "tiny")
        let imported = folder + "/tiny.safetensors"
        try NamedModel.importModel(param: param, bin: folder + "/tiny.bin", to: imported, source: param)
        var job = FinetuneJob(video: try Media.clip(folder + "/clip.mp4", seconds: 1, size: "192x144", rate: 8))
        (job.output, job.epochs, job.start) = (folder + "/tuned.ckpt", 1, .checkpoint(imported))
        let config = folder + "/small.yaml"
        try (try String(contentsOfFile: Media.projectRoot.appendingPathComponent("configs/default.yaml").path, encoding: .utf8))
            .replacingOccurrences(of: "batch: 16", with: "batch: 2").write(toFile: config, atomically: true, encoding: .utf8)
        job.settings.config = config
        let run = try job.run(RecordingObserver())
        XCTAssertEqual(run.record.scale, 3)
        XCTAssertEqual(run.record.config.model.layout, .compact)
        let (tuned, _) = try loadNetwork(checkpoint: folder + "/tuned.ckpt")
        XCTAssert(tuned is SRVGGNetCompact)
    }

    /// RRDBNet's tiles overlap by 24 input pixels, not its full reach (over 350): tiled
    /// x4plus output stays close to the whole image's, and differs only near seams.
    func testTiledX4plusStaysCloseToTheWholeImage() throws {
        guard let model = NamedModel.named("realesrgan-x4plus"), FileManager.default.fileExists(atPath: model.checkpointPath) else {
            throw XCTSkip("realesrgan-x4plus is not imported (hone models --fetch)")
        }
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        let net = try loadNetwork(checkpoint: model.checkpointPath).0
        let x = try Media.decodeRGB(shared.appendingPathComponent("sr/Set5/x2/img_001_SRF_2_LR.png").path, width: 256, height: 256)[0]
        let whole = try Grad.disabled { try net(x) }
        let tiled = try TiledUpscaler(net, maxPixels: 128 * 128)(x)  // four tiles
        var worst: Float = 0, total: Float = 0
        for i in 0..<whole.count { let d = abs(whole.data[i] - tiled.data[i]); worst = max(worst, d); total += d }
        print("x4plus in four tiles against whole: largest difference \(worst * 255) levels, mean \(total / Float(whole.count) * 255)")
        XCTAssertLessThan(total / Float(whole.count), 0.3 / 255)
        XCTAssertLessThan(worst, 32 / 255)
    }
}
