import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// Metrics against published and independent references; overshoot, blockiness and flicker.
final class QualityTests: ScratchFolderTestCase {
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
        XCTAssertEqual(Artifacts.overshoot(truth, reference: truth, border: 2, radius: 2).p99, 0)
        let halo = Artifacts.overshoot(sharpened, reference: truth, border: 2, radius: 2)
        let blur = Artifacts.overshoot(blurred, reference: truth, border: 2, radius: 2)
        XCTAssertGreaterThan(halo.p99, 20)
        XCTAssertGreaterThan(halo.mean, 10 * blur.mean)
        // A 3×3 window also counts the blur's tails: not a halo measure.
        let narrowBlur = Artifacts.overshoot(blurred, reference: truth, border: 2, radius: 1)
        XCTAssertGreaterThan(narrowBlur.mean, 0.1 * Artifacts.overshoot(sharpened, reference: truth, border: 2, radius: 1).mean)
    }

    /// A codec's coarse block means read as blockiness, before and after a bicubic
    /// upscale (on the upscale's grid); the same texture without them, or the grid
    /// missed by half a block, reads near 0.
    func testBlockinessSeesTheBlockGridAndOnlyIt() throws {
        let (h, w) = (64, 64)
        var rng = SeededRandom(seed: 5)
        let smooth = Tensor.uniform([1, 3, h, w], rng: &rng), blocky = Tensor(shape: [1, 3, h, w])
        gaussianBlur(smooth.data, planes: 3, h: h, w: w, sigma: 1.5)  // a texture with no grid of its own, on a ramp
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            let i = (c * h + y) * w + x
            smooth.data[i] = min(1, max(0, 0.15 + 0.7 * Float(x + y) / Float(h + w) + 2 * (smooth.data[i] - 0.5)))
        }}}
        // Each 8×8 block keeps its texture around a mean quantised to 1/8 of the range, as a coarse DC coefficient does.
        for c in 0..<3 { for by in 0..<(h / 8) { for bx in 0..<(w / 8) {
            var mean: Float = 0
            for y in 0..<8 { for x in 0..<8 { mean += smooth.data[(c * h + by * 8 + y) * w + bx * 8 + x] / 64 } }
            let shift = (mean * 8).rounded() / 8 - mean
            for y in 0..<8 { for x in 0..<8 { let i = (c * h + by * 8 + y) * w + bx * 8 + x; blocky.data[i] = smooth.data[i] + shift } }
        }}}
        XCTAssertEqual(Artifacts.blockiness(smooth, scale: 1), 0, accuracy: 0.1)
        XCTAssertGreaterThan(Artifacts.blockiness(blocky, scale: 1), 0.3)
        let up = try resizeBicubic(blocky, .up(2))
        XCTAssertGreaterThan(Artifacts.blockiness(up, scale: 2), 0.5)
        XCTAssertEqual(Artifacts.blockiness(try resizeBicubic(smooth, .up(2)), scale: 2), 0, accuracy: 0.1)
        // Read on a grid of 4: half its edges miss the blocks, so less is seen.
        XCTAssertLessThan(Artifacts.blockiness(up, scale: 1), 0.6 * Artifacts.blockiness(up, scale: 2))
        XCTAssertEqual(Artifacts.blockiness(Tensor(shape: [1, 3, 1, 1]), scale: 2), 0)
    }

    func testFlickerIsZeroForTheTruthAndGrowsWithFrameNoise() throws {
        var rng = SeededRandom(seed: 3)
        let f0 = Tensor.uniform([1, 3, 24, 24], rng: &rng), f1 = Tensor.uniform([1, 3, 24, 24], rng: &rng)
        XCTAssertEqual(Artifacts.flicker((f0, f1), truth: (f0, f1), border: 2), 0)
        let noisy = f1.detached()
        for i in 0..<noisy.count { noisy.data[i] = min(1, max(0, noisy.data[i] + 0.02 * rng.normal())) }
        XCTAssertGreaterThan(Artifacts.flicker((f0, noisy), truth: (f0, f1), border: 2), 1)
    }
}
