import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// The loss, the trainer's checkpoints, the photograph and frame caches.
final class TrainingTests: ScratchFolderTestCase {
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
