import Autograd
import Foundation
import Synchronization

/// A camera's blur estimated from a video alone: the σ (in full-resolution pixels, before a
/// downscale of `scale`) of the Gaussian lens blur (`Damage.lens`) that makes its edges as soft as they are.
///
/// The statistic is the reblur ratio of Hu and de Haan ("Low cost robust blur estimator",
/// ICIP 2006): at the centre of an edge, g is the luma gradient's magnitude and g₁, g₂ the same
/// after Gaussian blurs of σ 1 and 2 pixels; r = (g − g₁)/(g₁ − g₂) does not depend on the edge's
/// contrast and falls as the edge softens (for an edge of spread w: (1/w − 1/√(w²+1)) / (1/√(w²+1) − 1/√(w²+4))).
/// The median over a picture's strong edges is turned into σ through a table made by the same
/// steps (lens blur, antialiased bicubic downscale, 8 bits, the ratio) on synthetic sharp edges,
/// so the downscale's own softness and the pixel grid are accounted for. What the table cannot
/// know is softness the scene had before the camera (a soft film): it is counted as the lens's.
public enum LensEstimate {
    /// The median reblur ratio over the strong edges of a luma plane (8-bit levels), and how many
    /// edges it is the median of; nil when fewer than 20 edges stand out.
    public static func reblurRatio(_ y: [Float], h: Int, w: Int) -> (ratio: Double, edges: Int)? {
        guard h > 12, w > 12 else { return nil }
        var (once, twice) = (y, y)
        once.withUnsafeMutableBufferPointer { gaussianBlur($0.baseAddress!, planes: 1, h: h, w: w, sigma: 1) }
        twice.withUnsafeMutableBufferPointer { gaussianBlur($0.baseAddress!, planes: 1, h: h, w: w, sigma: 2) }
        func gradient(_ p: [Float], _ i: Int) -> (x: Float, y: Float) { ((p[i + 1] - p[i - 1]) / 2, (p[i + w] - p[i - w]) / 2) }
        func magnitude(_ p: [Float], _ i: Int) -> Float { let g = gradient(p, i); return (g.x * g.x + g.y * g.y).squareRoot() }
        let margin = 6  // the wider reblur's reach
        // Each pixel's gradient magnitude once; the edge centres are where it peaks across the edge
        // (along the gradient's larger component).
        var g = [Float](repeating: 0, count: h * w)
        for r in (margin - 1)..<(h - margin + 1) { for c in (margin - 1)..<(w - margin + 1) { g[r * w + c] = magnitude(y, r * w + c) } }
        var centres: [(i: Int, g: Float)] = []
        for r in margin..<(h - margin) { for c in margin..<(w - margin) {
            let i = r * w + c
            guard g[i] >= 2 else { continue }
            let d = gradient(y, i)
            let step = abs(d.x) >= abs(d.y) ? 1 : w
            if g[i] >= g[i - step], g[i] > g[i + step] { centres.append((i, g[i])) }
        }}
        // The strongest tenth: real edges rather than texture, noise or the codec's blocks.
        let strong = centres.map(\.g).sorted()
        guard strong.count >= 200 else { return nil }
        let threshold = strong[strong.count * 9 / 10]
        var ratios: [Double] = []
        for (i, g0) in centres where g0 >= threshold {
            let (g1, g2) = (magnitude(once, i), magnitude(twice, i))
            guard g1 - g2 > 1e-3, g0 > g1 else { continue }
            ratios.append(Double((g0 - g1) / (g1 - g2)))
        }
        guard ratios.count >= 20 else { return nil }
        ratios.sort()
        return (ratios[ratios.count / 2], ratios.count)
    }

    /// The σ this estimate may give a scene that no lens blurred, downscaled ×4: the largest over
    /// the four test clips' ground truths (bikes 1.9; chaplin, realshort and tears_of_steel 1.65, 1.24
    /// and 0; at ×2 they read 0.54–0.84, and up to 1.04 after x264 at CRF 28; notebooks-notes/real-damage.md).
    /// Scenes differ in their own softness as much as the lens blurs to be found, so only softness
    /// beyond the softest clean scene is taken for a lens: learning a blur the video does not have
    /// cost up to 3 dB there, finding too little costs only part of the gain.
    public static let sharpSceneAtX4 = 1.9

