import Autograd
import XCTest

/// Central finite differences against the analytic backward pass, for every
/// op and every input that takes a gradient. The loss is Σ y·R with fixed
/// random R, so every output element carries a distinct upstream gradient.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 1e-2,
                    samples: Int = 40, file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Tensor]) throws -> Tensor) throws {
    var rng = SeededRandom(seed: 99)
    let probe = try Grad.disabled { try f(inputs) }
    let r = Tensor.uniform(probe.shape, -1, 1, rng: &rng)
    func loss() throws -> Double {
        let y = try Grad.disabled { try f(inputs) }
        return (0..<y.count).reduce(0.0) { $0 + Double(y.data[$1]) * Double(r.data[$1]) }
    }
    for x in inputs { x.requiresGrad = true; x.zeroGrad() }
    try sum(try mul(try f(inputs), r)).backward()
    for (k, x) in inputs.enumerated() {
        guard let grad = x.grad else { XCTFail("input \(k) \(x.shape) got no gradient", file: file, line: line); continue }
        let indices = x.count <= samples ? Array(0..<x.count) : (0..<samples).map { _ in Int(rng.next() % UInt64(x.count)) }
        for i in indices {
            let saved = x.data[i]
            x.data[i] = saved + eps
            let plus = try loss()
            x.data[i] = saved - eps
            let minus = try loss()
            x.data[i] = saved
            let numeric = Float((plus - minus) / Double(2 * eps))
            let tol = atol + rtol * max(abs(numeric), abs(grad[i]))
            if abs(numeric - grad[i]) > tol {
                XCTFail("input \(k) \(x.shape) element \(i): analytic \(grad[i]) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

/// Random values kept at least `gap` away from zero, so kinks (relu, L1) are not straddled.
func random(_ shape: [Int], seed: UInt64, gap: Float = 0) -> Tensor {
    var rng = SeededRandom(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count {
        let v = rng.uniform(-1, 1)
        t.data[i] = v >= 0 ? v + gap : v - gap
    }
    return t
}

final class GradientCheckTests: XCTestCase {
    func testConv2d() throws {
        // (n, c, h, w, out, kernel, stride, padding, bias)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
            (2, 3, 7, 6, 4, 3, 1, 1, true),
            (1, 2, 9, 5, 3, 3, 2, 0, true),
            (3, 2, 8, 7, 2, 3, 2, 1, false),
            (2, 4, 5, 5, 3, 1, 1, 0, true),
            (1, 1, 6, 6, 2, 5, 1, 2, true),
        ]
        for (i, (n, c, h, w, o, k, s, p, b)) in cases.enumerated() {
            let x = random([n, c, h, w], seed: UInt64(i))
            let wt = random([o, c, k, k], seed: UInt64(100 + i))
            let bias = random([o], seed: UInt64(200 + i))
            try checkGradients(b ? [x, wt, bias] : [x, wt]) { t in
                try conv2d(t[0], t[1], b ? t[2] : nil, stride: s, padding: p)
            }
        }
    }

    /// The transposed convolution by finite differences, and against its definition written out:
    /// each input pixel scatters its weights into the output at stride steps, then `padding` is cut from each side.
    func testDeconv2d() throws {
        // (n, c, h, w, out, kernel, stride, padding, bias): waifu2x's and Real-CUGAN's 4/2/3, 2/2/0 and 3/3/… shapes among them.
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
            (2, 3, 5, 4, 2, 4, 2, 3, true),
            (1, 2, 4, 5, 3, 2, 2, 0, true),
            (1, 2, 3, 3, 2, 3, 1, 1, false),
            (2, 1, 3, 4, 2, 5, 3, 2, true),
        ]
        for (i, (n, c, h, w, o, k, s, p, b)) in cases.enumerated() {
            let x = random([n, c, h, w], seed: UInt64(i)), wt = random([c, o, k, k], seed: UInt64(100 + i)), bias = random([o], seed: UInt64(200 + i))
            try checkGradients(b ? [x, wt, bias] : [x, wt]) { t in try deconv2d(t[0], t[1], b ? t[2] : nil, stride: s, padding: p) }
            let y = try deconv2d(x, wt, b ? bias : nil, stride: s, padding: p)
            let (fh, fw) = ((h - 1) * s + k, (w - 1) * s + k)
            XCTAssertEqual(y.shape, [n, o, fh - 2 * p, fw - 2 * p])
            var full = [Float](repeating: 0, count: n * o * fh * fw)
            let (xs, ws) = (x.array, wt.array)
            for img in 0..<n { for ci in 0..<c { for iy in 0..<h { for ix in 0..<w { for oi in 0..<o { for ky in 0..<k { for kx in 0..<k {
                full[((img * o + oi) * fh + iy * s + ky) * fw + ix * s + kx] += xs[((img * c + ci) * h + iy) * w + ix] * ws[((ci * o + oi) * k + ky) * k + kx]
            }}}}}}}
            let ys = y.array, (oh, ow) = (fh - 2 * p, fw - 2 * p)
            for img in 0..<n { for oi in 0..<o { for r in 0..<oh { for q in 0..<ow {
                let expected = full[((img * o + oi) * fh + r + p) * fw + q + p] + (b ? bias.array[oi] : 0)
                XCTAssertEqual(ys[((img * o + oi) * oh + r) * ow + q], expected, accuracy: 1e-4)
            }}}}
        }
        XCTAssertThrowsError(try deconv2d(random([1, 2, 3, 3], seed: 1), random([3, 2, 3, 3], seed: 2)))
    }

    func testConv2dRowChunksMatchWholeImage() throws {
        let x = random([1, 3, 11, 9], seed: 1), w = random([4, 3, 3, 3], seed: 2)
        let whole = try conv2d(x, w, nil, padding: 1).array
        let saved = ConvGeometry.columnBudget
        ConvGeometry.columnBudget = 27 * 9 * 2  // two output rows per chunk
        defer { ConvGeometry.columnBudget = saved }
        for (a, b) in zip(try conv2d(x, w, nil, padding: 1).array, whole) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        try checkGradients([x, w]) { try conv2d($0[0], $0[1], nil, padding: 1) }
    }

    /// conv2d's output and its input, weight and bias gradients with the
    /// specialised kernels against im2col alone, for each (n, c, h, w, out, kernel, padding).
    func assertMatchesIm2col(_ cases: [(Int, Int, Int, Int, Int, Int, Int)], file: StaticString = #filePath, line: UInt = #line) throws {
        for (i, (n, c, h, w, o, k, p)) in cases.enumerated() {
            let x = random([n, c, h, w], seed: UInt64(i)), wt = random([o, c, k, k], seed: UInt64(10 + i))
            let bias = random([o], seed: UInt64(20 + i))
            func run(specialised: Bool) throws -> [[Float]] {
                Conv2dAlgorithm.specialised = specialised
                defer { Conv2dAlgorithm.specialised = true }
                for t in [x, wt, bias] { t.requiresGrad = true; t.zeroGrad() }
                let y = try conv2d(x, wt, bias, padding: p)
                try sum(try mul(y, random(y.shape, seed: 30))).backward()
                return [y.array, x.grad!, wt.grad!, bias.grad!]
            }
            let (fast, reference) = (try run(specialised: true), try run(specialised: false))
            for (name, (a, b)) in zip(["y", "dx", "dw", "db"], zip(fast, reference)) {
                let scale = b.map(abs).max()!
                let worst = zip(a, b).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-5 * scale + 1e-6, "case \(i) \(name): off by \(worst) of \(scale)", file: file, line: line)
            }
        }
    }

    /// Winograd F(4×4, 3×3): partial edge tiles, every padding it takes,
    /// enough tiles for several blocks per thread, blocks that run from one
    /// image into the next, and lines wide enough to be split in place between
    /// their edge vectors.
    func testWinogradMatchesIm2col() throws {
        try assertMatchesIm2col([(2, 8, 11, 9, 8, 3, 1), (1, 16, 4, 5, 12, 3, 1), (3, 9, 13, 6, 10, 3, 0), (1, 8, 7, 7, 8, 3, 2),
                                 (2, 8, 45, 41, 16, 3, 1), (3, 8, 9, 37, 8, 3, 0), (3, 8, 8, 50, 8, 3, 1), (1, 8, 6, 66, 8, 3, 2)])
        let x = random([1, 8, 6, 7], seed: 40), wt = random([8, 8, 3, 3], seed: 41), bias = random([8], seed: 42)
        try checkGradients([x, wt, bias]) { try conv2d($0[0], $0[1], $0[2], padding: 1) }
    }

    /// Direct convolution (few output channels): rows wider than its 64-pixel
    /// blocks, kernels 1, 3 and 5, every size of its groups of up to 4 output
    /// channels (1 to 7), and the accumulating input gradient of a layer with
    /// few input channels.
    func testDirectConvolutionMatchesIm2col() throws {
        try assertMatchesIm2col([(2, 16, 9, 150, 3, 3, 1), (1, 3, 7, 70, 16, 3, 1), (1, 5, 6, 33, 2, 5, 2), (2, 4, 8, 20, 3, 1, 0),
                                 (1, 2, 19, 17, 1, 3, 0), (1, 4, 5, 40, 7, 3, 1), (1, 3, 4, 18, 6, 3, 1), (1, 3, 4, 18, 5, 3, 1),
                                 (1, 8, 3, 70, 4, 3, 1)])
    }

    func testElementwiseWithBroadcasting() throws {
        let a = random([2, 3, 4, 5], seed: 1)
        for b in [random([2, 3, 4, 5], seed: 2), random([3], seed: 3), random([1, 3, 1, 1], seed: 4), random([2, 3, 1, 1], seed: 6), random([1], seed: 5)] {
            try checkGradients([a, b]) { try add($0[0], $0[1]) }
            try checkGradients([a, b]) { try sub($0[0], $0[1]) }
            try checkGradients([a, b]) { try mul($0[0], $0[1]) }
        }
        // One value per sample and channel: y[n, c, i, j] = a[n, c, i, j] · b[n, c], written out.
        let perSample = random([2, 3, 1, 1], seed: 6), y = try mul(a, perSample)
        for i in 0..<a.count { XCTAssertEqual(y.data[i], a.data[i] * perSample.data[i / 20]) }
        try checkGradients([a]) { scale($0[0], -2.5) }
        try checkGradients([a]) { try $0[0].reshaped([6, 20]) }
    }

    func testActivations() throws {
        let x = random([2, 3, 5, 4], seed: 7, gap: 0.05)
        try checkGradients([x]) { relu($0[0]) }
        try checkGradients([x]) { leakyRelu($0[0], slope: 0.1) }
        try checkGradients([x]) { sigmoid($0[0]) }
        try checkGradients([x]) { tanh($0[0]) }
        // Limits where x has its gap (0), so the check steps never cross one: saturated below, passed above, and the reverse.
        try checkGradients([x]) { clamp($0[0], 0, 2) }
        try checkGradients([x]) { clamp($0[0], -2, 0) }
        let clamped = clamp(x, -0.3, 0.4)
        for i in 0..<x.count { XCTAssertEqual(clamped.data[i], min(max(x.data[i], -0.3), 0.4)) }
        try checkGradients([x, random([3], seed: 8)]) { try prelu($0[0], $0[1]) }
    }

    func testShapeOps() throws {
        let a = random([2, 2, 3, 5], seed: 1), b = random([2, 3, 3, 5], seed: 2)
        try checkGradients([a, b]) { try concat($0) }
        try checkGradients([random([2, 8, 3, 5], seed: 3)]) { try pixelShuffle($0[0], 2) }
        try checkGradients([random([1, 9, 2, 3], seed: 4)]) { try pixelShuffle($0[0], 3) }
        try checkGradients([random([2, 2, 6, 4], seed: 5)]) { try pixelUnshuffle($0[0], 2) }
        // Wide enough for the ×2 vector path (8 pixels a vector) and its scalar tail.
        try checkGradients([random([1, 4, 2, 11], seed: 12)]) { try pixelShuffle($0[0], 2) }
        try checkGradients([random([1, 1, 4, 22], seed: 13)]) { try pixelUnshuffle($0[0], 2) }
        try checkGradients([random([2, 2, 6, 5], seed: 6)]) { try cropSpatial($0[0], height: 5, width: 3) }
        try checkGradients([random([2, 2, 6, 5], seed: 6)]) { try cropSpatial($0[0], top: 1, left: 2, height: 4, width: 3) }
        let window = try cropSpatial(try Tensor(shape: [1, 1, 3, 4], values: (0..<12).map(Float.init)), top: 1, left: 1, height: 2, width: 2)
        XCTAssertEqual(window.array, [5, 6, 9, 10])
        XCTAssertThrowsError(try cropSpatial(random([1, 1, 3, 4], seed: 1), top: 2, left: 0, height: 2, width: 2))
        try checkGradients([random([2, 2, 4, 5], seed: 8)]) { try reflectPad($0[0], 2) }
        try checkGradients([random([1, 2, 4, 5], seed: 9)]) { try reflectPad($0[0], top: 0, bottom: 3, left: 2, right: 1) }
        // PyTorch: F.pad(torch.arange(4.).view(1, 1, 1, 4).expand(1, 1, 3, 4), (2, 2, 2, 2), 'reflect')[0, 0, 0] is 2 1 0 1 2 3 2 1.
        let row = try reflectPad(try Tensor(shape: [1, 1, 3, 4], values: (0..<12).map { Float($0 % 4) }), 2)
        XCTAssertEqual(Array(row.array.prefix(8)), [2, 1, 0, 1, 2, 3, 2, 1])
        XCTAssertThrowsError(try reflectPad(random([1, 1, 3, 4], seed: 1), 3))
        try checkGradients([random([2, 7, 3, 4], seed: 7)]) { try sliceChannels($0[0], 2..<5) }
    }

    func testSliceChannelsUndoesConcat() throws {
        let a = random([2, 3, 3, 5], seed: 1), b = random([2, 6, 3, 5], seed: 2)
        let joined = try concat([a, b])
        XCTAssertEqual(try sliceChannels(joined, 0..<3).array, a.array)
        XCTAssertEqual(try sliceChannels(joined, 3..<9).array, b.array)
        XCTAssertThrowsError(try sliceChannels(joined, 5..<10))
    }

    /// Against the index map written out: depth channel c·r² + i·r + j at
    /// (y, x) is space pixel (y·r + i, x·r + j) of channel c.
    func testPixelShuffleMatchesIndexMap() throws {
        for (r, shape) in [(2, [2, 8, 3, 21]), (3, [1, 9, 2, 10])] {
            let x = random(shape, seed: 14), y = try pixelShuffle(x, r)
            let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
            var expected = [Float](repeating: 0, count: x.count)
            for b in 0..<n { for ch in 0..<c { for i in 0..<r { for j in 0..<r { for yy in 0..<h { for xx in 0..<w {
                let depth = (((b * c + ch) * r * r + i * r + j) * h + yy) * w + xx
                expected[((b * c + ch) * h * r + yy * r + i) * w * r + xx * r + j] = x.data[depth]
            } } } } } }
            XCTAssertEqual(y.array, expected, "×\(r)")
            XCTAssertEqual(try pixelUnshuffle(y, r).array, x.array, "×\(r)")
        }
    }

    func testPixelShuffleInvertsUnshuffle() throws {
        let x = random([2, 3, 6, 8], seed: 9)
        XCTAssertEqual(try pixelShuffle(try pixelUnshuffle(x, 2), 2).array, x.array)
    }

    /// Against loops written out, with ties (few distinct values): max and mean
    /// of each 2×2 window, and a max's gradient all to the window's first maximum
    /// in reading order.
    func testPoolingMatchesLoops() throws {
        let (n, c, h, w) = (1, 3, 5, 35), (oh, ow) = (2, 17)
        var rng = SeededRandom(seed: 15)
        let x = try Tensor(shape: [n, c, h, w], values: (0..<(n * c * h * w)).map { _ in Float(Int.random(in: 0..<3, using: &rng)) })
        x.requiresGrad = true
        let (maximum, mean) = (try maxPool2(x), try avgPool2(x))
        try sum(maximum).backward()
        var (expectedMax, expectedMean) = ([Float](), [Float]())
        var expectedGrad = [Float](repeating: 0, count: x.count)
        for p in 0..<(n * c) { for i in 0..<oh { for j in 0..<ow {
            let at = [0, 1, w, w + 1].map { p * h * w + 2 * i * w + 2 * j + $0 }
            let values = at.map { x.data[$0] }, top = values.max()!
            expectedMax.append(top)
            expectedMean.append(0.25 * (values[0] + values[1] + values[2] + values[3]))
            expectedGrad[at[values.firstIndex(of: top)!]] += 1
        } } }
        XCTAssertEqual(maximum.array, expectedMax)
        XCTAssertEqual(mean.array, expectedMean)
        XCTAssertEqual(x.grad!, expectedGrad)
    }

    func testPooling() throws {
        // The last is wide enough for the vector path (8 outputs at a time) and its tail.
        for shape in [[2, 3, 6, 4], [1, 2, 7, 5], [1, 2, 4, 37]] {
            // Distinct values 0.05 apart, so a finite step never changes which input is the max.
            var rng = SeededRandom(seed: 11)
            let x = try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0) * 0.05 }.shuffled(using: &rng))
            try checkGradients([x]) { try avgPool2($0[0]) }
            try checkGradients([x]) { try maxPool2($0[0]) }
        }
        let x = random([2, 3, 4, 5], seed: 14)
        try checkGradients([x]) { try globalAveragePool($0[0]) }
        XCTAssertEqual(try globalAveragePool(try Tensor(shape: [1, 2, 1, 3], values: [1, 2, 6, 0, 3, 3])).array, [3, 2])
    }

    func testResampling() throws {
        for shape in [[2, 2, 5, 4], [1, 1, 7, 9]] {
            let x = random(shape, seed: 12)
            try checkGradients([x]) { try upsampleNearest($0[0], scale: 2) }
            try checkGradients([x]) { try upsampleBilinear($0[0], scale: 2) }
            try checkGradients([x]) { try upsampleBilinear($0[0], scale: 3) }
            try checkGradients([x]) { try resizeBicubic($0[0], .up(2)) }
            try checkGradients([x]) { try resizeBicubic($0[0], .up(4)) }
            try checkGradients([x]) { try resizeBicubic($0[0], .down(2)) }
            try checkGradients([x]) { try resizeBicubic($0[0], .down(3)) }
            try checkGradients([x]) { try resizeLanczos($0[0], .up(2)) }
            try checkGradients([x]) { try resizeLanczos($0[0], .down(2)) }
            for kernel in [ResizeKernel.bilinear, .box] {
                try checkGradients([x]) { try kernel.resize($0[0], .down(2)) }
                try checkGradients([x]) { try kernel.resize($0[0], .up(2)) }
            }
            try checkGradients([x]) { try interpolateBicubic($0[0], height: shape[2] * 3 / 4, width: shape[3] / 2) }
            try checkGradients([x]) { try interpolateBicubic($0[0], height: shape[2] * 2, width: shape[3] * 3) }
        }
    }

    func testWarp() throws {
        // Flows with fractional parts away from 0 (bilinear weights are kinked at whole pixels)
        // that also reach past the borders, where sampling clamps.
        let x = random([2, 3, 6, 7], seed: 17)
        let flow = random([2, 2, 6, 7], seed: 18)
        for i in 0..<flow.count { flow.data[i] = 3.5 * flow.data[i] + 0.25 }
        try checkGradients([x]) { try warp($0[0], flow: flow) }
    }

    func testWarpMatchesBilinearSamplingWrittenOut() throws {
        // y(x, y) = Σ of the 4 neighbours of the clamped point (x + dx, y + dy), weighted by 1 − distance per axis.
        let (n, c, h, w) = (2, 2, 5, 6)
        let x = random([n, c, h, w], seed: 19)
        let flow = random([n, 2, h, w], seed: 20)
        for i in 0..<flow.count { flow.data[i] *= 4 }
        let y = try warp(x, flow: flow)
        for img in 0..<n { for ch in 0..<c { for py in 0..<h { for px in 0..<w {
            let f = img * 2 * h * w + py * w + px
            let sx = Double(min(max(Float(px) + flow.data[f], 0), Float(w - 1))), sy = Double(min(max(Float(py) + flow.data[f + h * w], 0), Float(h - 1)))
            var expected = 0.0
            for qy in 0..<h { for qx in 0..<w {
                let weight = max(0, 1 - abs(sx - Double(qx))) * max(0, 1 - abs(sy - Double(qy)))
                expected += weight * Double(x.data[((img * c + ch) * h + qy) * w + qx])
            }}
            XCTAssertEqual(Double(y.data[((img * c + ch) * h + py) * w + px]), expected, accuracy: 1e-5)
        }}}}
        XCTAssertThrowsError(try warp(x, flow: random([n, 2, h, w + 1], seed: 21)))
    }

    func testReductionsAndLosses() throws {
        let a = random([2, 3, 4, 4], seed: 13), b = random([2, 3, 4, 4], seed: 14)
        try checkGradients([a]) { sum($0[0]) }
        try checkGradients([a]) { mean($0[0]) }
        try checkGradients([a, b]) { try mseLoss($0[0], $0[1]) }
        // L1 and Charbonnier are kinked or sharply curved at a = b: keep a − b away from 0.
        let c = try add(b, random([2, 3, 4, 4], seed: 15, gap: 0.1)).detached()
        try checkGradients([a, c]) { try l1Loss($0[0], $0[1]) }
        try checkGradients([a, c]) { try charbonnierLoss($0[0], $0[1], epsilon: 0.05) }
    }

    func testGram() throws {
        try checkGradients([random([2, 3, 4, 5], seed: 16)]) { try gram($0[0]) }
    }
}
