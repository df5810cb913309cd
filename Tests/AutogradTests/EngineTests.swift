import Autograd
import XCTest

final class EngineTests: XCTestCase {
    func testShapeErrorsNameBothShapes() {
        let x = Tensor(zeros: [1, 3, 8, 8]), w = Tensor(zeros: [4, 2, 3, 3])
        XCTAssertThrowsError(try conv2d(x, w)) { e in
            XCTAssert("\(e)".contains("[4, 2, 3, 3]") && "\(e)".contains("[1, 3, 8, 8]"), "\(e)")
        }
        XCTAssertThrowsError(try add(Tensor(zeros: [2, 3]), Tensor(zeros: [4, 5]))) { e in
            XCTAssert("\(e)".contains("[2, 3]") && "\(e)".contains("[4, 5]"), "\(e)")
        }
        XCTAssertThrowsError(try mseLoss(Tensor(zeros: [2, 3]), Tensor(zeros: [3, 2]))) { e in
            XCTAssert("\(e)".contains("[2, 3]") && "\(e)".contains("[3, 2]"), "\(e)")
        }
        XCTAssertThrowsError(try pixelShuffle(Tensor(zeros: [1, 3, 2, 2]), 2))
        XCTAssertThrowsError(try conv2d(Tensor(zeros: [3, 8, 8]), w))
        XCTAssertThrowsError(try Tensor(shape: [2, 2], values: [1, 2, 3]))
        XCTAssertThrowsError(try sum(Tensor(zeros: [2])).reshaped([3]))
        XCTAssertThrowsError(try Tensor(zeros: [2, 2]).backward())
    }

    func testNoGradModeRecordsNothing() throws {
        let w = Tensor(zeros: [2, 1, 3, 3], requiresGrad: true)
        let y = try Grad.disabled { try conv2d(Tensor(zeros: [1, 1, 4, 4]), w) }
        XCTAssertFalse(y.needsGrad)
        XCTAssertTrue(try conv2d(Tensor(zeros: [1, 1, 4, 4]), w).needsGrad)
    }

    func testGradientsAccumulateAcrossBackwardCalls() throws {
        let x = try Tensor(shape: [3], values: [1, 2, 3], requiresGrad: true)
        try sum(scale(x, 2)).backward()
        try sum(scale(x, 2)).backward()
        XCTAssertEqual(x.grad, [4, 4, 4])
        x.zeroGrad()
        XCTAssertEqual(x.grad, [0, 0, 0])
    }

    func testParametersAreNamedByPath() {
        final class Block: Module, @unchecked Sendable {
            let conv: Conv2d
            init(rng: inout SeededRandom) { conv = Conv2d(4, 4, rng: &rng) }
        }
        final class Net: Module, @unchecked Sendable {
            let head: Conv2d
            let body: [Block]
            override init() {
                var rng = SeededRandom(seed: 1)
                head = Conv2d(3, 4, rng: &rng)
                body = [Block(rng: &rng), Block(rng: &rng)]
            }
        }
        let names = Net().namedTensors().map(\.name)
        XCTAssertEqual(names, ["head.weight", "head.bias", "body.0.conv.weight", "body.0.conv.bias",
                               "body.1.conv.weight", "body.1.conv.bias"])
    }

    /// A small conv net fits a fixed target: the loss must fall at least 10×.
    func testSmallNetLearns() throws {
        var rng = SeededRandom(seed: 3)
        let c1 = Conv2d(3, 16, rng: &rng), c2 = Conv2d(16, 3, rng: &rng)
        let slope = Tensor(shape: [16], requiresGrad: true)
        slope.fill(0.25)
        let x = Tensor.uniform([4, 3, 16, 16], rng: &rng)
        // Target: a fixed, learnable transform of the input (a blurred, channel-mixed copy).
        let target = try Grad.disabled {
            try resizeBicubic(try resizeBicubic(try add(scale(x, 0.5), Tensor(scalar: 0.2)), .down(2)), .up(2))
        }
        let params = c1.parameters + c2.parameters + [slope]
        let opt = Adam(params, learningRate: 3e-3)
        var first: Float = 0, last: Float = 0
        for step in 0..<200 {
            opt.zeroGrad()
            let loss = try mseLoss(try c2(try prelu(try c1(x), slope)), target)
            try loss.backward()
            clipGradNorm(params, maxNorm: 10)
            opt.update()
            if step == 0 { first = loss.item }
            last = loss.item
        }
        XCTAssertLessThan(last, first / 10, "loss went from \(first) to \(last)")
    }

