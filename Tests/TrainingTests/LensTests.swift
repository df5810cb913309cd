import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import XCTest

/// A camera's blur (`Damage.lens`): written, applied before the downscale at the σ asked, and learnt from.
final class LensTests: XCTestCase {
    func testLensParsesFirstAndRefusesWhatItCannotBe() throws {
        XCTAssertEqual(try Damage.parse("x264:crf=28+lens:sigma=1.6"), [.lens(sigma: 1.6), .x264(crf: 28)], "the lens comes before the codec")
        XCTAssertEqual(try Damage.parse("lens:sigma=1.6").map(\.description), ["lens:sigma=1.6"])
        for bad in ["lens", "lens:sigma=11", "lens:sigma=-1", "lens:radius=2"] {
            XCTAssertThrowsError(try Damage.parse(bad), bad) { XCTAssert("\($0)".contains("--degrade"), "\($0)") }
        }
    }

    /// A point of light blurred by the lens spreads with the variance σ² in each direction
    /// (less a little: the kernel is cut at 3σ), and its light is kept.
    func testLensBlurOfAKnownSigmaIsMeasuredBack() throws {
        for sigma: Float in [0.8, 1.6, 2.4] {
            let (h, w) = (41, 41)
            let point = Tensor(shape: [1, 3, h, w])
            point.fill(0)
            for c in 0..<3 { point.data[c * h * w + 20 * w + 20] = 1 }
            let soft = Damage.applyLens([.lens(sigma: sigma), .x264(crf: 28)], to: point)
            var (total, variance) = (0.0, 0.0)
            for y in 0..<h { for x in 0..<w {
                let v = Double(soft.data[y * w + x])
                total += v
                variance += v * Double((x - 20) * (x - 20))
            }}
            XCTAssertEqual(total, 1, accuracy: 1e-4, "σ \(sigma): light kept")
            XCTAssertEqual(variance.squareRoot(), Double(sigma), accuracy: 0.03 * Double(sigma), "σ \(sigma) measured back")
            XCTAssertEqual(point.data[20 * w + 20], 1, "the picture itself is left as it was")
        }
        let picture = Tensor(shape: [1, 3, 4, 4])
        XCTAssert(Damage.applyLens([.noise(sigma: 3)], to: picture) === picture, "no lens: the picture itself")
    }

    /// An anisotropic lens spreads a point with σ² along its direction and across² across it.
    func testAnisotropicLensIsMeasuredBackAlongAndAcross() throws {
        let damages = try Damage.parse("lens:sigma=2.4,across=1.0,angle=30")
        XCTAssertEqual(damages, [.lens(sigma: 2.4, across: 1.0, angle: 30)])
        XCTAssertEqual(damages.map(\.description), ["lens:sigma=2.4,across=1,angle=30"])
        let (h, w) = (41, 41)
        let point = Tensor(shape: [1, 3, h, w])
        point.fill(0)
        for c in 0..<3 { point.data[c * h * w + 20 * w + 20] = 1 }
        let soft = Damage.applyLens(damages, to: point)
        let (c, s) = (cos(30 * Double.pi / 180), sin(30 * Double.pi / 180))
        var (total, along, acrossVariance, mixed) = (0.0, 0.0, 0.0, 0.0)
        for y in 0..<h { for x in 0..<w {
            let v = Double(soft.data[y * w + x]), (dx, dy) = (Double(x - 20), Double(y - 20))
            let (u, t) = (dx * c - dy * s, dx * s + dy * c)  // along and across; up is −y
            total += v; along += v * u * u; acrossVariance += v * t * t; mixed += v * u * t
        }}
        XCTAssertEqual(total, 1, accuracy: 1e-4, "light kept")
        XCTAssertEqual(along.squareRoot(), 2.4, accuracy: 0.03 * 2.4, "σ along")
        XCTAssertEqual(acrossVariance.squareRoot(), 1.0, accuracy: 0.03, "σ across")
        XCTAssertEqual(mixed, 0, accuracy: 0.01, "the axes are where the angle says")
        XCTAssertGreaterThan(soft.data[(20 - 1) * w + 20 + 2], soft.data[(20 + 1) * w + 20 + 2], "30° leans up to the right")
        for bad in ["lens:sigma=2,across=11", "lens:sigma=2,angle=200"] {
            XCTAssertThrowsError(try Damage.parse(bad), bad)
        }
    }

