import Autograd
import Foundation
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// The distribution of damage the real-damage bases train on (Real-ESRGAN's, Wang et al. 2021):
/// kernel shapes, anisotropic draws, a JPEG range and a second round, each measured back.
final class DamageDistributionTests: XCTestCase {
    /// A point of light blurred by `damage` on a 61² plane: its light and, along x, its
    /// standard deviation and kurtosis (m₄/m₂², 3 for a Gaussian).
    private func spread(_ damage: Damage) -> (total: Double, sd: Double, kurtosis: Double, response: [Float]) {
        let n = 61, c = 30
        var plane = [Float](repeating: 0, count: n * n)
        plane[c * n + c] = 1
        plane.withUnsafeMutableBufferPointer { damage.blurLens($0.baseAddress!, planes: 1, h: n, w: n) }
        var (total, m2, m4) = (0.0, 0.0, 0.0)
        for y in 0..<n { for x in 0..<n {
            let (v, d) = (Double(plane[y * n + x]), Double(x - c))
            total += v; m2 += v * d * d; m4 += v * d * d * d * d
        }}
        return (total, m2.squareRoot(), m4 / (m2 * m2), plane)
    }

    func testKernelShapesAreMeasuredBack() throws {
        let gaussian = spread(.lens(sigma: 2))
        XCTAssertEqual(gaussian.kurtosis, 3, accuracy: 0.1, "the Gaussian's kurtosis")
        // β = 1 is the Gaussian itself, through the 2-D kernel instead of the separable one.
        let one = spread(.lens(sigma: 2, shape: .generalized(beta: 1)))
        XCTAssertLessThan(zip(one.response, gaussian.response).map { abs($0 - $1) }.max()!, 2e-4, "the same but for where the kernel is cut")
        // σ 1 for the heavy tails, to fit inside the 10-pixel cut; σ 3 for the flat top, to span pixels.
        let flat = spread(.lens(sigma: 3, shape: .generalized(beta: 4)))
        let peaked = spread(.lens(sigma: 1, shape: .generalized(beta: 0.5)))
        let plateau = spread(.lens(sigma: 1, shape: .plateau(beta: 1.5)))
        for (name, s) in [("β 4", flat), ("β 0.5", peaked), ("plateau", plateau)] {
            XCTAssertEqual(s.total, 1, accuracy: 1e-4, "\(name): light kept")
        }
        XCTAssertLessThan(flat.kurtosis, 2.5, "a flat top: lighter tails than a Gaussian")
        XCTAssertGreaterThan(peaked.kurtosis, 3.3, "a sharp peak: heavier tails")
        XCTAssertGreaterThan(plateau.kurtosis, 4, "a plateau's long tails")
        // β 4's top is flat: the centre and its neighbour differ by less than 1 % (a Gaussian of σ 3's by 5 %).
        XCTAssertLessThan(1 - flat.response[30 * 61 + 31] / flat.response[30 * 61 + 30], 0.01)
    }

    func testShapedLensParsesAndRefusesTwoShapes() throws {
        XCTAssertEqual(try Damage.parse("lens:sigma=1.6,beta=2"), [.lens(sigma: 1.6, shape: .generalized(beta: 2))])
        XCTAssertEqual(try Damage.parse("lens:sigma=2,across=1,angle=45,plateau=1.5"),
                       [.lens(sigma: 2, across: 1, angle: 45, shape: .plateau(beta: 1.5))])
        for text in ["lens:sigma=1.6,beta=2", "lens:sigma=2,across=1,angle=45,plateau=1.5"] {
            XCTAssertEqual(try Damage.parse(text).map(\.description), [text], "written as it is read")
        }
        for bad in ["lens:sigma=1.6,beta=2,plateau=1", "lens:sigma=1.6,beta=0", "lens:sigma=1.6,plateau=9", "lens:sigma=1.6,beta=2,beta=3"] {
            XCTAssertThrowsError(try Damage.parse(bad), bad) { XCTAssert("\($0)".contains("--degrade"), "\($0)") }
        }
    }

