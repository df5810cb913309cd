import Autograd
import Foundation
import SuperResolution
import TestSupport
import VideoIO
import XCTest

final class SuperResolutionTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("sr") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    func config(_ name: String) throws -> HoneConfig { try HoneConfig.load(Self.root.appendingPathComponent("configs/\(name).yaml").path) }

    func testShippedConfigsBuildModelsOfTheirSize() throws {
        let sizes = try ["fast", "default", "quality"].map { try makeNetwork(config($0).model, scale: 2).parameterCount }
        XCTAssertEqual(sizes, [21_763, 219_003, 3_694_595], "the README quotes these")
        XCTAssert((100_000...300_000).contains(sizes[1]), "default has \(sizes[1]) parameters")
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

    func testPerceptualLossGradientsReachTheModel() throws {
        guard FileManager.default.fileExists(atPath: VGG16.defaultPath) else { throw XCTSkip("VGG16 weights not fetched") }
        var cfg = try config("default").loss
        cfg.gram = 1
        let loss = try SRLoss(cfg)
        var rng = SeededRandom(seed: 2)
        let sr = Tensor.uniform([1, 3, 16, 16], rng: &rng, requiresGrad: true), hr = Tensor.uniform([1, 3, 16, 16], rng: &rng)
        let (total, terms) = try loss(sr, hr)
        try total.backward()
        XCTAssertNotNil(sr.grad)
        XCTAssertEqual(Set(terms.keys), ["pixel", "relu2_2", "relu3_3", "gram_relu2_2", "gram_relu3_3"])
    }

    /// Our metrics and bicubic reproduce the published Set5 ×2 bicubic numbers (33.66 dB, 0.9299).
    func testMetricsReproducePublishedBicubicOnSet5() throws {
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        let folder = shared.appendingPathComponent("sr/Set5/x2").path
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix("_HR.png") }.sorted()
        var psnr = 0.0, ssim = 0.0
        for name in names {
            let hr = try Still.read(folder + "/" + name)
            let lr = try Still.read(folder + "/" + name.replacingOccurrences(of: "_HR", with: "_LR"))
            let up = try resizeBicubic(lr, .up(2))
            psnr += Metrics.psnrY(up, hr, border: 2)
            ssim += Metrics.ssimY(up, hr, border: 2)
        }
        XCTAssertEqual(psnr / Double(names.count), 33.66, accuracy: 0.05, "PSNR")
        XCTAssertEqual(ssim / Double(names.count), 0.9299, accuracy: 0.003, "SSIM")
    }
}

extension SuperResolutionTests {
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

extension SuperResolutionTests {
    func testCheckpointKeepsBestWeightsAndResumesFromCurrent() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-t", "1", "-c:v", "libx264", path("t.mp4")])
        var cfg = try config("fast")
        cfg.training.patch = 32
        cfg.training.batch = 4
        cfg.loss.perceptual = [:]
        let frames = try FrameCache(video: path("t.mp4")) { _, _ in }
        let trainer = try Trainer(model: try makeNetwork(cfg.model, scale: 2), config: cfg, frames: frames, epochs: 2)
        for _ in 0..<3 { try trainer.trainStep() }
        trainer.record(Score(psnr: 30, ssim: 0.9))
        let bestWeights = trainer.model.namedTensors().map(\.tensor.array)
        for _ in 0..<3 { try trainer.trainStep() }
        let currentWeights = trainer.model.namedTensors().map(\.tensor.array)
        XCTAssertNotEqual(bestWeights, currentWeights)
        try trainer.checkpoint(metadata: [:]).save(to: path("c.ckpt"))

        let saved = try Checkpoint.load(path("c.ckpt"))
        XCTAssertEqual(trainer.model.namedTensors().map { saved[$0.name]!.array }, bestWeights)
        let again = try Trainer(model: try makeNetwork(cfg.model, scale: 2), config: cfg, frames: frames, epochs: 2)
        try again.resume(from: saved, bestScore: Score(psnr: 30, ssim: 0.9), path: path("c.ckpt"))
        XCTAssertEqual(again.step, 6)
        XCTAssertEqual(again.model.namedTensors().map(\.tensor.array), currentWeights)
        XCTAssertEqual(again.best?.weights.map(\.array), bestWeights)
    }
}

/// Pretraining: photographs of any size, the loss schedule, the shipped model.
extension SuperResolutionTests {
    func testPretrainConfigTrainsTheModelFinetuningLoads() throws {
        XCTAssertEqual(try config("pretrain").model, try config("default").model)
    }

