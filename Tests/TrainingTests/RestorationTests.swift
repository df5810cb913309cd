import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// ×1 restoration: the damages it learns to undo, measured back; the ×1 model's start; the estimates of a video's damage.
final class RestorationTests: XCTestCase {
    let clips = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data/clips").standardized.path

    /// Real frames of chaplin.mp4 at 320×180, decoded by ffmpeg.
    func frames(_ count: Int) throws -> [Tensor] {
        let path = clips + "/chaplin.mp4"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "\(path) absent: the shared test footage is not beside the checkout")
        return Array(try Media.decodeRGB(path, width: 320, height: 180).prefix(count))
    }

    func batch(_ pictures: [Tensor]) -> Tensor {
        let (h, w) = (pictures[0].shape[2], pictures[0].shape[3])
        let out = Tensor(shape: [pictures.count, 3, h, w])
        for (i, p) in pictures.enumerated() { (out.data + i * 3 * h * w).update(from: p.data, count: 3 * h * w) }
        return out
    }

    func testX264RoundTripLosesMoreAtHigherCRFAndReportsItsQuantiser() throws {
        let clean = batch(try frames(4))
        var psnrs: [Double] = []
        for crf in [18.0, 28, 38] {
            let trip = try X264RoundTrip(width: 320, height: 180, crf: crf, threads: 1)
            var out: [Tensor] = []
            for i in 0..<4 {
                let one = Tensor(shape: [1, 3, 180, 320])
                one.data.update(from: clean.data + i * 3 * 180 * 320, count: 3 * 180 * 320)
                out += try trip.push(one)
            }
            out += try trip.finish()
            XCTAssertEqual(out.count, 4, "every picture comes back")
            psnrs.append(Metrics.psnrY(batch(out), clean, border: 0))
            // x264's CRF and the QP it picks run close; I-frames sit a few below.
            let qp = try XCTUnwrap(trip.meanQP, "the decoder exports the quantisers")
            XCTAssert(abs(qp - crf) < 6, "CRF \(crf): mean QP \(qp)")
        }
        // Measured on these frames: about 44, 38 and 31 dB; each 10 CRF costs several dB.
        XCTAssert(psnrs[0] > 40 && psnrs[2] < 34, "\(psnrs)")
        XCTAssert(psnrs[0] - psnrs[1] > 3 && psnrs[1] - psnrs[2] > 3, "\(psnrs)")
        XCTAssertEqual(Metrics.psnrY(try X264RoundTrip.apply(clean, crf: 28), clean, border: 0), psnrs[1], accuracy: 1e-9, "apply is the same stream")
    }

    func testX264RoundTripKeepsUnrelatedCropsInOrder() throws {
        // Training batches are crops from anywhere: each must come back in its own place.
        var rng = SeededRandom(seed: 5)
        let crops = Tensor(shape: [12, 3, 48, 48])
        for i in 0..<crops.count { crops.data[i] = rng.uniform() }
        let frame = try frames(1)[0]
        for k in 0..<12 {
            let (x, y) = (Int(rng.next() % 270), Int(rng.next() % 130))
            for c in 0..<3 { for r in 0..<48 {
                (crops.data + ((k * 3 + c) * 48 + r) * 48).update(from: frame.data + (c * 180 + y + r) * 320 + x, count: 48)
            }}
        }
        let out = try X264RoundTrip.apply(crops, crf: 30)
        func picture(_ t: Tensor, _ k: Int) -> Tensor {
            let one = Tensor(shape: [1, 3, 48, 48])
            one.data.update(from: t.data + k * 3 * 48 * 48, count: 3 * 48 * 48)
            return one
        }
        for k in 0..<12 {
            let own = Metrics.psnrY(picture(out, k), picture(crops, k), border: 0)
            for j in 0..<12 where j != k { XCTAssertGreaterThan(own, Metrics.psnrY(picture(out, k), picture(crops, j), border: 0) + 3, "crop \(k) vs \(j)") }
        }
    }

    func testNoiseOfTheRequestedSigmaIsMeasuredBack() throws {
        let grey = Tensor(shape: [1, 3, 128, 128])
        grey.fill(0.5)
        for sigma: Float in [2, 10, 25] {
            let noisy = try Damage.apply([.noise(sigma: sigma)], to: grey, seed: 3)
            let d = noisy.array.map { Double($0 - 0.5) * 255 }
            let measured = (d.map { $0 * $0 }.reduce(0, +) / Double(d.count)).squareRoot()
            // 8-bit rounding adds 1/12 level² of variance.
            XCTAssertEqual(measured, (Double(sigma * sigma) + 1.0 / 12).squareRoot(), accuracy: 0.03 * Double(sigma), "σ \(sigma)")
        }
        // Immerkær's estimate finds the σ added to real frames (which carry about 1 level of their own).
        let frame = try frames(1)[0]
        for sigma: Float in [5, 10] {
            let estimate = DamageEstimate.measure([try Damage.apply([.noise(sigma: sigma)], to: frame, seed: 1)], codec: "test", meanQP: nil)
            XCTAssertEqual(estimate.noiseSigma, Double(sigma), accuracy: 0.2 * Double(sigma), "σ \(sigma)")
        }
    }

    func testBlurRaisesTheBlurMetric() throws {
        let frame = try frames(1)[0]
        let sharp = DamageEstimate.measure([frame], codec: "test", meanQP: nil).blur
        let soft = DamageEstimate.measure([try Damage.apply([.blur(sigma: 2)], to: frame, seed: 1)], codec: "test", meanQP: nil).blur
        XCTAssert(sharp < soft - 0.1, "sharp \(sharp), blurred \(soft)")
    }

    func testDamagesParseAndRefuseWhatTheyCannotBe() throws {
        XCTAssertEqual(try Damage.parse("x264:crf=35+noise:sigma=10"), [.noise(sigma: 10), .x264(crf: 35)], "applied as a camera and codec would")
        XCTAssertEqual(try Damage.parse("noise:sigma=2,poisson=8"), [.noise(sigma: 2, poisson: 8)])
        XCTAssertEqual(try Damage.parse("blur:sigma=1.5"), [.blur(sigma: 1.5)])
        XCTAssertThrowsError(try Damage.parse("fog:1")) { XCTAssert("\($0)".contains("unknown damage 'fog:1'"), "\($0)") }
        for bad in ["x264", "x264:crf=60", "noise:sigma=ten", "fog:density=1", "blur:sigma=1,radius=3"] {
            XCTAssertThrowsError(try Damage.parse(bad), bad) { error in
                XCTAssert("\(error)".contains("--degrade"), "\(error)")
            }
        }
    }

    func testX1ModelKeepsTheSizeAndStartsAsTheIdentity() throws {
        let config = try HoneConfig.load(ProjectFiles.find(TrainingSettings.restorationConfig)!)
        let model = try makeNetwork(config.model, scale: 1)
        let frame = try frames(1)[0]
        let out = try Grad.disabled { try model(frame) }
        XCTAssertEqual(out.shape, frame.shape)
        XCTAssertEqual(out.array, frame.array, "an untrained ×1 model passes its input through")
        XCTAssertNil(config.problem(scale: 1))
        var compact = config
        compact.model.architecture = .compact
        XCTAssertNotNil(compact.problem(scale: 1), "imported architectures only enlarge")
    }

    func testAFewStepsOnNoisyCompressedFramesLearnToRestore() throws {
        // The frames as targets, noised and re-encoded by x264 as inputs: validation (at the config's typical damage) must rise.
        // Measured: +0.18 dB in 150 steps (28.93 → 29.11); a broken pairing learns nothing.
        let pictures = try frames(6)
        var i = 0
        let cache = try FrameCache(source: "chaplin") {
            defer { i += 1 }
            return i < pictures.count ? pictures[i] : nil
        }
        var config = try HoneConfig.load(ProjectFiles.find(TrainingSettings.restorationConfig)!)
        config.degradation = DegradationConfig(noise: 15, x264CRF: [28, 34])
        (config.training.batch, config.training.patch, config.training.validationEvery, config.training.learningRate) = (8, 48, 3, 0.005)
        let trainer = try Trainer(model: try makeNetwork(config.model, scale: 1), config: config, frames: cache, epochs: 1, stepsPerEpoch: 150)
        let start = try trainer.validate { try trainer.model($0) }
        for _ in 0..<150 { try trainer.trainStep() }
        let end = try Grad.disabled { try trainer.validate { try trainer.model($0) } }
        XCTAssertGreaterThan(end.psnr, start.psnr + 0.1, "start \(start.psnr) dB, after 150 steps \(end.psnr) dB")
    }

    func testClassicalFilterDenoises() throws {
        let frame = try frames(1)[0]
        let noisy = try Damage.apply([.noise(sigma: 10)], to: frame, seed: 2)
        let null = PictureFilter("null")
        XCTAssertGreaterThan(Metrics.psnrY(try (null.push(noisy) + null.finish())[0], noisy, border: 0), 60, "the conversions lose nothing")
        let filter = PictureFilter("nlmeans=s=6")
        let out = try filter.push(noisy) + filter.finish()
        XCTAssertEqual(out.count, 1)
        XCTAssertGreaterThan(Metrics.psnrY(out[0], frame, border: 1), Metrics.psnrY(noisy, frame, border: 1) + 1)
    }

    /// A lens blur is met by the sharpener, noise and compression by the denoisers and deblocking.
    func testClassicalSharpenerUndoesALensBlurInPart() throws {
        XCTAssertEqual(ClassicalFilter.undoing(blur: true, noiseOrCompression: false), [.unsharp])
        XCTAssertEqual(ClassicalFilter.undoing(blur: false, noiseOrCompression: true), [.hqdn3d, .nlmeans, .deblock])
        XCTAssertEqual(ClassicalFilter.undoing(blur: false, noiseOrCompression: false), [])
        let frame = try frames(1)[0]
        let soft = Damage.applyLens([.lens(sigma: 1.5)], to: frame)
        let filter = PictureFilter(ClassicalFilter.unsharp.settings[1])
        let out = try filter.push(soft) + filter.finish()
        XCTAssertGreaterThan(Metrics.psnrY(out[0], frame, border: 1), Metrics.psnrY(soft, frame, border: 1) + 0.3)
    }

    func testAnalysisReadsTheQuantiserOfAnH264File() throws {
        let dir = try Media.temporaryFolder("analyse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let coarse = dir.appendingPathComponent("coarse.mp4").path, fine = dir.appendingPathComponent("fine.mp4").path
        for (path, crf) in [(coarse, 40), (fine, 20)] {
            try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-t", "1", "-c:v", "libx264", "-crf", "\(crf)", "-pix_fmt", "yuv420p", path])
        }
        let (c, f) = (try DamageEstimate.analyse(coarse), try DamageEstimate.analyse(fine))
        XCTAssertEqual(c.codec, "h264")
        XCTAssert(try XCTUnwrap(c.meanQP) > (try XCTUnwrap(f.meanQP)) + 12, "CRF 40: QP \(c.meanQP!), CRF 20: QP \(f.meanQP!)")
        XCTAssertEqual(c.fineTuning.x264CRF?[0], (c.meanQP!.rounded() + 1), "fine-tuning compresses a little harder than the video")
    }
}
