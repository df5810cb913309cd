import Autograd
import Networks
import TestSupport
import Training
import VideoIO
import XCTest

/// Light damages measured back, the curve network's identity, and a short
/// zero-reference fine-tune on a dark, tinted generated clip.
final class LightTests: XCTestCase {
    func testDarkAndTintMeasuredBack() throws {
        let picture = Tensor(shape: [1, 3, 4, 4])
        for i in 0..<picture.count { picture.data[i] = Float(i % 16) / 15 }
        let dark = try Damage.apply(try Damage.parse("dark:gamma=2.2,gain=0.35"), to: picture, seed: 1)
        let tinted = try Damage.apply(try Damage.parse("tint:r=1.15,g=1,b=0.8"), to: picture, seed: 1)
        for i in 0..<picture.count {
            let v = picture.data[i]
            // Both round to 8 bits, as a video stores them.
            XCTAssertEqual(dark.data[i], (0.35 * pow(v, 2.2) * 255).rounded() / 255, accuracy: 1e-6)
            let gain: Float = [1.15, 1, 0.8][i / 16]
            XCTAssertEqual(tinted.data[i], (min(1, v * gain) * 255).rounded() / 255, accuracy: 1e-6)
        }
    }

    func testLightDamagesParseAndRefuse() throws {
        let damages = try Damage.parse("x264:crf=18+noise:sigma=3,poisson=32.9+tint:r=1.15,b=0.8+dark:gamma=2.2,gain=0.35")
        // Applied in the order a camera makes them: light, colour, noise, codec.
        XCTAssertEqual(damages.map(\.description), ["dark:gamma=2.2,gain=0.35", "tint:r=1.15,g=1,b=0.8", "noise:sigma=3,poisson=32.9", "x264:crf=18"])
        for bad in ["dark:gain=0.5", "dark:gamma=9", "tint:r=3", "tint:r=1,r=1", "dark:gamma=2,level=1"] {
            XCTAssertThrowsError(try Damage.parse(bad), bad) { XCTAssertTrue("\($0)".contains("--degrade"), "\($0)") }
        }
    }

    func testFreshCurveNetAndStrengthZeroAreTheIdentity() throws {
        let config = ModelConfig(architecture: .curves, channels: 8, blocks: 0, activation: .relu, unet: false)
        let model = try CurveNet(config, scale: 1)
        let picture = Tensor(shape: [1, 3, 21, 30])
        for i in 0..<picture.count { picture.data[i] = Float(i % 97) / 96 }
        XCTAssertEqual(try model(picture).array, picture.array)
        model.namedTensors().first { $0.name == "convs.6.weight" }!.tensor.fill(0.05)
        XCTAssertNotEqual(try model(picture).array, picture.array)
        model.strength = .fixed(0)
        XCTAssertEqual(try model(picture).array, picture.array)
        XCTAssertThrowsError(try CurveNet(config, scale: 2))
    }

    /// The highlight level read back from pictures made with known ones: the brightest 0.1 % of
    /// 4×4 means, so one bright pixel (noise) does not count and a bright patch of 1 % does.
    func testHighlightLevelsAndTheAutoShare() throws {
        let picture = Tensor(shape: [2, 3, 160, 160])  // 1600 means: 0.1 % is under 2 of them
        picture.fill(0.3)
        for c in 0..<3 { picture.data[(3 + c) * 160 * 160 + 80 * 160 + 80] = 1 }  // one white pixel in the second picture
        for level in CurveNet.highlightLevels(picture) { XCTAssertEqual(level, 0.3, accuracy: 1.0 / 512) }
        for c in 0..<3 { for y in 0..<16 { for x in 0..<16 { picture.data[(3 + c) * 160 * 160 + y * 160 + x] = 1 } } }  // 1 %
        XCTAssertEqual(CurveNet.highlightLevels(picture)[1], 1, accuracy: 1.0 / 512)
        // Luma is BT.601's: a pure red patch reads 0.299.
        picture.fill(0)
        for y in 0..<16 { for x in 0..<16 { picture.data[y * 160 + x] = 1 } }
        let levels = CurveNet.highlightLevels(picture)
        XCTAssertEqual(levels[0], 0.299, accuracy: 1.0 / 512)
        XCTAssertEqual(levels[1], 0, accuracy: 1.0 / 512)

        // A picture under 4 pixels on a side is read in blocks of its shorter side.
        let thin = Tensor(shape: [1, 3, 1, 8])
        thin.fill(0.2)
        for c in 0..<3 { thin.data[c * 8 + 3] = 0.9 }
        XCTAssertEqual(CurveNet.highlightLevels(thin)[0], 0.9, accuracy: 1.0 / 512)

        XCTAssertEqual(CurveNet.autoShare(highlight: 0.4), 1)
        XCTAssertEqual(CurveNet.autoShare(highlight: 0.575), 0.5, accuracy: 1e-5)
        XCTAssertEqual(CurveNet.autoShare(highlight: 0.9), 0)
    }

