import Autograd
import Foundation
import VideoIO

/// The input an evaluation gives a model for ground truth `hr` (sides a
/// multiple of the scale): antialiased bicubic downscale (none at ×1), stored as 8 bits.
public func bicubicInput(_ hr: Tensor, scale: Int) throws -> Tensor {
    let lr = try downscale(hr, scale: scale)
    for j in 0..<lr.count { lr.data[j] = eightBit(lr.data[j]) / 255 }
    return lr
}

/// A new tensor: the antialiased bicubic downscale of `hr`, or a copy at ×1.
package func downscale(_ hr: Tensor, scale: Int) throws -> Tensor {
    try Grad.disabled { scale == 1 ? hr.detached() : try resizeBicubic(hr, .down(scale)) }
}

/// The top-left part of a [n, c, h, w] tensor whose sides are multiples of m.
public func crop(_ t: Tensor, toMultipleOf m: Int) throws -> Tensor {
    try crop(t, width: t.shape[3] / m * m, height: t.shape[2] / m * m)
}

/// The top-left width × height of a [n, c, h, w] tensor (at most its own size).
public func crop(_ t: Tensor, width cw: Int, height ch: Int) throws -> Tensor {
    let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
    guard cw <= w, ch <= h else { throw ShapeError("cannot crop \(t.shape) to \(cw)×\(ch)") }
    if ch == h && cw == w { return t }
    let out = Tensor(shape: [n, c, ch, cw])
    for p in 0..<(n * c) { for r in 0..<ch { (out.data + (p * ch + r) * cw).update(from: t.data + (p * h + r) * w, count: cw) } }
    return out
}

/// The profile of a blur kernel as a function of d² = vᵀΣ⁻¹v, the squared distance scaled by
/// the kernel's σ along and across its direction (Real-ESRGAN's kernels, Wang et al., ICCVW 2021, §3.1).
public enum KernelShape: Equatable, Sendable {
    /// exp(−d²/2).
    case gaussian
    /// exp(−(d²)^β / 2), the generalized Gaussian: β < 1 a sharper peak with heavier tails, β > 1 flatter
    /// (Real-ESRGAN draws β in 0.5…4); β = 1 is the Gaussian.
    case generalized(beta: Float)
    /// 1 / (1 + (d²)^β), the plateau kernel: a flat top and long tails (Real-ESRGAN draws β in 1…2).
    case plateau(beta: Float)

    /// The distance d (in σ) where the weight falls to 1/1000 of the peak: where the kernel is cut.
    var reach: Float {
        switch self {
        case .gaussian: 3  // 3σ, as the separable Gaussian has always been cut
        case .generalized(let beta): pow(2 * log(1000), 1 / (2 * beta))
        case .plateau(let beta): pow(999, 1 / (2 * beta))
        }
    }

    func weight(_ d2: Float) -> Float {
        switch self {
        case .gaussian: exp(-0.5 * d2)
        case .generalized(let beta): exp(-0.5 * pow(d2, beta))
        case .plateau(let beta): 1 / (1 + pow(d2, beta))
        }
    }
}

/// A blur of `planes` h×w planes in place, edges clamped, by the kernel of `shape` with σ pixels
/// along the direction `angle` degrees anticlockwise from the horizontal (y grows downward, so
/// anticlockwise as seen) and `across` pixels perpendicular to it: weight(vᵀΣ⁻¹v) with
/// Σ = R diag(σ², across²) Rᵀ, normalised to sum 1. A Gaussian is cut at 3σ of the larger,
/// the heavier-tailed shapes where they fall to 1/1000 of the peak, at most 10 pixels out
/// (Real-ESRGAN's largest kernel is 21 pixels wide).
package func blur(_ data: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int, sigma: Float, across: Float, angle: Float,
                  shape: KernelShape = .gaussian) {
    let (a, b) = (max(sigma, 0.05), max(across, 0.05))
    let cut = shape == .gaussian ? 3 * max(a, b) : min(10, shape.reach * max(a, b))
    let r = max(1, Int(cut.rounded(.up))), side = 2 * r + 1
    let (c, s) = (cos(angle * .pi / 180), sin(angle * .pi / 180))
    var kernel = [Float](repeating: 0, count: side * side)
    for dy in -r...r { for dx in -r...r {
        // Coordinates along and across the direction; up is −y on screen.
        let (u, v) = (Float(dx) * c - Float(dy) * s, Float(dx) * s + Float(dy) * c)
        kernel[(dy + r) * side + dx + r] = shape.weight(u * u / (a * a) + v * v / (b * b))
    }}
    let total = kernel.reduce(0, +)
    for i in kernel.indices { kernel[i] /= total }
    // Each plane copied once into a frame of r clamped pixels, so the taps need no bounds.
    let (ph, pw) = (h + 2 * r, w + 2 * r)
    var padded = [Float](repeating: 0, count: ph * pw)
    kernel.withUnsafeBufferPointer { k in
        padded.withUnsafeMutableBufferPointer { src in
            for p in 0..<planes {
                let img = data + p * h * w
                for y in 0..<ph {
                    let from = img + min(max(y - r, 0), h - 1) * w, row = y * pw
                    for x in 0..<pw { src[row + x] = from[min(max(x - r, 0), w - 1)] }
                }
                for y in 0..<h { for x in 0..<w {
                    var sum: Float = 0
                    for dy in 0..<side {
                        let row = (y + dy) * pw + x, kr = dy * side
                        for dx in 0..<side { sum += k[kr + dx] * src[row + dx] }
                    }
                    img[y * w + x] = sum
                }}
            }
        }
    }
}

/// Separable Gaussian blur of σ pixels, edges clamped, of `planes` h×w planes in place.
package func gaussianBlur(_ data: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int, sigma: Float) {
    guard sigma > 0.05 else { return }
    let r = max(1, Int((3 * sigma).rounded(.up)))
    var k = (-r...r).map { exp(-Float($0 * $0) / (2 * sigma * sigma)) }
    let total = k.reduce(0, +)
    k = k.map { $0 / total }
    var tmp = [Float](repeating: 0, count: h * w)
    for p in 0..<planes {
        let img = data + p * h * w
        for y in 0..<h { for x in 0..<w {
            var s: Float = 0
            for t in -r...r { s += k[t + r] * img[y * w + min(max(x + t, 0), w - 1)] }
            tmp[y * w + x] = s
        }}
        for y in 0..<h { for x in 0..<w {
            var s: Float = 0
            for t in -r...r { s += k[t + r] * tmp[min(max(y + t, 0), h - 1) * w + x] }
            img[y * w + x] = s
        }}
    }
}