    /// `lens_blur` is checked, and a training target's lens blur comes before the downscale: the
    /// edge of a step spreads by (σ/s)² more in low-resolution pixels² than a plain downscale's.
    func testTrainingInputsOfALensBlurSpreadAnEdgeBySigmaOverScale() throws {
        let tiny = """
            model: {channels: 8, blocks: 1, activation: prelu, unet: false}
            degradation: {blur: 0, noise: 0, lens_blur: [LENS]}
            loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
            training: {patch: 32, batch: 4, learning_rate: 0.003, weight_decay: 0.0001, pct_start: 0.25,
                       patches_per_frame: 1, validation_every: 4, seed: 7}
            """
        XCTAssertThrowsError(try HoneConfig.parse(tiny.replacingOccurrences(of: "LENS", with: "2, 1"), path: "bad.yaml")) {
            XCTAssert("\($0)".contains("degradation.lens_blur"), "\($0)")
        }
        let folder = try Media.temporaryFolder("lens")
        defer { try? FileManager.default.removeItem(at: folder) }
        let step = folder.appendingPathComponent("step.png").path
        try Media.ffmpeg(["-f", "lavfi", "-i", "color=c=black:size=96x64", "-vf", "drawbox=x=48:y=0:w=48:h=64:color=white:t=fill",
                          "-frames:v", "1", step])
        let photos = try FrameCache(images: Array(repeating: step, count: 4), maxSide: 96) { _, _ in }
        /// The variance (low-resolution pixels²) of the edge's spread: the second moment of the row's differences.
        func spread(_ lens: String) throws -> Double {
            let config = try HoneConfig.parse(tiny.replacingOccurrences(of: "LENS", with: lens), path: "tiny.yaml")
            let trainer = try Trainer(model: try makeNetwork(config.model, scale: 2), config: config, frames: photos, epochs: 1)
            let lr = try trainer.degrade(photos.frame(0))
            let w = lr.shape[3]
            let row = (0..<w).map { Double(lr.data[10 * w + $0]) }
            let d = (1..<w).map { row[$0] - row[$0 - 1] }
            let total = d.reduce(0, +)
            let mean = d.indices.reduce(0) { $0 + Double($1) * d[$1] } / total
            return d.indices.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) * d[$1] } / total
        }
        XCTAssertEqual(try spread("2, 2") - spread("0, 0"), 1.0, accuracy: 0.15, "lens σ 2 at ×2: (2/2)² more")
    }

    /// Learning the video's own blur needs the frames as targets: `--lens-sigma` chooses them,
    /// sets the config's range to that σ, and is refused beside ensemble targets.
    func testLensSigmaLearnsFromTheFrames() throws {
        var settings = TrainingSettings()
        settings.config = Media.projectRoot.appendingPathComponent("configs/default.yaml").path
        let model = try settings.loadConfig(fallback: "configs/default.yaml").model
        XCTAssertEqual(settings.targets(base: .checkpoint("base.safetensors"), model: model), .ensemble, "today's default is kept")
        settings.lensSigma = 1.6
        XCTAssertEqual(settings.targets(base: .checkpoint("base.safetensors"), model: model), .frames)
        XCTAssertEqual(try settings.loadConfig(fallback: "configs/default.yaml").degradation.lensBlur, [1.6, 1.6])
        settings.targets = .ensemble
        XCTAssertThrowsError(try settings.loadConfig(fallback: "configs/default.yaml")) { XCTAssert("\($0)".contains("--lens-sigma"), "\($0)") }
    }
}

/// The lens blur estimated from a video alone, on real frames blurred by a known σ and downscaled.
final class LensEstimateTests: XCTestCase {
    /// Six frames of each test clip as ground truth, lens-blurred, downscaled and (or not) through
    /// x264 at CRF 28: the estimate grows with σ, and at ×2 it is within 25 % of σ 1.6 and 2.0.
    /// (At ×4 and below σ 1.2 a scene's own softness counts too: notebooks-notes/real-damage.md.)
    func testLensSigmaIsMeasuredBackFromBlurredDownscaledFrames() throws {
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        for (clip, w, h) in [("chaplin.mp4", 640, 360), ("tears_of_steel.webm", 960, 400), ("realshort.mp4", 320, 240)] {
            let truth = Array(try Media.decodeRGB(shared.appendingPathComponent("clips/" + clip).path, width: w, height: h).enumerated()
                .filter { $0.offset % 12 == 6 }.prefix(6).map(\.element))
            for (scale, x264) in [(2, false), (2, true), (4, false)] {
                let found = try [Float(0), 1.0, 1.6, 2.0].map { sigma -> Double in
                    let damages: [Damage] = [.lens(sigma: sigma)] + (x264 ? [.x264(crf: 28)] : [])
                    let stream = DamagedStream(damages, seed: 1)
                    let low = try truth.flatMap { try stream.push(try bicubicInput(Damage.applyLens(damages, to: $0), scale: scale)) } + stream.finish()
                    return try XCTUnwrap(DamageEstimate.measure(low, codec: "test", meanQP: nil).lensSigma(scale: scale))
                }
                let label = "\(clip) ×\(scale)\(x264 ? " x264" : ""): σ 0, 1, 1.6, 2 → \(found.map { String(format: "%.2f", $0) })"
                if !x264 { XCTAssertEqual(found, found.sorted(), "grows with σ: " + label) }
                if scale == 2 {
                    XCTAssertEqual(found[2], 1.6, accuracy: 0.4, label)
                    XCTAssertEqual(found[3], 2.0, accuracy: 0.5, label)
                }
            }
        }
    }