    /// Drawn lenses follow the config's shares: anisotropic and shaped ones about as often as asked,
    /// every σ inside `lens_blur`; JPEG qualities inside `jpeg_range` for `jpeg_share` of the inputs.
    func testDrawsFollowTheConfigsShares() throws {
        var config = DegradationConfig(lensBlur: [0.5, 3])
        (config.lensAnisotropic, config.lensShaped, config.jpegRange, config.jpegShare) = (0.4, 0.3, [40, 95], 0.25)
        var rng = SeededRandom(seed: 3)
        var (anisotropic, shaped, jpegs) = (0, 0, [Int]())
        let draws = 4000
        for _ in 0..<draws {
            guard case .lens(let sigma, let across, let angle, let shape)? = config.drawLens(&rng) else { return XCTFail("no lens drawn") }
            XCTAssert((0.5...3).contains(sigma) && (-90...90).contains(angle))
            if let across { anisotropic += 1; XCTAssert((0.5...3).contains(across)) }
            switch shape {
            case .gaussian: break
            case .generalized(let beta): shaped += 1; XCTAssert((0.5...4).contains(beta))
            case .plateau(let beta): shaped += 1; XCTAssert((1...2).contains(beta))
            }
            for case .jpeg(let q) in config.draw(&rng) { jpegs.append(q) }
        }
        XCTAssertEqual(Double(anisotropic) / Double(draws), 0.4, accuracy: 0.03)
        XCTAssertEqual(Double(shaped) / Double(draws), 0.3, accuracy: 0.03)
        XCTAssertEqual(Double(jpegs.count) / Double(draws), 0.25, accuracy: 0.03)
        XCTAssertEqual(jpegs.min(), 40)
        XCTAssertEqual(jpegs.max(), 95)
        guard case .lens(_, nil, _, .gaussian)? = DegradationConfig(lensBlur: [0, 1]).drawLens(&rng) else {
            return XCTFail("no shares: an isotropic Gaussian, as the soft bases drew")
        }
    }

    /// A second round adds a second draw of noise: on a flat grey picture the noise's variance doubles.
    func testSecondOrderDamagesTwice() throws {
        func variance(secondOrder: Double?) throws -> Double {
            var config = DegradationConfig(noise: 8)
            config.secondOrder = secondOrder
            let pictures = Tensor(shape: [64, 3, 32, 32])
            pictures.fill(0.5)
            var rng = SeededRandom(seed: 5)
            try corrupt(pictures, config, rng: &rng)
            return pictures.array.reduce(0) { $0 + Double(($1 - 0.5) * 255) * Double(($1 - 0.5) * 255) } / Double(pictures.count)
        }
        XCTAssertEqual(try variance(secondOrder: 1) / variance(secondOrder: nil), 2, accuracy: 0.2)
        XCTAssertEqual(try variance(secondOrder: 0) / variance(secondOrder: nil), 1, accuracy: 1e-9, "a share of 0 draws nothing more")
    }

    func testConfigChecksTheNewKeys() throws {
        let text = """
            model: {channels: 8, blocks: 1, activation: prelu, unet: false}
            degradation: {blur: 0, noise: 0, KEY}
            loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
            training: {patch: 32, batch: 4, learning_rate: 0.003, weight_decay: 0.0001, pct_start: 0.25,
                       patches_per_frame: 1, validation_every: 4, seed: 7}
            """
        for (bad, key) in [("lens_anisotropic: 1.5", "lens_anisotropic"), ("second_order: -1", "second_order"),
                           ("jpeg_range: [90, 40]", "jpeg_range"), ("jpeg_share: 2", "jpeg_share"), ("lens_shaped: 3", "lens_shaped"),
                           ("light_gamma: [3, 1]", "light_gamma"), ("light_gain: [0, 1]", "light_gain"), ("light_tint: 0.9", "light_tint"),
                           ("light_share: 1.5", "light_share"), ("light_scene: [1, 9]", "light_scene"), ("resize_share: 2", "resize_share")] {
            XCTAssertThrowsError(try HoneConfig.parse(text.replacingOccurrences(of: "KEY", with: bad), path: "bad.yaml"), bad) {
                XCTAssert("\($0)".contains("degradation.\(key)"), "\($0)")
            }
        }
        let config = try HoneConfig.load(Media.projectRoot.appendingPathComponent("configs/real-x4.yaml").path)
        XCTAssertEqual(config.degradation.summary, "x264 at CRF 18–36 (50 %), JPEG at quality 40–95 (30 %), noise σ up to 3.0 levels, "
                       + "shot noise σ up to 3.0 levels at white, lens blur σ 0.00–3.00 full-resolution pixels, anisotropic (40 %), "
                       + "generalized or plateau kernels (30 %), damaged twice (30 %)")
        let x2 = try HoneConfig.load(Media.projectRoot.appendingPathComponent("configs/real-x2.yaml").path)
        XCTAssertEqual(x2.degradation.summary, "x264 at CRF 18–36 (75 %), JPEG at quality 40–95 (30 %), noise σ up to 3.0 levels, "
                       + "shot noise σ up to 3.0 levels at white, lens blur σ 0.00–1.50 full-resolution pixels, anisotropic (40 %), "
                       + "generalized or plateau kernels (30 %), downscaled by bilinear, box or Lanczos-3 (30 %), damaged twice (30 %)")
    }

