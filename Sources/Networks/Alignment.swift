import Autograd
import COpticalFlow
import VideoIO

/// A multi-frame model's input: a frame and its neighbours warped onto it.
/// Motion comes from OpenCV's DIS optical flow (Kroeger et al., "Fast Optical
/// Flow using Dense Inverse Search", ECCV 2016) on BT.601 luma; neighbours are
/// warped by bilinear sampling along it. The same code builds the windows of
/// training, evaluation and inference, so the model sees one kind of alignment.
public enum Alignment {
    /// The model input for `window`'s centre frame t with `radius` k:
    /// [1, 3(2k + 1), h, w] — frame t, then t−k … t−1, t+1 … t+k, each warped
    /// onto t. A neighbour missing at the stream's ends or across a scene cut is
    /// replaced by its mirror image about t (t − d for t + d), or by t itself.
    /// - Throws: `ShapeError` when the window's frames differ in size.
    public static func stack(_ window: FrameWindow, radius: Int) throws -> Tensor {
        let centre = window.image
        let (h, w) = (centre.shape[2], centre.shape[3])
        guard window.frames.allSatisfy({ $0.shape == centre.shape }) else {
            throw ShapeError("a window's frames differ in size: \(window.frames.map(\.shape))")
        }
        let luma = window.frames.map(Self.luma)
        let cuts = Set((1..<max(1, luma.count)).filter { isSceneCut(luma[$0 - 1], luma[$0]) })
        let plane = 3 * h * w
        let out = Tensor(shape: [1, 3 * (2 * radius + 1), h, w])
        out.data.update(from: centre.data, count: plane)
        var warped: [Int: Tensor] = [:]
        for (slot, source) in sources(centre: window.centre, count: window.frames.count, radius: radius, cuts: cuts).enumerated() {
            let dst = out.data + (slot + 1) * plane
            if source == window.centre {
                dst.update(from: centre.data, count: plane)
                continue
            }
            if warped[source] == nil {
                warped[source] = try Grad.disabled { try warp(window.frames[source], flow: try flow(from: luma[window.centre], to: luma[source], width: w, height: h)) }
            }
            dst.update(from: warped[source]!.data, count: plane)
        }
        return out
    }

    /// Which frame of a window of `count` (centre at `centre`, a cut before each
    /// index in `cuts`) stands for t−k … t−1, t+1 … t+k: the frame itself when it is
    /// in t's shot, else its mirror t − d when that is, else t.
    public static func sources(centre: Int, count: Int, radius: Int, cuts: Set<Int>) -> [Int] {
        let first = (cuts.filter { $0 <= centre }.max() ?? 0)
        let last = (cuts.filter { $0 > centre }.min() ?? count) - 1
        return (Array(-radius..<0) + Array(1...max(1, radius))).prefix(2 * radius).map { d in
            [centre + d, centre - d].first { (first...last).contains($0) } ?? centre
        }
    }

    /// BT.601 luma of a [1, 3, h, w] picture as 8-bit levels (MATLAB's, as in `Metrics`).
    static func luma(_ image: Tensor) -> [UInt8] {
        let plane = image.shape[2] * image.shape[3]
        let (r, g, b) = (image.data, image.data + plane, image.data + 2 * plane)
        return [UInt8](unsafeUninitializedCapacity: plane) { out, count in
            for i in 0..<plane { out[i] = UInt8(eightBit(16 / 255 + (65.481 * r[i] + 128.553 * g[i] + 24.966 * b[i]) / 255)) }
            count = plane
        }
    }

    /// Whether two consecutive [1, 3, h, w] frames belong to different shots (see below).
    public static func isSceneCut(_ a: Tensor, _ b: Tensor) -> Bool { isSceneCut(luma(a), luma(b)) }

    /// The flow from one [1, 3, h, w] frame to another ([1, 2, h, w]: see below), from their luma;
    /// `Autograd.warp(frame, flow:)` brings the second frame onto the first.
    /// - Throws: `ShapeError` when their sizes differ or OpenCV fails.
    public static func flow(from a: Tensor, to b: Tensor) throws -> Tensor {
        guard a.shape == b.shape, a.shape.count == 4, a.shape[1] == 3 else { throw ShapeError("flow between \(a.shape) and \(b.shape)") }
        return try flow(from: luma(a), to: luma(b), width: a.shape[3], height: a.shape[2])
    }

    /// Whether two consecutive frames (8-bit luma) belong to different shots:
    /// their 32-bin luma histograms differ by more than a total variation of
    /// 0.4, or their mean absolute difference passes 40 levels. Motion within a shot
    /// moves pixels but keeps the histogram; a cut changes both.
    static func isSceneCut(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var ha = [Int](repeating: 0, count: 32), hb = ha
        var difference = 0
        for i in a.indices {
            ha[Int(a[i]) >> 3] += 1
            hb[Int(b[i]) >> 3] += 1
            difference += abs(Int(a[i]) - Int(b[i]))
        }
        let variation = Double(zip(ha, hb).map { abs($0 - $1) }.reduce(0, +)) / Double(2 * a.count)
        return variation > 0.4 || Double(difference) / Double(a.count) > 40
    }

    /// DIS flow (OpenCV's "fast" preset) from `from` to `to`, 8-bit luma of width × height:
    /// [1, 2, h, w], the dx plane then the dy plane, with from(x, y) ≈ to(x + dx, y + dy).
    /// Pictures too small for DIS's 8-pixel patches get zero flow.
    /// - Throws: `ShapeError` with OpenCV's message when it fails.
    static func flow(from: [UInt8], to: [UInt8], width: Int, height: Int) throws -> Tensor {
        let flow = Tensor(zeros: [1, 2, height, width])
        guard width >= 16, height >= 16 else { return flow }
        var message = [CChar](repeating: 0, count: 256)
        var pairs = [Float](repeating: 0, count: 2 * width * height)  // OpenCV's layout: (dx, dy) pixel by pixel
        let status = pairs.withUnsafeMutableBufferPointer { out in
            hone_dis_flow(from, to, Int32(width), Int32(height), 1, out.baseAddress!, &message, Int32(message.count))
        }
        guard status == 0 else { throw ShapeError("optical flow failed: \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))") }
        let plane = width * height
        for i in 0..<plane { (flow.data[i], flow.data[plane + i]) = (pairs[2 * i], pairs[2 * i + 1]) }
        return flow
    }
}