    /// With nothing asked, a soft clip learns its blur from the frames at ×4 and a sharp one keeps
    /// today's targets, a soft and compressed one starts from the real-damage base; at ×2 a clip learns
    /// no blur, a soft and compressed one starts from the ×2 real-damage base and a sharp, compressed one
    /// keeps today's run; each says so in one line.
    func testAutomaticChoiceLearnsTheBlurOfASoftClipOnly() throws {
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        let truth = Array(try Media.decodeRGB(shared.appendingPathComponent("clips/tears_of_steel.webm").path, width: 960, height: 400).prefix(4))
        let config = try HoneConfig.load(Media.projectRoot.appendingPathComponent("configs/default.yaml").path)
        for (sigma, soft) in [(Float(0), false), (2.4, true)] {
            let low = try truth.map { try bicubicInput(Damage.applyLens([.lens(sigma: sigma)], to: $0), scale: 4) }
            var record = RunRecord(config: config, scale: 4, base: .random, epochs: 1)
            let observer = RecordingObserver()
            TrainingSettings().learnDamage({ DamageEstimate.measure(low, codec: "uncompressed", meanQP: nil) }, record: &record, fromShipped: false,
                                           observer: observer)
            XCTAssertEqual(observer.reports.count, 1, "\(observer.reports)")
            XCTAssert(observer.reports[0].hasPrefix(soft ? "soft: " : "sharp enough: "), observer.reports[0])
            XCTAssertEqual(record.config.degradation.lensRange != nil, soft, "lens σ \(sigma): \(observer.reports[0])")
        }
        let soft2 = try truth.map { try bicubicInput(Damage.applyLens([.lens(sigma: 2.4)], to: $0), scale: 2) }
        var atTwo = RunRecord(config: config, scale: 2, base: .random, epochs: 1)
        let said = RecordingObserver()
        TrainingSettings().learnDamage({ DamageEstimate.measure(soft2, codec: "test", meanQP: nil) }, record: &atTwo, fromShipped: false, observer: said)
        XCTAssert(said.reports.first?.hasPrefix("not compressed: ") == true && atTwo.config.degradation.lensRange == nil, "×2 learns no blur alone: \(said.reports)")
        // Compressed, the same clip keeps today's targets, from the ×2 real-damage base.
        var compressed = RunRecord(config: config, scale: 2, base: .random, epochs: 1)
        compressed.targets = .ensemble  // a fresh run's default
        let told = RecordingObserver()
        TrainingSettings().learnDamage({ DamageEstimate.measure(soft2, codec: "h264", meanQP: 28.4) }, record: &compressed, fromShipped: true, observer: told)
        XCTAssertEqual(told.reports.count, 1, "\(told.reports)")
        XCTAssert(told.reports[0].hasPrefix("soft and compressed: h264 at mean QP 28.4, edges as after a lens blur σ ≈ "), told.reports[0])
        XCTAssert(told.reports[0].hasSuffix("→ ensemble targets, starting from the real-damage base (base-x2-real); validated on held-out frames re-encoded at CRF 28"),
                  told.reports[0])
        XCTAssertEqual(compressed.config.degradation.x264CRF, [28, 28], "validation damages the held-out frames as the video was")
        XCTAssertEqual(compressed.base, StartingModel.shipped(.real, scale: 2, config: config))
        XCTAssert(compressed.base.argument.hasSuffix("checkpoints/base-x2-real.safetensors"), compressed.base.argument)
        XCTAssertEqual(compressed.targets, .ensemble)
        XCTAssertNil(compressed.config.degradation.lensRange, "nothing of the damage is learnt at ×2")
        XCTAssertEqual(compressed.damageFound, told.reports[0], "the record keeps the line (the web page shows it)")
        // Sharp and compressed: today's run.
        let sharp2 = try truth.map { try bicubicInput($0, scale: 2) }
        var sharp = RunRecord(config: config, scale: 2, base: .random, epochs: 1)
        sharp.targets = .ensemble
        let plain = RecordingObserver()
        TrainingSettings().learnDamage({ DamageEstimate.measure(sharp2, codec: "h264", meanQP: 28.4) }, record: &sharp, fromShipped: true, observer: plain)
        XCTAssert(plain.reports[0].hasPrefix("compressed: h264 at mean QP 28.4, edges as after a lens blur σ ≈ ")
                  && plain.reports[0].hasSuffix("→ ensemble targets, as for a clean video"), plain.reports[0])
        XCTAssertEqual(sharp.base, .random)
        XCTAssertNil(sharp.config.degradation.x264CRF)
        // A run from a checkpoint of its own keeps it.
        var own = RunRecord(config: config, scale: 2, base: .random, epochs: 1)
        TrainingSettings().learnDamage({ DamageEstimate.measure(soft2, codec: "h264", meanQP: 28.4) }, record: &own, fromShipped: false,
                                       observer: RecordingObserver())
        XCTAssertEqual(own.base, .random)
        // Soft and compressed at ×4: ensemble targets from the real-damage base, nothing learnt of the blur.
        let low = try truth.map { try bicubicInput(Damage.applyLens([.lens(sigma: 2.4)], to: $0), scale: 4) }
        var both = RunRecord(config: config, scale: 4, base: .random, epochs: 1)
        let found = RecordingObserver()
        TrainingSettings().learnDamage({ DamageEstimate.measure(low, codec: "h264", meanQP: 33.1) }, record: &both, fromShipped: true, observer: found)
        XCTAssertEqual(found.reports.count, 1, "\(found.reports)")
        XCTAssert(found.reports[0].hasPrefix("soft and compressed: h264 at mean QP 33.1, edges as after a lens blur σ ≈ "), found.reports[0])
        XCTAssert(found.reports[0].contains("→ ensemble targets, starting from the real-damage base"), found.reports[0])
        XCTAssertEqual(both.base, StartingModel.shipped(.real, scale: 4, config: config))
        XCTAssert(both.base.argument.hasSuffix("checkpoints/base-x4-real.safetensors"), both.base.argument)
        XCTAssertEqual(both.targets, .ensemble)
        XCTAssertNil(both.config.degradation.lensRange)
        var asked = TrainingSettings()
        asked.lensSigma = 0  // --lens-sigma 0: no lens, and no analysis overrides it
        XCTAssertNil(asked.automaticLens(DamageEstimate.measure(low, codec: "test", meanQP: nil), scale: 4, config: config))
    }