    func testAdamWMinimisesQuadratic() throws {
        let x = try Tensor(shape: [2], values: [3, -2], requiresGrad: true)
        let opt = Adam.adamW([x], learningRate: 0.1, weightDecay: 0)
        for _ in 0..<300 {
            opt.zeroGrad()
            try sum(try mul(x, x)).backward()
            opt.update()
        }
        XCTAssertLessThan(abs(x.data[0]) + abs(x.data[1]), 0.05)
    }

    func testClipGradNorm() throws {
        let x = try Tensor(shape: [2], values: [0, 0], requiresGrad: true)
        try sum(try mul(x, try Tensor(shape: [2], values: [3, 4]))).backward()
        XCTAssertEqual(clipGradNorm([x], maxNorm: 1), 5, accuracy: 1e-5)
        XCTAssertEqual(x.grad![0], 0.6, accuracy: 1e-4)
        XCTAssertEqual(x.grad![1], 0.8, accuracy: 1e-4)
    }

    func testOneCycleSchedule() {
        let s = OneCycle(maxLR: 1e-2, totalSteps: 100, pctStart: 0.25)
        XCTAssertEqual(s.learningRate(at: 0), 1e-2 / 25, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(at: 25), 1e-2, accuracy: 1e-7)
        XCTAssertLessThan(s.learningRate(at: 100), 1e-7)
        XCTAssertLessThan(s.learningRate(at: 60), s.learningRate(at: 40))
        XCTAssertEqual(s.beta1(at: 25), 0.85, accuracy: 1e-6)
        let linear = OneCycle(maxLR: 1, totalSteps: 100, pctStart: 0.5, div: 10, warmup: .linear)
        XCTAssertEqual(linear.learningRate(at: 25), 0.55, accuracy: 1e-6)
    }
}

extension EngineTests {
    /// OpenBLAS's kernel is chosen by what the CPU can do, not by the name OpenBLAS reports.
    func testBLASKernelChoiceFollowsCPUFeatures() {
        let avx512: Set<String> = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx2", "fma", "avx"]
        let avx2: Set<String> = ["avx2", "fma", "avx"]
        let cases: [(reported: String, flags: Set<String>, chosen: String?)] = [
            ("Prescott", avx512, "SKYLAKEX"),      // a Sapphire Rapids Xeon Debian's OpenBLAS does not know
            ("Haswell", avx512, "SKYLAKEX"),       // Zen 4
            ("Zen", avx512, "SKYLAKEX"),
            ("Sandybridge", avx2, "HASWELL"),
            ("Prescott", avx2, "HASWELL"),
            ("Haswell", avx2, nil),                // already the best it can run
            ("SkylakeX", avx512, nil),
            ("Cooperlake", avx512, nil),           // what it makes of Zen 4 (AVX-512 BF16)
            ("Prescott", ["avx", "sse3"], nil),    // nothing better to pick
            ("Prescott", ["avx512f", "avx2"], nil), // AVX-512 without the rest is not enough for SkylakeX, nor AVX2 without FMA for Haswell
        ]
        for c in cases {
            XCTAssertEqual(BLASKernel.choice(reported: c.reported, flags: c.flags), c.chosen, "\(c.reported) with \(c.flags.sorted())")
        }
    }
}