    func testPhotographCacheKeepsEachSizeAndHalvesLargeOnes() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=70x50", "-frames:v", "1", path("a.png")])
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=300x120", "-frames:v", "1", path("b.png")])
        let cache = try FrameCache(images: [path("a.png"), path("b.png")], maxSide: 160) { _, _ in }
        XCTAssert(cache.sizes.map { [$0.width, $0.height] } == [[70, 50], [150, 60]], "\(cache.sizes)")
        let a = try Still.read(path("a.png"))
        let cached = cache.frame(0)
        XCTAssertEqual(cached.shape, a.shape)
        // 8-bit storage: within half a level of the 16-bit decode.
        XCTAssertLessThanOrEqual(zip(cached.array, a.array).map { abs($0 - $1) }.max()!, 0.5 / 255 + 1e-6)
        // Bicubic overshoots at testsrc2's hard edges; 8-bit storage clips it.
        let halved = try resizeBicubic(try Still.read(path("b.png")), .down(2)).array.map { min(max($0, 0), 1) }
        XCTAssertLessThanOrEqual(zip(cache.frame(1).array, halved).map { abs($0 - $1) }.max()!, 0.5 / 255 + 1e-6)
    }

    func testPerceptualTermsJoinAtTheirStartAndFinishedRunsSaveTheModelAlone() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "3", path("p%d.png")])
        var cfg = try config("fast")
        (cfg.training.patch, cfg.training.batch, cfg.training.validationEvery) = (32, 2, 2)
        cfg.loss.perceptual = ["relu1_2": 0.1]
        cfg.loss.perceptualStart = 0.5
        let photos = try FrameCache(images: (1...3).map { path("p\($0).png") }, maxSide: 64) { _, _ in }
        let trainer = try Trainer(model: try makeNetwork(cfg.model, scale: 2), config: cfg, frames: photos, epochs: 2, stepsPerEpoch: 2)
        var withVGG: [Bool] = []
        for _ in 0..<4 { withVGG.append(try trainer.trainStep().terms["relu1_2"] != nil) }
        XCTAssertEqual(withVGG, [false, false, true, true])
        trainer.record(Score(psnr: 30, ssim: 0.9))
        let names = trainer.checkpoint(metadata: [:]).tensors.map(\.0)
        XCTAssertEqual(names, trainer.model.namedTensors().map(\.name))
    }
}

/// LPIPS, overshoot and flicker: the measures PSNR hides.
extension SuperResolutionTests {
    /// The LPIPS of two fixed images equals scripts/lpips-reference.py's, plain numpy from the same weights file.
    func testLPIPSMatchesNumpyReference() throws {
        guard FileManager.default.fileExists(atPath: VGG16.defaultPath) else { throw XCTSkip("VGG16 weights not fetched; `make setup` does it") }
        let script = Self.root.appendingPathComponent("scripts/lpips-reference.py").path
        let reference = Double(String(decoding: try Media.run("python3", [script, VGG16.defaultPath]), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        let (a, b) = (Tensor(shape: [1, 3, 32, 32]), Tensor(shape: [1, 3, 32, 32]))
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
            let i = (c * 32 + y) * 32 + x
            a.data[i] = Float((c * 7 + y * 3 + x * 5) % 17) / 16
            b.data[i] = a.data[i] + Float((c + 2 * y + 3 * x) % 5 - 2) / 10
        }}}
        let lpips = try LPIPS()
        XCTAssertEqual(try lpips(a, b), reference, accuracy: 1e-4 * reference)
        XCTAssertEqual(try lpips(a, a), 0)
    }

    /// Sharpening halos count as overshoot; the truth and a blur barely do.
    func testOvershootSeesHalosNotBlur() throws {
        let (h, w) = (32, 32)
        let truth = Tensor(shape: [1, 3, h, w])
        let blurred = Tensor(shape: [1, 3, h, w]), sharpened = Tensor(shape: [1, 3, h, w])
        for p in 0..<(3 * h * w) {
            let x = Float(p % w) - Float(w) / 2 + 0.5
            truth.data[p] = x < 0 ? 0.2 : 0.8
            blurred.data[p] = 0.2 + 0.6 / (1 + exp(-1.7 * x))  // a step blurred by about one pixel
            sharpened.data[p] = truth.data[p] + 1.5 * (truth.data[p] - blurred.data[p])  // unsharp mask
        }
        XCTAssertEqual(Quality.overshoot(truth, reference: truth, border: 2, radius: 2).p99, 0)
        let halo = Quality.overshoot(sharpened, reference: truth, border: 2, radius: 2)
        let blur = Quality.overshoot(blurred, reference: truth, border: 2, radius: 2)
        XCTAssertGreaterThan(halo.p99, 20)
        XCTAssertGreaterThan(halo.mean, 10 * blur.mean)
        // A 3×3 window also counts the blur's tails: not a halo measure.
        let narrowBlur = Quality.overshoot(blurred, reference: truth, border: 2, radius: 1)
        XCTAssertGreaterThan(narrowBlur.mean, 0.1 * Quality.overshoot(sharpened, reference: truth, border: 2, radius: 1).mean)
    }

    func testFlickerIsZeroForTheTruthAndGrowsWithFrameNoise() throws {
        var rng = SeededRandom(seed: 3)
        let f0 = Tensor.uniform([1, 3, 24, 24], rng: &rng), f1 = Tensor.uniform([1, 3, 24, 24], rng: &rng)
        XCTAssertEqual(Quality.flicker((f0, f1), truth: (f0, f1), border: 2), 0)
        let noisy = f1.detached()
        for i in 0..<noisy.count { noisy.data[i] = min(1, max(0, noisy.data[i] + 0.02 * rng.normal())) }
        XCTAssertGreaterThan(Quality.flicker((f0, noisy), truth: (f0, f1), border: 2), 1)
    }
}

