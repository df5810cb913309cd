import Autograd
import Foundation
import Networks
import Quality
import TestSupport
import Training
import XCTest

/// The recurrent network (forward propagation), its streaming run and its pretraining on pseudo-videos.
final class RecurrentTests: XCTestCase {
    let config = ModelConfig(channels: 8, blocks: 1, activation: .prelu, unet: false)
    var recurrentConfig: ModelConfig {
        var c = config
        c.propagation = .forward
        return c
    }

    /// A single-frame network that looks trained (its zero tail made random), and the recurrent one loaded from it.
    func pair(seed: UInt64 = 4) throws -> (single: SRNet, recurrent: SRNet) {
        let single = try XCTUnwrap(try makeNetwork(config, scale: 2, seed: 3) as? SRNet)
        let recurrent = try XCTUnwrap(try makeNetwork(recurrentConfig, scale: 2, seed: 9) as? SRNet)
        var rng = SeededRandom(seed: seed)
        for (_, t) in single.namedTensors() where t.array.allSatisfy({ $0 == 0 }) { for i in 0..<t.count { t.data[i] = rng.uniform(-0.1, 0.1) } }
        XCTAssertEqual(Checkpoint(tensors: single.namedTensors(), metadata: [:]).loadMatching(into: recurrent), single.namedTensors().count)
        return (single, recurrent)
    }

    func picture(_ h: Int, _ w: Int, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.uniform([1, 3, h, w], rng: &rng)
    }

    /// Smooth, textured "photographs", large enough for pseudo-video clips.
    func photos(count: Int = 12, side: Int = 260) throws -> FrameCache {
        var k = 0
        return try FrameCache(source: "generated photographs") {
            guard k < count else { return nil }
            defer { k += 1 }
            let t = Tensor(shape: [1, 3, side, side])
            let (a, b) = (0.05 + 0.02 * Float(k % 5), 0.11 - 0.01 * Float(k % 4))
            for c in 0..<3 { for y in 0..<side { for x in 0..<side {
                let (fx, fy) = (Float(x), Float(y))
                t.data[(c * side + y) * side + x] = 0.5 + 0.25 * sin(fx * a + fy * b * 0.3 + Float(c + k)) + 0.2 * cos(fy * b - fx * 0.02 * Float(k % 3)) * sin(fx * 0.31)
            }}}
            return t
        }
    }

    /// A tiny recurrent config (8 channels, one block, 32² crops, clips of 3 frames); `training` adds to its training section.
    static let tinyYAML = """
        model: {channels: 8, blocks: 1, activation: prelu, unet: false, propagation: forward}
        degradation: {blur: 0, noise: 0}
        loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
        training: {patch: 32, batch: 4, learning_rate: 0.003, weight_decay: 0, pct_start: 0.1, patches_per_frame: 1, validation_every: 4, seed: 1, clip_frames: 3}
        """

    func tinyConfig(_ change: (inout HoneConfig) -> Void = { _ in }) throws -> HoneConfig {
        var config = try HoneConfig.parse(Self.tinyYAML, path: "c.yaml")
        change(&config)
        return config
    }

    func testPropagationStartsAtZeroSoTheRecurrentModelIsItsSingleFrameBase() throws {
        let (single, recurrent) = try pair()
        let propagate = try XCTUnwrap(recurrent.namedTensors().first { $0.name == "fusion.write.weight" }?.tensor)
        XCTAssertEqual(propagate.shape, [8, 8, 3, 3])
        XCTAssert(propagate.array.allSatisfy { $0 == 0 })
        let frames = (0..<3).map { picture(14, 18, seed: UInt64(10 + $0)) }
        let flows: [Tensor?] = [nil, Tensor(zeros: [1, 2, 14, 18]), Tensor(zeros: [1, 2, 14, 18])]
        let outputs = try Grad.disabled { try recurrent(clip: frames, flows: flows) }
        for (frame, output) in zip(frames, outputs) {
            XCTAssertEqual(output.array, try Grad.disabled { try single(frame) }.array)
        }
        XCTAssertThrowsError(try recurrent(clip: frames, flows: [nil]))
    }

