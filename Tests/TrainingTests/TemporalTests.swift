import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// The multi-frame model and its windows: alignment, ends, cuts, and the start it must not lose.
final class TemporalTests: XCTestCase {
    let clips = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data/clips").standardized.path

    func frames(_ clip: String, count: Int, width: Int = 320, height: Int = 180) throws -> [Tensor] {
        let path = clips + "/" + clip
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "\(path) absent: the shared test footage is not beside the checkout")
        return Array(try Media.decodeRGB(path, width: width, height: height).prefix(count))
    }

    func testMultiFrameModelWithZeroNeighbourWeightsIsItsSingleFrameModel() throws {
        for unet in [false, true] {
            let config = ModelConfig(channels: 8, blocks: 2, activation: .prelu, unet: unet)
            var multiConfig = config
            multiConfig.neighbours = 2
            let single = try makeNetwork(config, scale: 2, seed: 3), multi = try makeNetwork(multiConfig, scale: 2, seed: 9)
            // A trained-looking single-frame model: its zero tail made random, so it is not bicubic.
            var rng = SeededRandom(seed: 4)
            for (_, t) in single.namedTensors() where t.array.allSatisfy({ $0 == 0 }) { for i in 0..<t.count { t.data[i] = rng.uniform(-0.1, 0.1) } }
            XCTAssertEqual(Checkpoint(tensors: single.namedTensors(), metadata: [:]).loadMatching(into: multi), single.namedTensors().count)
            let fuse = try XCTUnwrap(multi.namedTensors().first { $0.name == "fuse.weight" }?.tensor)
            XCTAssertEqual(fuse.shape, [8, 12, 3, 3])
            XCTAssert(fuse.array.allSatisfy { $0 == 0 }, "neighbour weights start at zero")

            let stack = Tensor(shape: [2, 15, 18, 22])
            for i in 0..<stack.count { stack.data[i] = rng.uniform(0, 1) }
            let a = try Grad.disabled { try multi(stack) }, b = try Grad.disabled { try single(try sliceChannels(stack, 0..<3)) }
            XCTAssertEqual(a.shape, [2, 3, 36, 44])
            XCTAssertEqual(a.array, b.array, "unet \(unet): exactly the single-frame output")
        }
    }

    func testNeighboursAreValidatedAndOnlyHonesArchitectureHasThem() {
        let yaml = """
            model: {architecture: compact, channels: 8, blocks: 1, activation: prelu, unet: false, neighbours: 1}
            degradation: {blur: 0, noise: 0}
            loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
            training: {patch: 32, batch: 8, learning_rate: 0.003, weight_decay: 0.0001, pct_start: 0.25, patches_per_frame: 4, validation_every: 10, seed: 1}
            """
        XCTAssertThrowsError(try HoneConfig.parse(yaml, path: "c.yaml")) { error in
            XCTAssert("\(error)".contains("model.neighbours"), "\(error)")
        }
        let hone = yaml.replacingOccurrences(of: "architecture: compact, ", with: "")
        XCTAssertEqual(try HoneConfig.parse(hone, path: "c.yaml").model.radius, 1)
        XCTAssertThrowsError(try HoneConfig.parse(hone.replacingOccurrences(of: "neighbours: 1", with: "neighbours: 3"), path: "c.yaml"))
    }

    func testWindowsMirrorAtTheEndsAndStopAtCuts() {
        // t−k … t−1, t+1 … t+k.
        XCTAssertEqual(Alignment.sources(centre: 0, count: 2, radius: 1, cuts: []), [1, 1])
        XCTAssertEqual(Alignment.sources(centre: 1, count: 3, radius: 1, cuts: []), [0, 2])
        XCTAssertEqual(Alignment.sources(centre: 1, count: 3, radius: 1, cuts: [2]), [0, 0])
        XCTAssertEqual(Alignment.sources(centre: 2, count: 5, radius: 2, cuts: [1]), [4, 1, 3, 4])
        XCTAssertEqual(Alignment.sources(centre: 2, count: 5, radius: 2, cuts: [2, 3]), [2, 2, 2, 2])
        XCTAssertEqual(Alignment.sources(centre: 0, count: 1, radius: 2, cuts: []), [0, 0, 0, 0])
        XCTAssertEqual(Alignment.sources(centre: 0, count: 1, radius: 0, cuts: []), [])

        let pictures = (0..<5).map { i -> Tensor in let t = Tensor(shape: [1, 3, 2, 2]); t.fill(Float(i)); return t }
        for (index, first, centre, count) in [(0, 0, 0, 3), (1, 0, 1, 4), (2, 0, 2, 5), (4, 2, 2, 3)] {
            let window = FrameWindow(around: index, count: 5, radius: 2) { pictures[$0] }
            XCTAssertEqual([window.frames.count, window.centre], [count, centre])
            XCTAssertEqual(window.frames[0].data[0], Float(first))
            XCTAssert(window.image === pictures[index])
        }
    }

    func testStackAtTheStreamsEndsMirrorsAndAtACutRepeatsTheFrame() throws {
        let chaplin = try frames("chaplin.mp4", count: 3), tears = try frames("tears_of_steel.webm", count: 1)
        // At the start: t−1 is t+1 aligned onto t.
        let start = try Alignment.stack(FrameWindow(frames: Array(chaplin.prefix(2)), centre: 0), radius: 1)
        XCTAssertEqual(start.shape, [1, 9, 180, 320])
        let plane = 3 * 180 * 320
        XCTAssertEqual(Array(UnsafeBufferPointer(start: start.data, count: plane)), chaplin[0].array)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: start.data + plane, count: plane)),
                       Array(UnsafeBufferPointer(start: start.data + 2 * plane, count: plane)))
        // A cut after t: t+1 (another film) is not fused; t−1 stands for it.
        XCTAssert(Alignment.isSceneCut(chaplin[1], tears[0]))
        let cut = try Alignment.stack(FrameWindow(frames: [chaplin[0], chaplin[1], tears[0]], centre: 1), radius: 1)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: cut.data + plane, count: plane)),
                       Array(UnsafeBufferPointer(start: cut.data + 2 * plane, count: plane)))
    }

    func testSceneCutsFoundWhereTheFilmCutsAndNowhereElse() throws {
        // tears_of_steel.webm cuts between its frames 1 and 2 (luma histograms 74% apart); the rest is motion within shots.
        for (clip, cuts) in [("chaplin.mp4", [Int]()), ("tears_of_steel.webm", [2]), ("realshort.mp4", [])] {
            let f = try frames(clip, count: 48)
            XCTAssertEqual((1..<f.count).filter { Alignment.isSceneCut(f[$0 - 1], f[$0]) }, cuts, clip)
        }
        let a = try frames("chaplin.mp4", count: 1)[0], b = try frames("realshort.mp4", count: 1)[0]
        XCTAssert(Alignment.isSceneCut(a, b))
    }

    func testFlowFindsAShiftAndWarpingAlignsRealFrames() throws {
        let f = try frames("tears_of_steel.webm", count: 4)
        // frame 0 moved right 3 and down 2 pixels: from(x, y) ≈ to(x + 3, y + 2).
        let (h, w) = (180, 320)
        let moved = Tensor(shape: [1, 3, h, w])
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            moved.data[(c * h + y) * w + x] = f[0].data[(c * h + max(y - 2, 0)) * w + max(x - 3, 0)]
        }}}
        let flow = try Alignment.flow(from: f[0], to: moved)
        var dx: [Float] = [], dy: [Float] = []
        for y in 20..<(h - 20) { for x in 20..<(w - 20) { dx.append(flow.data[y * w + x]); dy.append(flow.data[h * w + y * w + x]) } }
        XCTAssertEqual(dx.sorted()[dx.count / 2], 3, accuracy: 0.25)
        XCTAssertEqual(dy.sorted()[dy.count / 2], 2, accuracy: 0.25)
        let back = try warp(moved, flow: flow)
        XCTAssertGreaterThan(Metrics.psnrY(back, f[0], border: 8), Metrics.psnrY(moved, f[0], border: 8) + 10)

        // Real motion: the next frame warped onto this one is closer to it than the next frame as it is.
        for i in 1..<f.count {
            let aligned = try warp(f[i], flow: try Alignment.flow(from: f[0], to: f[i]))
            XCTAssertGreaterThan(Metrics.psnrY(aligned, f[0], border: 8), Metrics.psnrY(f[i], f[0], border: 8), "frame \(i)")
        }
    }

    func testSelfEnsembleOfAFlipAndTurnInvariantModelIsTheModel() throws {
        // An untrained SRNet is bicubic, which commutes with flips and transposes: its ensemble is itself.
        let model = try makeNetwork(ModelConfig(channels: 8, blocks: 1, activation: .prelu, unet: false), scale: 2)
        let image = try frames("realshort.mp4", count: 1, width: 48, height: 30)[0]
        let upscale = TiledUpscaler(model)
        let (plain, ensemble) = (try upscale(image), try upscale.selfEnsemble(image))
        XCTAssertEqual(ensemble.shape, [1, 3, 60, 96])
        XCTAssertEqual(zip(plain.array, ensemble.array).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
        // A trained-looking model is not: the ensemble differs.
        var rng = SeededRandom(seed: 2)
        for (name, t) in model.namedTensors() where name.hasPrefix("tail") { for i in 0..<t.count { t.data[i] = rng.uniform(-0.1, 0.1) } }
        XCTAssertGreaterThan(zip(try upscale(image).array, try upscale.selfEnsemble(image).array).map { abs($0 - $1) }.max()!, 1e-3)
    }

    /// Whatever the targets, validation scores real frames: an ensemble trainer validates as a
    /// frames trainer on the same video does, not against its teacher's outputs.
    func testEnsembleTargetsValidateOnTheRealFrames() throws {
        let clip = try frames("realshort.mp4", count: 12, width: 64, height: 48)
        var next = 0
        let cache = try FrameCache(source: "realshort") { defer { next += 1 }; return next < clip.count ? clip[next] : nil }
        var config = try HoneConfig.parse(TrainingRunTests.tiny, path: "tiny.yaml")
        (config.training.validationEvery, config.degradation) = (4, DegradationConfig())
        let model = try makeNetwork(config.model, scale: 2, seed: 5)
        for (name, t) in model.namedTensors() where name.hasPrefix("tail") { t.fill(0.01) }
        let ensemble = try Trainer.forVideo(model: model, config: config, frames: cache, targets: .ensemble, epochs: 1, observer: RecordingObserver())
        let plain = try Trainer.forVideo(model: model, config: config, frames: cache, targets: .frames, epochs: 1, observer: RecordingObserver())
        XCTAssertEqual(ensemble.validationFrames, plain.validationFrames)
        let upscale = TiledUpscaler(model)
        let (real, seen) = (try ensemble.validate(upscale.callAsFunction), try plain.validate(upscale.callAsFunction))
        XCTAssertEqual(real.psnr, seen.psnr, accuracy: 1e-9)
        XCTAssertLessThan(real.psnr, 60, "the teacher's own outputs would score far higher")
    }

    func testEnsembleTargetsPairTheFramesWithTheStartingModelsEnsemble() throws {
        let clip = try frames("realshort.mp4", count: 12, width: 64, height: 48)
        var next = 0
        let cache = try FrameCache(source: "realshort") { defer { next += 1 }; return next < clip.count ? clip[next] : nil }
        var config = try HoneConfig.parse(TrainingRunTests.tiny, path: "tiny.yaml")
        config.training.validationEvery = 4
        let model = try makeNetwork(config.model, scale: 2, seed: 5)
        var rng = SeededRandom(seed: 2)
        for (name, t) in model.namedTensors() where name.hasPrefix("tail") { for i in 0..<t.count { t.data[i] = rng.uniform(-0.05, 0.05) } }
        let trainer = try Trainer.forVideo(model: model, config: config, frames: cache, targets: .ensemble, epochs: 1, observer: RecordingObserver())
        XCTAssertEqual(trainer.frames.count, 12)
        XCTAssertEqual(trainer.frames.sizes[0].width, 128)
        XCTAssertEqual(trainer.stepsPerEpoch, Trainer.stepsPerEpoch(pictures: 12, config: config))
        let target = try TiledUpscaler(model).selfEnsemble(clip[3])
        // Stored in 8 bits, clamped to [0, 1].
        XCTAssertLessThanOrEqual(zip(trainer.frames.frame(3).array, target.array).map { abs($0 - min(max($1, 0), 1)) }.max()!, 0.5 / 255 + 1e-6)
        try trainer.trainStep()

        var multi = config.model
        multi.neighbours = 1
        XCTAssertThrowsError(try Trainer.forVideo(model: try makeNetwork(multi, scale: 2), config: config, frames: cache, targets: .ensemble,
                                                  epochs: 1, observer: RecordingObserver())) { XCTAssert($0 is UsageError, "\($0)") }
    }

    func testMultiFrameTrainerLearnsFromAlignedWindows() throws {
        let clip = try frames("tears_of_steel.webm", count: 8, width: 96, height: 40)
        var next = 0
        let cache = try FrameCache(source: "tears") { defer { next += 1 }; return next < clip.count ? clip[next] : nil }
        let config = try HoneConfig.parse(TrainingRunTests.tiny.replacingOccurrences(of: "unet: false", with: "unet: false, neighbours: 1"), path: "tiny.yaml")
        let model = try makeNetwork(config.model, scale: 2)
        let trainer = try Trainer(model: model, config: config, frames: cache, epochs: 1)
        let fuse = try XCTUnwrap(model.namedTensors().first { $0.name == "fuse.weight" }?.tensor)
        for _ in 0..<3 { try trainer.trainStep() }
        XCTAssert(fuse.array.contains { $0 != 0 }, "the neighbour weights learn")
        // Validation reads the aligned stacks: the start is the single-frame (bicubic) model's score.
        let single = try Trainer(model: try makeNetwork(config.model.singleFrame, scale: 2), config: config, frames: cache, epochs: 1)
        XCTAssertEqual(try single.validate { try resizeBicubic($0, .up(2)) }.psnr,
                       try trainer.validate { try resizeBicubic(try sliceChannels($0, 0..<3), .up(2)) }.psnr, accuracy: 1e-9)
    }

    func testEnsembleTargetsAreTheDefaultOnlyWhereTheyCanTeach() {
        let hone = ModelConfig(channels: 8, blocks: 1, activation: .prelu, unet: false)
        var multi = hone
        multi.neighbours = 1
        let imported = ModelConfig(architecture: .compact, channels: 8, blocks: 1, activation: .prelu, unet: false)
        let trained = StartingModel.checkpoint("base.safetensors"), none = LossWeights()
        XCTAssertEqual(TrainingTargets.automatic(base: trained, model: hone, loss: none), .ensemble)
        XCTAssertEqual(TrainingTargets.automatic(base: trained, model: hone, loss: LossWeights(pixel: 2, perceptual: [:], gram: 0)), .ensemble)
        XCTAssertEqual(TrainingTargets.automatic(base: .random, model: hone, loss: none), .frames, "bicubic teaches nothing")
        XCTAssertEqual(TrainingTargets.automatic(base: trained, model: imported, loss: none), .frames)
        XCTAssertEqual(TrainingTargets.automatic(base: trained, model: multi, loss: none), .frames)
        XCTAssertEqual(TrainingTargets.automatic(base: trained, model: hone, loss: LossWeights(perceptual: [.relu2_2: 0.01])), .frames)
        XCTAssertEqual(TrainingTargets.automatic(base: trained, model: hone, loss: LossWeights(gram: 1)), .frames)
    }
}
