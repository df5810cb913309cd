import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// The networks and their files: shapes, the bicubic start, checkpoints, VGG16's weights, tiling.
final class NetworksTests: ScratchFolderTestCase {
    func testShippedConfigsBuildModelsOfTheirSize() throws {
        let sizes = try ["fast", "default", "quality"].map { try makeNetwork(config($0).model, scale: 2).parameterCount }
        XCTAssertEqual(sizes, [21_763, 219_003, 3_694_595], "the README quotes these")
        XCTAssert((100_000...300_000).contains(sizes[1]), "default has \(sizes[1]) parameters")
    }

    /// The fast tier's shipped weights are the fast config's network, a fine-tune of that config starts
    /// from them, and they beat bicubic on a generated clip's frames shrunk ×2.
    func testTheFastTierLoadsAndBeatsBicubic() throws {
        let path = Self.root.appendingPathComponent("checkpoints/base-x2-fast.safetensors").path
        let (model, record) = try loadNetwork(checkpoint: path)
        XCTAssertEqual(record.config.model, try config("fast").model)
        XCTAssertEqual(StartingModel.shipped.resolved(scale: 2, config: try config("fast")), .checkpoint(path))
        let frames = try Media.decodeRGB(try Media.clip(self.path("clip.mp4"), seconds: 1, size: "192x128", rate: 5), width: 192, height: 128)
        var (gain, count) = (0.0, 0)
        for frame in frames {
            let small = try resizeBicubic(frame, .down(2))
            let (sr, bicubic) = (try Grad.disabled { try model(small) }, try resizeBicubic(small, .up(2)))
            gain += Metrics.psnrY(sr, frame, border: 2) - Metrics.psnrY(bicubic, frame, border: 2)
            count += 1
        }
        XCTAssertGreaterThan(gain / Double(count), 0.5, "dB over bicubic")
    }

    func testUntrainedModelIsBicubicAndShapesAreRight() throws {
        var rng = SeededRandom(seed: 1)
        let x = Tensor.uniform([2, 3, 12, 10], rng: &rng)
        for (name, scale) in [("default", 2), ("default", 3), ("quality", 4), ("fast", 4)] {
            let net = try makeNetwork(try config(name).model, scale: scale)
            let y = try Grad.disabled { try net(x) }
            XCTAssertEqual(y.shape, [2, 3, 12 * scale, 10 * scale])
            XCTAssertEqual(y.array, try resizeBicubic(x, .up(scale)).array, "\(name) ×\(scale)")
        }
    }

    func testCheckpointRoundTripIsBitIdentical() throws {
        let net = try makeNetwork(try config("default").model, scale: 2, seed: 7)
        for (_, t) in net.namedTensors() { for i in 0..<t.count { t.data[i] = Float(i % 97) * 0.013 - 0.5 } }
        try Checkpoint(tensors: net.namedTensors(), metadata: ["note": "test"]).save(to: path("c.bin"))
        let loaded = try Checkpoint.load(path("c.bin"))
        XCTAssertEqual(loaded.metadata["note"], "test")
        let other = try makeNetwork(try config("default").model, scale: 2, seed: 8)
        try loaded.load(into: other, path: path("c.bin"))
        for ((n1, a), (n2, b)) in zip(net.namedTensors(), other.namedTensors()) {
            XCTAssertEqual(n1, n2)
            XCTAssertEqual(a.array, b.array, n1)
        }
    }