    func testGradientsReachThePropagationThroughTheCarriedState() throws {
        let (_, recurrent) = try pair()
        let propagate = try XCTUnwrap(recurrent.namedTensors().first { $0.name == "fusion.write.weight" }?.tensor)
        var rng = SeededRandom(seed: 5)
        for i in 0..<propagate.count { propagate.data[i] = rng.uniform(-0.2, 0.2) }
        let frames = (0..<3).map { picture(10, 12, seed: UInt64(20 + $0)) }
        let flow = Tensor.uniform([1, 2, 10, 12], -1.7, 1.3, rng: &rng)
        let weights = Tensor.uniform([1, 3, 20, 24], -1, 1, rng: &rng)
        func loss() throws -> Tensor {
            let out = try recurrent(clip: frames, flows: [nil, flow, flow])
            return sum(try mul(try add(out[1], out[2]), weights))
        }
        recurrent.zeroGrad()
        try loss().backward()
        let grad = try XCTUnwrap(propagate.grad)
        // The derivative along one direction of all the fusion's last weights, by central differences with the
        // loss summed in Double: the change sums over every weight, so it stands above the forward pass's float
        // rounding at a step small enough to cross few PReLU/ReLU kinks (at 1e-2 they swing the estimate by ±40 %).
        func numericLoss() throws -> Double {
            let out = try Grad.disabled { try recurrent(clip: frames, flows: [nil, flow, flow]) }
            return (0..<weights.count).reduce(0.0) { $0 + Double(out[1].data[$1] + out[2].data[$1]) * Double(weights.data[$1]) }
        }
        // Along the signs of the analytic gradient the change adds up instead of cancelling; a wrong
        // gradient would still predict a change the loss does not make.
        let direction = Tensor(shape: propagate.shape), saved = propagate.detached(), eps: Float = 1e-4
        for i in 0..<grad.count { direction.data[i] = grad[i] >= 0 ? 1 : -1 }
        func move(_ step: Float) { for i in 0..<propagate.count { propagate.data[i] = saved.data[i] + step * direction.data[i] } }
        move(eps)
        let plus = try numericLoss()
        move(-eps)
        let minus = try numericLoss()
        move(0)
        let numeric = (plus - minus) / Double(2 * eps)
        let analytic = (0..<propagate.count).reduce(0.0) { $0 + Double(grad[$1]) * Double(direction.data[$1]) }
        XCTAssertEqual(analytic, numeric, accuracy: 0.03 * abs(numeric))
        XCTAssert(grad.contains { $0 != 0 })
    }

    func testTheStreamCarriesItsStateAndStartsAfreshAtACut() throws {
        let (single, recurrent) = try pair()
        var rng = SeededRandom(seed: 6)
        for (name, t) in recurrent.namedTensors() where name == "fusion.write.weight" { for i in 0..<t.count { t.data[i] = rng.uniform(-0.2, 0.2) } }
        let upscale = try RecurrentUpscaler(recurrent)
        let a = try XCTUnwrap(try photos(count: 1, side: 40).frame(0))
        let (first, moved) = (try cropSpatial(a, height: 40, width: 39), try cropSpatial(a, left: 1, height: 40, width: 39))
        let cut = Tensor(shape: [1, 3, 40, 39])
        cut.fill(0.05)  // a black frame: the histogram and the mean both change
        let outputs = try [first, moved, cut].map { try upscale($0) }
        let singles = try [first, moved, cut].map { frame in try Grad.disabled { try single(frame) } }
        XCTAssertEqual(outputs[0].array, singles[0].array, "the first frame has nothing carried")
        XCTAssertNotEqual(outputs[1].array, singles[1].array, "the second frame reads the first's state")
        XCTAssertEqual(outputs[2].array, singles[2].array, "after a scene cut, nothing is carried")
        XCTAssertThrowsError(try RecurrentUpscaler(single))
    }

    func testPseudoVideoFramesMoveAsTheFlowSays() throws {
        let cache = try photos(count: 2)
        var rng = SeededRandom(seed: 7)
        let clip = try PseudoVideo.clip(cache, photo: 0, layer: 1, frames: 4, size: 64, rng: &rng)
        XCTAssertEqual(clip.map(\.shape), Array(repeating: [1, 3, 64, 64], count: 4))
        for t in 1..<clip.count {
            let still = Metrics.psnrY(clip[t - 1], clip[t], border: 8)
            XCTAssertLessThan(still, 60, "frame \(t) moved")
            let aligned = try warp(clip[t - 1], flow: try Alignment.flow(from: clip[t], to: clip[t - 1]))
            XCTAssertGreaterThan(Metrics.psnrY(aligned, clip[t], border: 8), still, "frame \(t): the previous frame warped along the flow comes closer")
        }
    }