    /// `auto` applies the whole curve to a dark picture and none to one whose highlights reach white.
    func testAutoStrengthJudgesEachPicture() throws {
        let model = try CurveNet(ModelConfig(architecture: .curves, channels: 8, blocks: 0, activation: .relu, unet: false), scale: 1)
        model.namedTensors().first { $0.name == "convs.6.bias" }!.tensor.fill(0.5)  // brightens everything
        let (dark, bright) = (Tensor(shape: [1, 3, 64, 64]), Tensor(shape: [1, 3, 64, 64]))
        for i in 0..<dark.count { dark.data[i] = Float(i % 61) / 60 * 0.4; bright.data[i] = Float(i % 61) / 60 }
        model.strength = .fixed(1)
        let (whole, brightened) = (try model(dark).array, try model(bright).array)
        XCTAssertNotEqual(brightened, bright.array)
        model.strength = .auto
        XCTAssertEqual(try model(dark).array, whole)
        XCTAssertEqual(try model(bright).array, bright.array)
        // Both in one batch: each judged on its own.
        let both = Tensor(shape: [2, 3, 64, 64])
        both.data.update(from: dark.data, count: dark.count)
        (both.data + dark.count).update(from: bright.data, count: bright.count)
        let out = try model(both).array
        XCTAssertEqual(Array(out[..<dark.count]), whole)
        XCTAssertEqual(Array(out[dark.count...]), bright.array)
    }

    func testLightSettingParses() throws {
        XCTAssertEqual(try LightSetting("auto").strength, .auto)
        XCTAssertEqual(try LightSetting("0.4").strength, .fixed(0.4))
        for bad in ["1.5", "-0.1", "bright", "nan"] { XCTAssertThrowsError(try LightSetting(bad), bad) }
        // Stored as the option is written; a job stored before `auto` was its own value holds a number.
        for strength in [LightStrength.auto, .fixed(0.4)] {
            XCTAssertEqual(try JSONDecoder().decode(LightStrength.self, from: try JSONEncoder().encode(strength)), strength)
        }
        XCTAssertEqual(try JSONDecoder().decode([LightStrength].self, from: Data("[1, \"auto\"]".utf8)), [.fixed(1), .auto])
        XCTAssertThrowsError(try JSONDecoder().decode([LightStrength].self, from: Data("[2]".utf8)))
    }

    /// Mean brightness and grey-world error (`colourConstancyLoss`) over a clip's frames, corrected by `model`.
    func measure(_ frames: FrameCache, _ model: CurveNet) throws -> (mean: Float, greyWorld: Float) {
        try Grad.disabled {
            var (mean, grey): (Float, Float) = (0, 0)
            for i in 0..<frames.count {
                let out = try model(frames.frame(i))
                mean += out.array.reduce(0, +) / Float(out.count * frames.count)
                grey += try colourConstancyLoss(out).item / Float(frames.count)
            }
            return (mean, grey)
        }
    }

    func testZeroReferenceFineTuneBrightensAndNeutralisesADarkTintedClip() throws {
        let clean = try FrameCache.moving(count: 8, width: 64, height: 64)
        let damages = try Damage.parse("dark:gamma=2.2,gain=0.35+tint:r=1.2,g=1,b=0.75")
        var k = 0
        let dark = try FrameCache(source: "dark") {
            defer { k += 1 }
            return k < clean.count ? try Damage.apply(damages, to: clean.frame(k), seed: 1) : nil
        }
        let config = ModelConfig(architecture: .curves, channels: 8, blocks: 0, activation: .relu, unet: false)
        let (model, start) = (try CurveNet(config, scale: 1), try CurveNet(config, scale: 1))
        let before = try measure(dark, model)
        var tuning = LightTuning()
        (tuning.epochs, tuning.crop, tuning.pairs, tuning.learningRate) = (20, 64, 2, 3e-3)
        tuning.weights.anchor = 0  // a fresh start is the identity: nothing to keep
        let report = try tuning.run(model, start: start, frames: dark, observer: RecordingObserver())
        let after = try measure(dark, model)
        XCTAssertEqual(report.level, 0.4, "a dark start's level is the band's lower end")
        XCTAssertGreaterThan(after.mean, before.mean + 0.05, "brighter, toward the level 0.4 (from \(before.mean))")
        XCTAssertLessThan(after.greyWorld, before.greyWorld * 0.7, "more neutral")
    }

    func testTheShippedLightConfigIsACurveModelAtOne() throws {
        let config = try HoneConfig.load(Media.projectRoot.appendingPathComponent("configs/light.yaml").path)
        XCTAssertEqual(config.model.layout, .curves)
        XCTAssertNil(config.problem(scale: 1))
        XCTAssertEqual(config.problem(scale: 2), "a curves model corrects light at ×1; ×2 takes another architecture")
        XCTAssert(config.degradation.summary.contains("light: gamma 1.50–3.00, gain 0.15–0.70 (60 %)"), config.degradation.summary)
    }
}