    func testCorruptOrTruncatedCheckpointsGiveClearErrors() throws {
        let net = try makeNetwork(try config("fast").model, scale: 2)
        try Checkpoint(tensors: net.namedTensors()).save(to: path("ok.bin"))
        let data = try Data(contentsOf: URL(fileURLWithPath: path("ok.bin")))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path("short.bin")))
        try Data("garbage!garbage!".utf8).write(to: URL(fileURLWithPath: path("junk.bin")))
        try Data([1, 2]).write(to: URL(fileURLWithPath: path("tiny.bin")))
        for (name, words) in [("short.bin", "truncated"), ("junk.bin", "not a checkpoint"), ("tiny.bin", "not a checkpoint"),
                              ("missing.bin", "no such checkpoint")] {
            XCTAssertThrowsError(try Checkpoint.load(path(name))) { e in
                XCTAssert("\(e)".contains(name) && "\(e)".contains(words), "\(e)")
            }
        }
        let wrong = try makeNetwork(try config("default").model, scale: 2)
        XCTAssertThrowsError(try Checkpoint.load(path("ok.bin")).load(into: wrong, path: path("ok.bin"))) { e in
            XCTAssert("\(e)".contains("shape"), "\(e)")
        }
    }

    func testCheckpointReadsInPythonSafetensorsWhenInstalled() throws {
        guard (try? Media.run("python3", ["-c", "import safetensors.numpy"])) != nil else {
            throw XCTSkip("Python's safetensors package is not installed")
        }
        let net = try makeNetwork(try config("fast").model, scale: 2)
        try Checkpoint(tensors: net.namedTensors(), metadata: ["scale": "2"]).save(to: path("py.bin"))
        let out = try Media.run("python3", ["-c", "import safetensors.numpy as s; d = s.load_file('\(path("py.bin"))'); print(len(d), d['head.weight'].shape)"])
        XCTAssertEqual(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                       "\(net.namedTensors().count) (16, 3, 3, 3)")
    }

    /// All 13 layers have torchvision's VGG16 shapes, and activations match
    /// values computed with plain numpy by scripts/convert-vgg16.py from the same file.
    func testVGG16WeightsAndReferenceActivations() throws {
        guard FileManager.default.fileExists(atPath: VGG16.defaultPath) else {
            throw XCTSkip("VGG16 weights not fetched; `make setup` does it")
        }
        let vgg = try VGG16()
        let widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
        let shapes = vgg.namedTensors().filter { $0.name.hasSuffix("weight") }.map(\.tensor.shape)
        XCTAssertEqual(shapes, zip([3] + widths.dropLast(), widths).map { [$1, $0, 3, 3] })
        let x = Tensor(shape: [1, 3, 24, 24])
        for c in 0..<3 { for y in 0..<24 { for i in 0..<24 { x.data[(c * 24 + y) * 24 + i] = Float((c * 7 + y * 3 + i * 5) % 17) / 16 } } }
        let features = try Grad.disabled { try vgg.features(x, [.relu1_2, .relu2_2, .relu3_3]) }
        let refs = try JSONSerialization.jsonObject(with: Data(vgg.metadata["reference_activations"]!.utf8)) as! [String: [String: Double]]
        for (layer, t) in features {
            let mean = t.array.reduce(0.0) { $0 + Double($1) } / Double(t.count)
            let max = Double(t.array.max()!)
            XCTAssertEqual(mean, refs[layer.rawValue]!["mean"]!, accuracy: 1e-4 * abs(mean) + 1e-5, layer.rawValue)
            XCTAssertEqual(max, refs[layer.rawValue]!["max"]!, accuracy: 1e-4 * max, layer.rawValue)
        }
    }

    /// Tiles overlap by the receptive field, so tiling changes nothing.
    func testTiledUpscaleEqualsWholeImage() throws {
        for unet in [false, true] {
            let name = unet ? "U-Net" : "plain"
            let net = try makeNetwork(ModelConfig(channels: 8, blocks: 3, activation: .prelu, unet: unet), scale: 2, seed: 3)
            var rng = SeededRandom(seed: 4)
            for (_, t) in net.namedTensors() { for i in 0..<t.count { t.data[i] = rng.uniform(-0.1, 0.1) } }
            let image = Tensor.uniform([1, 3, 91, 113], rng: &rng)  // larger than a tile plus margins, odd sides
            let whole = try Grad.disabled { try net(image) }
            let upscaler = TiledUpscaler(net, maxPixels: 24 * 24, batch: 3)
            let grid = upscaler.grid(height: 91, width: 113, overlap: net.receptiveRadius)
            XCTAssertGreaterThan(grid.rows * grid.cols, 4, "the test must exercise tiling")
            let tiled = try upscaler(image)
            XCTAssertEqual(tiled.shape, whole.shape)
            var worst: Float = 0, size: Float = 0
            for i in 0..<whole.count { worst = max(worst, abs(tiled.data[i] - whole.data[i])); size = max(size, abs(whole.data[i])) }
            XCTAssertLessThan(worst, 1e-5 * size, "\(name): outputs up to \(size)")
        }
    }
}