    func testRecurrentConfigsAreValidated() throws {
        let yaml = Self.tinyYAML
        let parsed = try HoneConfig.parse(yaml, path: "c.yaml")
        XCTAssertEqual(parsed.model.propagation, .forward)
        XCTAssertEqual(parsed.training.clipFrames, 3)
        let frozen = yaml.replacingOccurrences(of: "clip_frames: 3}", with: "clip_frames: 3, trained: propagation}")
        XCTAssertEqual(try HoneConfig.parse(frozen, path: "c.yaml").training.trained, .propagation)
        XCTAssertThrowsError(try HoneConfig.parse(frozen.replacingOccurrences(of: "trained: propagation", with: "trained: body"), path: "c.yaml"))
        let refused = [("unet: false", "unet: true", "model.unet"), ("propagation: forward", "propagation: backward", "model.propagation"),
                       ("blocks: 1,", "blocks: 1, neighbours: 1,", "model.neighbours"), ("clip_frames: 3", "clip_frames: 1", "training.clip_frames"),
                       ("model: {", "model: {architecture: compact, ", "model.propagation")]
        for (from, to, key) in refused {
            XCTAssertThrowsError(try HoneConfig.parse(yaml.replacingOccurrences(of: from, with: to), path: "c.yaml")) { XCTAssert("\($0)".contains(key), "\(to): \($0)") }
        }
    }

    func testPretrainingOnPseudoVideosGainsOnItsOwnValidation() throws {
        let config = try tinyConfig { $0.training.seed = 2 }
        let model = try makeNetwork(config.model, scale: 2)
        let trainer = try Trainer(model: model, config: config, frames: try photos(), epochs: 1, stepsPerEpoch: 40)
        let start = try trainer.validateModel()
        let bicubic = try trainer.validate { try resizeBicubic($0, .up(2)) }
        XCTAssertEqual(start.psnr, bicubic.psnr, accuracy: 1e-9, "an untrained network is bicubic")
        for _ in 0..<40 { try trainer.trainStep() }
        let end = try trainer.validateModel()
        XCTAssertGreaterThan(end.psnr, start.psnr + 0.3, "start \(start), after 40 steps \(end)")
    }

    func testAVideosOwnClipsTeachItsFineTune() throws {
        let config = try tinyConfig { $0.training.validationEvery = 6 }
        let video = try FrameCache.moving(count: 24, width: 48, height: 40)
        let trainer = try Trainer(model: try makeNetwork(config.model, scale: 2), config: config, frames: video, epochs: 1, stepsPerEpoch: 30, clips: .video)
        let start = try trainer.validateModel()
        for _ in 0..<30 { try trainer.trainStep() }
        XCTAssertGreaterThan(try trainer.validateModel().psnr, start.psnr + 0.3)
        // Clips stay clear of held-out frames: with one held out in every 2, no 3 consecutive frames are free of one.
        var tight = config
        tight.training.validationEvery = 2
        let refused = try Trainer(model: try makeNetwork(config.model, scale: 2), config: tight, frames: video, epochs: 1, stepsPerEpoch: 1, clips: .video)
        XCTAssertThrowsError(try refused.trainStep()) { XCTAssert("\($0)".contains("clip_frames"), "\($0)") }
    }

    func testTrainingThePropagationAloneKeepsTheSingleFrameWeights() throws {
        var config = try tinyConfig { ($0.training.batch, $0.training.trained) = (2, .propagation) }
        let (single, recurrent) = try pair()
        let before = Dictionary(uniqueKeysWithValues: recurrent.namedTensors().map { ($0.name, $0.tensor.array) })
        let trainer = try Trainer(model: recurrent, config: config, frames: try photos(count: 8), epochs: 1, stepsPerEpoch: 5)
        for _ in 0..<5 { try trainer.trainStep() }
        for (name, t) in recurrent.namedTensors() {
            if name.hasPrefix("fusion.write") { XCTAssertNotEqual(t.array, before[name], name) }
            if !name.hasPrefix("fusion.") { XCTAssertEqual(t.array, before[name], name) }
        }
        let frame = picture(12, 16, seed: 30)
        XCTAssertEqual(try Grad.disabled { try recurrent(frame) }.array, try Grad.disabled { try single(frame) }.array)
        config.model.propagation = nil
        XCTAssert(config.problems().contains { $0.contains("training.trained") }, "\(config.problems())")
    }
}