    /// The σ from which a compressed video is taken for soft at ×2 and started from the ×2 real-damage
    /// base: midway between what ground-truth runs on the four test clips read (notebooks-notes/real-damage.md).
    /// After a lens of σ 1.0 and x264 at CRF 28 they read 1.3–1.8, and that base gained +0.35 to
    /// +0.78 dB used as is; their clean downscales through x264 at CRF 23 (sharp) read 0.9 on chaplin and
    /// tears_of_steel, where it lost up to 0.42 dB used as is (bikes read 1.4 and it lost 0.68: not told apart).
    public static let softAtX2 = 1.1

    /// The σ from which a video is taken for soft at ×1 (restoration) and started from the ×1
    /// real-damage base: between what six frames of three test clips read with no lens (0.45–0.70;
    /// 0.52–0.72 after x264 at CRF 28) and with a lens of σ 1.0 (1.11–1.19; 0.92–1.07 after x264 at CRF 28;
    /// notebooks-notes/real-damage.md).
    public static let softAtX1 = 0.85

    /// The least lens σ beyond `sharpSceneAtX4` (full-resolution pixels) that an automatic fine-tune learns.
    public static let worthLearning = 0.5

    /// The lens σ (full-resolution pixels) whose synthetic edges, downscaled ×`scale`, show `ratio`:
    /// interpolated in `table(scale:)`, within its 0 … 4 pixels.
    public static func sigma(ratio: Double, scale: Int) -> Double {
        let table = table(scale: scale)  // ratios fall as σ grows
        if ratio >= table[0].ratio { return table[0].sigma }
        for (a, b) in zip(table, table.dropFirst()) where ratio >= b.ratio {
            return a.sigma + (b.sigma - a.sigma) * (a.ratio - ratio) / (a.ratio - b.ratio)
        }
        return table[table.count - 1].sigma
    }

    /// Median reblur ratio of synthetic scenes of sharp-edged discs, lens-blurred by σ = 0, 0.25 … 4
    /// full-resolution pixels, downscaled ×`scale` (antialiased bicubic, 8 bits); made once per scale.
    public static func table(scale: Int) -> [(sigma: Double, ratio: Double)] {
        if let made = tables.withLock({ $0[scale] }) { return made }
        let made = (0...16).map { step -> (sigma: Double, ratio: Double) in
            let sigma = Double(step) / 4
            return (sigma, syntheticRatio(sigma: Float(sigma), scale: scale))
        }
        // Interpolation needs ratios that fall with σ; keep the table monotone.
        var monotone = made
        for k in 1..<monotone.count { monotone[k].ratio = min(monotone[k].ratio, monotone[k - 1].ratio - 1e-6) }
        tables.withLock { $0[scale] = monotone }
        return monotone
    }

    private static let tables = Mutex<[Int: [(sigma: Double, ratio: Double)]]>([:])

    /// The median ratio of a 160 × 160 low-resolution picture of discs (radii 5–20 low-resolution
    /// pixels, levels 30–220 on a grey ground), lens-blurred and downscaled as `Damage.lens` and `bicubicInput` do.
    static func syntheticRatio(sigma: Float, scale: Int) -> Double {
        let side = 160 * scale
        var rng = SeededRandom(seed: 7)
        let picture = Tensor(shape: [1, 3, side, side])
        picture.fill(0.5)
        for _ in 0..<40 {
            let (cx, cy) = (rng.uniform(0, Float(side)), rng.uniform(0, Float(side)))
            let radius = rng.uniform(5, 20) * Float(scale), level = rng.uniform(30, 220) / 255
            let (y0, y1) = (max(0, Int(cy - radius)), min(side - 1, Int(cy + radius)))
            let (x0, x1) = (max(0, Int(cx - radius)), min(side - 1, Int(cx + radius)))
            guard y0 <= y1, x0 <= x1 else { continue }
            for y in y0...y1 { for x in x0...x1 {
                let (dx, dy) = (Float(x) + 0.5 - cx, Float(y) + 0.5 - cy)
                if dx * dx + dy * dy <= radius * radius { for c in 0..<3 { picture.data[(c * side + y) * side + x] = level } }
            }}
        }
        gaussianBlur(picture.data, planes: 3, h: side, w: side, sigma: sigma)
        let low = (try? bicubicInput(picture, scale: scale)) ?? picture
        let (h, w) = (low.shape[2], low.shape[3])
        let y = (0..<(h * w)).map { 16 + 219 * low.data[$0] }  // grey: luma is the level itself
        return reblurRatio(y, h: h, w: w)?.ratio ?? 0
    }
}
