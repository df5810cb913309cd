import Autograd
import XCTest

/// The light curves and Zero-DCE's zero-reference losses against finite differences,
/// and the curve against its closed form.
final class LightGradientTests: XCTestCase {
    /// Values in [lo, hi], away from the ends.
    func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.uniform(shape, lo, hi, rng: &rng)
    }

    func testLightCurvesGradients() throws {
        let x = uniform([2, 3, 4, 5], 0.05, 0.95, seed: 1), a = uniform([2, 3, 4, 5], -0.9, 0.9, seed: 2)
        for n in [1, 8] { try checkGradients([x, a], eps: 1e-3) { try lightCurves($0[0], $0[1], iterations: n) } }
    }

    func testLightCurvesIdentityMonotoneAndBounded() throws {
        let x = uniform([1, 3, 8, 8], 0, 1, seed: 3)
        let zero = Tensor(shape: x.shape); zero.fill(0)
        XCTAssertEqual(try lightCurves(x, zero, iterations: 8).array, x.array)
        // One iteration is LE(v) = v + a v (1 − v); a = 1 brightens, a = −1 darkens, inside [0, 1].
        let ones = Tensor(shape: x.shape); ones.fill(1)
        let up = try lightCurves(x, ones, iterations: 8).array, down = try lightCurves(x, scale(ones, -1), iterations: 8).array
        let once = try lightCurves(x, ones, iterations: 1).array
        for (i, v) in x.array.enumerated() {
            XCTAssertEqual(once[i], v + v * (1 - v), accuracy: 1e-6)
            XCTAssertTrue(up[i] >= v && up[i] <= 1 && down[i] <= v && down[i] >= 0)
        }
    }

    func testExposureLossGradientsAndValue() throws {
        let y = uniform([2, 3, 6, 8], 0, 1, seed: 4)
        try checkGradients([y], eps: 1e-3) { try exposureLoss($0[0], level: 0.6, patch: 2) }
        let grey = Tensor(shape: [1, 3, 16, 16]); grey.fill(0.2)
        XCTAssertEqual(try exposureLoss(grey, level: 0.6).item, 0.16, accuracy: 1e-5)
        XCTAssertThrowsError(try exposureLoss(grey, level: 0.6, patch: 32))
    }

    func testColourConstancyLossGradientsAndValue() throws {
        let y = uniform([2, 3, 5, 4], 0, 1, seed: 5)
        try checkGradients([y], eps: 1e-3, atol: 1e-4) { try colourConstancyLoss($0[0]) }
        // Means (0.6, 0.4, 0.4): D_rg = D_rb = 0.04, D_gb = 0 → √(2 · 0.04²).
        let cast = Tensor(shape: [1, 3, 2, 2])
        for i in 0..<12 { cast.data[i] = i < 4 ? 0.6 : 0.4 }
        XCTAssertEqual(try colourConstancyLoss(cast).item, (2 * 0.0016 as Float).squareRoot(), accuracy: 1e-5)
    }

    func testSpatialConsistencyLossGradientsAndValue() throws {
        let y = uniform([1, 3, 8, 12], 0, 1, seed: 6), x = uniform([1, 3, 8, 12], 0, 1, seed: 7)
        try checkGradients([y], eps: 1e-3) { try spatialConsistencyLoss($0[0], x, patch: 2) }
        XCTAssertEqual(try spatialConsistencyLoss(x, x, patch: 2).item, 0, accuracy: 1e-7)
        // A picture brightened by a constant keeps its contrasts; one scaled by 2 doubles them.
        XCTAssertEqual(try spatialConsistencyLoss(try add(scale(x, 0.5), Tensor(scalar: 0.2)), try add(scale(x, 0.5), Tensor(scalar: 0.1)), patch: 2).item,
                       0, accuracy: 1e-6)
        XCTAssertGreaterThan(try spatialConsistencyLoss(scale(x, 2), x, patch: 2).item, 0.01)
    }

    func testSmoothnessLossGradientsAndValue() throws {
        let a = uniform([2, 3, 5, 6], -1, 1, seed: 8)
        try checkGradients([a], eps: 1e-3) { try smoothnessLoss($0[0]) }
        // A ramp of step 0.1 along x: mean horizontal square 0.01, vertical 0.
        let ramp = Tensor(shape: [1, 1, 3, 4])
        for i in 0..<12 { ramp.data[i] = Float(i % 4) * 0.1 }
        XCTAssertEqual(try smoothnessLoss(ramp).item, 0.01, accuracy: 1e-6)
    }

    func testPlaneMeansGradientsAndValue() throws {
        let x = uniform([2, 3, 4, 5], -1, 1, seed: 9)
        try checkGradients([x]) { try planeMeans($0[0]) }
        let y = try planeMeans(x).array
        for p in 0..<6 {
            let mean = x.array[(p * 20)..<(p * 20 + 20)].reduce(0, +) / 20
            for i in 0..<20 { XCTAssertEqual(y[p * 20 + i], mean, accuracy: 1e-6) }
        }
    }
}