    /// `resize_share` of the training targets are downscaled by bilinear, box or Lanczos-3, a third each,
    /// and each training input is one of those kernels' downscales of its target (no other damage here).
    func testResizeKernelsAreDrawnAndApplied() throws {
        var config = DegradationConfig()
        config.resizeShare = 0.6
        var rng = SeededRandom(seed: 4)
        var counts: [ResizeKernel: Int] = [:]
        for _ in 0..<6000 { counts[config.drawResizeKernel(&rng), default: 0] += 1 }
        XCTAssertEqual(Double(counts[.bicubic] ?? 0) / 6000, 0.4, accuracy: 0.03)
        for kernel in [ResizeKernel.bilinear, .box, .lanczos3] { XCTAssertEqual(Double(counts[kernel] ?? 0) / 6000, 0.2, accuracy: 0.03, "\(kernel)") }

        let hone = try HoneConfig.parse("""
            model: {channels: 8, blocks: 1, activation: prelu, unet: false}
            degradation: {blur: 0, noise: 0, resize_share: 1}
            loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
            training: {patch: 32, batch: 8, learning_rate: 0.003, weight_decay: 0.0, pct_start: 0.25,
                       patches_per_frame: 1, validation_every: 4, seed: 7}
            """, path: "resize.yaml")
        let trainer = try Trainer(model: try makeNetwork(hone.model, scale: 2, seed: 3), config: hone, frames: try FrameCache.moving(width: 64, height: 48),
                                  epochs: 1, stepsPerEpoch: 1)
        let targets = Tensor(shape: [24, 3, 16, 16])
        var noise = SeededRandom(seed: 8)
        for i in 0..<targets.count { targets.data[i] = noise.uniform() }
        let inputs = try trainer.degrade(targets)
        XCTAssertEqual(inputs.shape, [24, 3, 8, 8])
        var used: Set<ResizeKernel> = []
        for img in 0..<24 {
            let one = Tensor(shape: [1, 3, 16, 16])
            one.data.update(from: targets.data + img * 768, count: 768)
            let input = Array(UnsafeBufferPointer(start: inputs.data + img * 192, count: 192))
            let match = try [ResizeKernel.bilinear, .box, .lanczos3].first { kernel in
                let small = try kernel.resize(one, .down(2)).array
                return zip(small, input).allSatisfy { abs(eightBit($0) / 255 - $1) < 1e-5 }
            }
            guard let match else { return XCTFail("picture \(img) is no kernel's downscale") }
            used.insert(match)
        }
        XCTAssertEqual(used.count, 3, "every kernel drawn among 24 pictures")
    }

    /// A short run on the whole mix, second round included, gains on its own validation (the held-out
    /// pictures under the mix's typical damage) and its losses stay finite.
    func testAShortRunOnSecondOrderDamageGains() throws {
        let config = try HoneConfig.parse("""
            model: {channels: 8, blocks: 1, activation: prelu, unet: false}
            degradation: {blur: 0.5, noise: 3.0, poisson: 2.0, lens_blur: [0, 2], lens_anisotropic: 0.4, lens_shaped: 0.3,
                          jpeg_range: [40, 95], jpeg_share: 0.5, second_order: 0.5}
            loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
            training: {patch: 32, batch: 8, learning_rate: 0.003, weight_decay: 0.0, pct_start: 0.25,
                       patches_per_frame: 1, validation_every: 4, seed: 7}
            """, path: "mix.yaml")
        let frames = try FrameCache.moving(width: 64, height: 48)
        let trainer = try Trainer(model: try makeNetwork(config.model, scale: 2, seed: 3), config: config, frames: frames, epochs: 1, stepsPerEpoch: 60)
        let upscale = { (lr: Tensor) in try Grad.disabled { try trainer.model(lr) } }
        let before = try trainer.validate(upscale)
        let losses = try (0..<60).map { _ in try trainer.trainStep().loss }
        XCTAssert(losses.allSatisfy { $0.isFinite }, "\(losses)")
        let after = try trainer.validate(upscale)
        XCTAssertGreaterThan(after.psnr, before.psnr + 0.5, "validation \(before.psnr) → \(after.psnr) dB")
    }
}
