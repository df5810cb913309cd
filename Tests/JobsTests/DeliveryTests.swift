import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import XCTest

/// What `hone pack` ships and how it is scored: channel modulation, the
/// attachment's round trip, and the Bjøntegaard deltas.
final class DeliveryTests: XCTestCase {
    static let root = Media.projectRoot
    static let basePath = root.appendingPathComponent("checkpoints/base-x2.safetensors").path

    /// The worked example published with the `bjontegaard` package (FAU-LMS, README: libx265 at two presets).
    /// Expected values: its `bd_rate`/`bd_psnr` with method='cubic' (the VCEG-M33 polynomial fit), version 1.3.0.
    func testBjontegaardMatchesThePublishedExample() {
        let anchor = zip([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851]).map { RatePoint(rate: $0, psnr: $1) }
        let test = zip([9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]).map { RatePoint(rate: $0, psnr: $1) }
        XCTAssertEqual(Bjontegaard.rate(anchor: anchor, test: test)!, -4.420462706026296, accuracy: 1e-6)
        XCTAssertEqual(Bjontegaard.psnr(anchor: anchor, test: test)!, 0.12040941911471303, accuracy: 1e-6)
        XCTAssertEqual(Bjontegaard.rate(anchor: anchor, test: anchor)!, 0, accuracy: 1e-9)
        XCTAssertNil(Bjontegaard.rate(anchor: Array(anchor.prefix(3)), test: test), "a cubic needs 4 points")
        // A test curve 1 dB above the anchor everywhere crosses nowhere; one that dips below crosses where it dips.
        XCTAssertNil(Bjontegaard.crossover(anchor: anchor, test: anchor.map { RatePoint(rate: $0.rate, psnr: $0.psnr + 1) }))
        let dipping = anchor.map { RatePoint(rate: $0.rate, psnr: $0.psnr + ($0.rate > 4000 ? -1 : 1)) }
        let crossing = Bjontegaard.crossover(anchor: anchor, test: dipping)!
        XCTAssert((2486.44...4593.60).contains(crossing), "\(crossing)")
    }

    /// ∂L/∂(scale, U, V) from the projected weight gradients equals finite differences of the loss.
    func testChannelModulationGradientsMatchFiniteDifferences() throws {
        let model = try makeNetwork(ModelConfig(channels: 4, blocks: 1, activation: .prelu, unet: false), scale: 2, seed: 3)
        var rng = SeededRandom(seed: 5)
        // Small weights keep the ReLUs away from their kinks within a finite-difference step.
        for t in model.parameters { for i in 0..<t.count { t.data[i] = rng.uniform(-0.2, 0.2) } }
        let modulation = ChannelModulation(model, rank: 2)
        // U starts at zero, where ∂L/∂V is zero: move it off to check both.
        for (name, t) in modulation.parameters where name.hasSuffix(".delta_out") { for i in 0..<t.count { t.data[i] = rng.uniform(-0.1, 0.1) } }
        modulation.fold()
        let x = Tensor.uniform([1, 3, 6, 5], rng: &rng), r = Tensor.uniform([1, 3, 12, 10], rng: &rng)
        func loss() throws -> Tensor { try sum(try mul(try model(x), r)) }
        model.zeroGrad()
        try loss().backward()
        modulation.projectGradients()
        var checked = 0
        for (name, t) in modulation.parameters where name.contains(".channel_scale") || name.contains(".delta_") {
            for i in stride(from: 0, to: t.count, by: max(1, t.count / 6)) {
                let analytic = t.grad![i], kept = t.data[i], eps: Float = 1e-3
                t.data[i] = kept + eps; modulation.fold()
                let up = try Grad.disabled { try loss().item }
                t.data[i] = kept - eps; modulation.fold()
                let down = try Grad.disabled { try loss().item }
                t.data[i] = kept; modulation.fold()
                XCTAssertEqual(analytic, (up - down) / (2 * eps), accuracy: 0.05 + 1e-2 * abs(analytic), "\(name)[\(i)]")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }

    /// Tuned tensors travel in half precision and rebuild the tuned model from the shipped base.
    func testAttachmentRebuildsTheTunedModelFromTheShippedBase() throws {
        var sizes: [Tuning: Int] = [:]
        for tuning in Tuning.allCases {
            let (tuned, _) = try loadNetwork(checkpoint: Self.basePath)
            let modulation = ChannelModulation(tuned, rank: tuning == .lowRank ? ChannelModulation.rank : 0)
            var rng = SeededRandom(seed: 9)
            for (_, t) in modulation.parameters { for i in 0..<t.count { t.data[i] += rng.uniform(-0.1, 0.1) } }
            modulation.fold()
            let trained = Checkpoint(tensors: tuned.namedTensors() + modulation.parameters.map { ("modulation." + $0.name, $0.tensor) },
                                     metadata: ["hone.scale": "2"])
            let data = try Delivery.encode(trained, tuning: tuning, basePath: Self.basePath, path: "run.ckpt")
            let (rebuilt, read) = try Delivery.decode(data, source: "clip.mkv")
            XCTAssertEqual(read, tuning)
            for ((name, a), (_, b)) in zip(tuned.namedTensors(), rebuilt.namedTensors()) {
                let worst = zip(a.array, b.array).map { abs($0 - $1) / max(abs($0), 1e-2) }.max()!
                XCTAssertLessThan(worst, 5e-3, "\(tuning) \(name): half precision keeps 3 digits")
            }
            sizes[tuning] = data.count
        }
        XCTAssertLessThan(sizes[.channelModulation]!, 6_000, "1,486 numbers in half precision (3 kB) and a header of their names")
        XCTAssertLessThan(sizes[.lowRank]!, sizes[.allWeights]! / 10)
        let (base, _) = try loadNetwork(checkpoint: Self.basePath)
        let foreignData = try Delivery.encode(Checkpoint(tensors: base.namedTensors(), metadata: ["hone.scale": "2"]), tuning: .allWeights,
                                              basePath: Self.basePath, path: "run.ckpt")
        // Another format, another base, or garbage: one line naming the pack, with the way out.
        var foreign = try Checkpoint.parse(foreignData, path: "x")
        foreign.metadata["hone.format"] = "hone-delivery-9"
        foreign.metadata["hone.base_fingerprint"] = "0"
        let otherBase = { () -> Data in var c = foreign; c.metadata["hone.format"] = "hone-delivery-1"; return try! c.encoded() }()
        for (data, words) in [(try foreign.encoded(), "another format"), (otherBase, "another ×2 base"), (Data("junk".utf8), "corrupt")] {
            XCTAssertThrowsError(try Delivery.decode(data, source: "clip.mkv")) { e in
                XCTAssert("\(e)".hasPrefix("clip.mkv: ") && "\(e)".contains(words) && "\(e)".contains("--checkpoint") && !"\(e)".contains("\n"), "\(e)")
            }
        }
    }
}
