import Autograd
import Foundation
import VideoIO
import Networks

/// Quality as super-resolution papers report it: on the luma of BT.601
/// (MATLAB's rgb2ycbcr, Y = 16 + 65.481·R + 128.553·G + 24.966·B for R, G, B
/// in [0, 1]) of images rounded to 8 bits, with `border` pixels cropped. Like
/// rgb2ycbcr on uint8 images, Y itself is rounded to an integer.
public enum Metrics {
    /// Y in [16, 235] (8-bit scale) of image `n` of a [n, 3, h, w] batch, border cropped.
    static func luma(_ t: Tensor, image n: Int = 0, border: Int) -> (values: [Double], h: Int, w: Int) {
        let (levels, h, w) = lumaLevels(t, image: n, border: border)
        return (levels.map(Double.init), h, w)
    }

    /// Mean Y (8-bit levels, 16–235) of image 0, border cropped: how bright a picture comes out.
    public static func meanY(_ t: Tensor, border: Int) -> Double {
        let (levels, _, _) = lumaLevels(t, border: border)
        return levels.isEmpty ? 0 : Double(levels.reduce(0) { $0 + Int($1) }) / Double(levels.count)
    }

    /// `luma` as bytes: a quarter of its memory at 8K, where whole-picture measures add up.
    static func lumaLevels(_ t: Tensor, image n: Int = 0, border: Int) -> (values: [UInt8], h: Int, w: Int) {
        let (h, w) = (t.shape[2], t.shape[3])
        // A picture thinner than twice the border has nothing left to measure (1-pixel videos exist).
        let (ch, cw) = (max(h - 2 * border, 0), max(w - 2 * border, 0))
        var y = [UInt8](repeating: 0, count: ch * cw)
        let plane = h * w, base = t.data + n * 3 * plane
        func q(_ v: Float) -> Double { Double(eightBit(v)) / 255 }
        for r in 0..<ch {
            for c in 0..<cw {
                let i = (r + border) * w + c + border
                y[r * cw + c] = UInt8((16 + 65.481 * q(base[i]) + 128.553 * q(base[plane + i]) + 24.966 * q(base[2 * plane + i])).rounded())
            }
        }
        return (y, ch, cw)
    }

    /// Y-PSNR in dB (peak 255).
    public static func psnrY(_ a: Tensor, _ b: Tensor, border: Int, image: Int = 0) -> Double {
        let (ya, _, _) = luma(a, image: image, border: border), (yb, _, _) = luma(b, image: image, border: border)
        let mse = zip(ya, yb).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(max(ya.count, 1))
        return mse == 0 ? 100 : 10 * log10(255 * 255 / mse)
    }

    /// PSNR in dB over R, G and B of 8-bit-rounded images, border cropped.
    public static func psnrRGB(_ a: Tensor, _ b: Tensor, border: Int, image: Int = 0) -> Double {
        let (h, w) = (a.shape[2], a.shape[3]), plane = h * w
        var se = 0.0, n = 0
        for c in 0..<3 { for y in border..<max(h - border, border) { for x in border..<max(w - border, border) {
            let i = image * 3 * plane + c * plane + y * w + x
            let d = Double(eightBit(a.data[i]) - eightBit(b.data[i]))
            se += d * d
            n += 1
        }}}
        let mse = se / Double(max(n, 1))
        return mse == 0 ? 100 : 10 * log10(255 * 255 / mse)
    }

    /// Y-SSIM (Wang et al. 2004): 11×11 Gaussian window, σ = 1.5, K = (0.01, 0.03), over the valid region.
    public static func ssimY(_ a: Tensor, _ b: Tensor, border: Int, image: Int = 0) -> Double {
        let (x, h, w) = luma(a, image: image, border: border), (y, _, _) = luma(b, image: image, border: border)
        let r = 5
        guard h > 2 * r, w > 2 * r else { return 1 }
        let g = (-r...r).map { exp(-Double($0 * $0) / (2 * 1.5 * 1.5)) }
        let gs = g.reduce(0, +)
        let k = g.map { $0 / gs }
        // Separable Gaussian filtering of x, y, x², y², xy over the valid region.
        func filter(_ f: (Int) -> Double) -> [Double] {
            let vw = w - 2 * r, vh = h - 2 * r
            var rows = [Double](repeating: 0, count: h * vw)
            for i in 0..<h { for j in 0..<vw { var s = 0.0; for t in 0...(2 * r) { s += k[t] * f(i * w + j + t) }; rows[i * vw + j] = s } }
            var out = [Double](repeating: 0, count: vh * vw)
            for i in 0..<vh { for j in 0..<vw { var s = 0.0; for t in 0...(2 * r) { s += k[t] * rows[(i + t) * vw + j] }; out[i * vw + j] = s } }
            return out
        }
        let (mx, my) = (filter { x[$0] }, filter { y[$0] })
        let (sxx, syy, sxy) = (filter { x[$0] * x[$0] }, filter { y[$0] * y[$0] }, filter { x[$0] * y[$0] })
        let (c1, c2): (Double, Double) = (6.5025, 58.5225)  // (0.01·255)², (0.03·255)²
        var total = 0.0
        for i in mx.indices {
            let (vx, vy, cov) = (sxx[i] - mx[i] * mx[i], syy[i] - my[i] * my[i], sxy[i] - mx[i] * my[i])
            total += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
        }
        return total / Double(mx.count)
    }
}