extension SuperResolutionTests {
    /// A minute of 25 fps, losslessly coded, that shows its frame number N: grey
    /// 16 + ⌊N/8⌋ on the left half and 16 + 25·(N mod 8) on the right (video levels).
    func countingClip() throws -> String {
        try Media.ffmpeg(["-f", "lavfi", "-i", "color=c=black:size=32x24:rate=25:duration=60,format=yuv420p,"
                          + "geq=lum='if(lt(X,16),16+floor(N/8),16+mod(N,8)*25)':cb=128:cr=128",
                          "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", path("minute.mp4")])
        return path("minute.mp4")
    }

    /// The frame number a frame of `countingClip` shows.
    func frameNumber(_ image: Tensor) -> Int {
        let (h, w) = (image.shape[2], image.shape[3])
        func level(_ columns: Range<Int>) -> Double {
            var sum = 0.0
            for y in 0..<h { for x in columns { sum += Double(image.data[y * w + x]) } }
            return sum / Double(h * columns.count) * 219  // full-range RGB back to video levels above 16
        }
        return Int(level(0..<(w / 2)).rounded()) * 8 + Int((level((w / 2)..<w) / 25).rounded())
    }

    func testSamplingKeepsTheCacheWithinItsBudgetOverTheWholeVideo() throws {
        let clip = try countingClip()
        let info = try MediaInput(clip).info
        XCTAssertEqual(info.estimatedFrames, 1500)
        // Room for 100 frames: the whole minute is sampled to fit, spread from start to end.
        let budget = 100 * 32 * 24 * 3
        let sampling = FrameSampling(video: info, rate: nil, budget: budget)
        XCTAssertEqual(sampling.limit, 100)
        XCTAssertEqual(sampling.rate ?? 0, 100.0 / 60, accuracy: 0.01)
        let cache = try FrameCache(video: clip, sampling: sampling) { _, _ in }
        XCTAssertLessThanOrEqual(cache.count, 100)
        XCTAssertGreaterThanOrEqual(cache.count, 99)
        let numbers = (0..<cache.count).map { frameNumber(cache.frame($0)) }
        XCTAssertEqual(numbers.first, 0)
        XCTAssertGreaterThan(numbers.last!, 1450, "the last frames of the video are sampled too: \(numbers)")
        XCTAssertEqual(numbers, numbers.sorted())
        let gaps = zip(numbers.dropFirst(), numbers).map { $0 - $1 }
        XCTAssert(gaps.allSatisfy { (7...23).contains($0) }, "evenly spread, one every 15 frames (±8, a grey level read back): \(gaps)")

        // An asked rate is kept when it fits, lowered when it does not; every frame when all fit.
        XCTAssertEqual(FrameSampling(video: info, rate: 0.5, budget: budget).rate, 0.5)
        XCTAssertEqual(try FrameCache(video: clip, sampling: FrameSampling(video: info, rate: 0.5, budget: budget)) { _, _ in }.count, 30)
        XCTAssertEqual(FrameSampling(video: info, rate: 10, budget: budget).rate ?? 0, 100.0 / 60, accuracy: 0.01)
        XCTAssertNil(FrameSampling(video: info, rate: nil, budget: 2000 * 32 * 24 * 3).rate)
        // A hard bound even when the container's frame count is wrong.
        XCTAssertEqual(try FrameCache(video: clip, sampling: FrameSampling(rate: nil, limit: 40)) { _, _ in }.count, 40)
    }
}