    /// At ×1 a soft clip starts from the ×1 real-damage base, validated on held-out frames blurred by the
    /// σ found and re-encoded at the stream's QP, and a sharp one from the noise and compression base
    /// (`base-x1`) as before, both with today's targets; each says so in one line.
    func testAutomaticChoiceAtX1StartsASoftClipFromTheRealDamageBase() throws {
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        let truth = Array(try Media.decodeRGB(shared.appendingPathComponent("clips/tears_of_steel.webm").path, width: 960, height: 400).prefix(4))
        let config = try HoneConfig.load(try XCTUnwrap(ProjectFiles.find(TrainingSettings.restorationConfig)))
        for (sigma, soft) in [(Float(0), false), (1.5, true)] {
            let pictures = truth.map { Damage.applyLens([.lens(sigma: sigma)], to: $0) }
            var record = RunRecord(config: config, scale: 1, base: StartingModel.shipped.resolved(scale: 1, config: config), epochs: 1)
            record.targets = .ensemble  // a fresh run's default
            let observer = RecordingObserver()
            TrainingSettings().learnDamage({ DamageEstimate.measure(pictures, codec: "h264", meanQP: 30) }, record: &record, fromShipped: true,
                                           observer: observer)
            XCTAssertEqual(observer.reports.count, 1, "\(observer.reports)")
            let said = observer.reports[0]
            XCTAssert(said.hasPrefix((soft ? "soft" : "sharp enough") + ": h264 at mean QP 30.0, edges as after a lens blur σ ≈ "), said)
            XCTAssert(soft ? said.contains("→ ensemble targets, starting from the real-damage base (base-x1-real); validated on held-out frames blurred by σ ")
                           && said.hasSuffix(" and re-encoded at CRF 30") : said.hasSuffix("→ ensemble targets, from base-x1, which learnt noise and compression"), said)
            XCTAssert(record.base.argument.hasSuffix(soft ? "checkpoints/base-x1-real.safetensors" : "checkpoints/base-x1.safetensors"),
                      record.base.argument)
            XCTAssertEqual(record.targets, .ensemble)
            // Ensemble targets learn from the frames as they are: the lens and the CRF are for validation alone.
            XCTAssertEqual(record.config.degradation.lensRange.map { $0.lowerBound == $0.upperBound && $0.lowerBound > 1 } ?? false, soft)
            XCTAssertEqual(record.config.degradation.x264CRF, soft ? [30, 30] : config.degradation.x264CRF)
        }
    }
}
