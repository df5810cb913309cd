import Autograd
import Foundation
import Networks

/// Short clips made from still photographs, to pretrain a recurrent network where
/// there is no video corpus (issue 32): a camera pans, zooms and turns smoothly over
/// a photograph in sub-pixel steps, and on half the clips a disc cut from another
/// photograph moves across it on a path of its own, hiding what is behind it, so
/// that the network meets flow that is wrong at occlusions and learns not to trust
/// every warp. Frames are rendered at twice the target size by bilinear sampling and
/// shrunk ×2 (antialiased bicubic), so the resampling does not soften the targets.
public enum PseudoVideo {
    /// The camera's largest speed, in target pixels a frame.
    static let cameraSpeed: Float = 4
    /// The layer's largest speed relative to the frame, in target pixels a frame.
    static let layerSpeed: Float = 6
    /// Largest zoom change a frame (a fraction) and turn a frame (radians, 0.5°).
    static let zoomRate: Float = 0.01, turnRate: Float = 0.5 * .pi / 180

    /// `frames` targets [1, 3, size, size] in [0, 1] of photograph `photo`, with a layer cut
    /// from photograph `layer` when given. The path stays inside a photograph whose shorter side is at least
    /// 3·size + 4·frames·cameraSpeed pixels; in a smaller one it starts at the centre, and sampling clamps at the edges.
    public static func clip(_ photos: FrameCache, photo: Int, layer: Int?, frames: Int, size: Int, rng: inout SeededRandom) throws -> [Tensor] {
        let big = 2 * size
        let (w, h) = photos.sizes[photo]
        let picture = photos.frame(photo)
        // The camera: a start, a velocity, a zoom rate and a turn rate (in photograph pixels: 2 a target pixel).
        let reach = Float(big) * 0.75 + 2 * cameraSpeed * Float(frames)
        let cx = rng.uniform(min(reach, Float(w) / 2), max(Float(w) - reach, Float(w) / 2))
        let cy = rng.uniform(min(reach, Float(h) / 2), max(Float(h) - reach, Float(h) / 2))
        let (speed, heading) = (2 * cameraSpeed * rng.uniform().squareRoot(), rng.uniform(0, 2 * .pi))
        let (vx, vy) = (speed * cos(heading), speed * sin(heading))
        let zoom = rng.uniform(-zoomRate, zoomRate), turn = rng.uniform(-turnRate, turnRate)
        // The layer: a disc of another photograph, its own start and velocity in the frame.
        let disc: (picture: Tensor, size: (width: Int, height: Int), sx: Float, sy: Float, x: Float, y: Float, vx: Float, vy: Float, radius: Float)? = layer.map { j in
            let (lw, lh) = photos.sizes[j]
            let radius = rng.uniform(Float(big) / 8, Float(big) / 3)
            let (speed, heading) = (2 * layerSpeed * rng.uniform().squareRoot(), rng.uniform(0, 2 * .pi))
            return (photos.frame(j), (lw, lh), rng.uniform(radius, max(radius, Float(lw) - radius)), rng.uniform(radius, max(radius, Float(lh) - radius)),
                    rng.uniform(0, Float(big)), rng.uniform(0, Float(big)), speed * cos(heading), speed * sin(heading), radius)
        }
        return try (0..<frames).map { t in
            let ft = Float(t)
            let (scale, angle) = (1 + zoom * ft, turn * ft)
            let (a, b) = (scale * cos(angle), scale * sin(angle))
            let rendered = Tensor(shape: [1, 3, big, big])
            let (ox, oy) = (cx + vx * ft, cy + vy * ft)
            for r in 0..<big {
                for q in 0..<big {
                    let (u, v) = (Float(q) - Float(big) / 2, Float(r) - Float(big) / 2)
                    sample(picture, width: w, height: h, x: ox + a * u - b * v, y: oy + b * u + a * v, into: rendered, at: r * big + q)
                }
            }
            if let disc {
                let (dx, dy) = (disc.x + disc.vx * ft, disc.y + disc.vy * ft)
                let r0 = max(0, Int(dy - disc.radius)), r1 = min(big - 1, Int(dy + disc.radius) + 1)
                let q0 = max(0, Int(dx - disc.radius)), q1 = min(big - 1, Int(dx + disc.radius) + 1)
                if r0 <= r1 && q0 <= q1 {
                    for r in r0...r1 {
                        for q in q0...q1 {
                            let (u, v) = (Float(q) - dx, Float(r) - dy)
                            guard u * u + v * v < disc.radius * disc.radius else { continue }
                            sample(disc.picture, width: disc.size.width, height: disc.size.height, x: disc.sx + u, y: disc.sy + v, into: rendered, at: r * big + q)
                        }
                    }
                }
            }
            return try Grad.disabled { try resizeBicubic(rendered, .down(2)) }
        }
    }

    /// Writes `picture` [1, 3, height, width] at (x, y), bilinear and clamped, into pixel `index` of `out` [1, 3, …].
    @inline(__always)
    private static func sample(_ picture: Tensor, width w: Int, height h: Int, x: Float, y: Float, into out: Tensor, at index: Int) {
        let sx = min(max(x, 0), Float(w - 1)), sy = min(max(y, 0), Float(h - 1))
        let (x0, y0) = (min(Int(sx), max(w - 2, 0)), min(Int(sy), max(h - 2, 0)))
        let (x1, y1) = (min(x0 + 1, w - 1), min(y0 + 1, h - 1))
        let (fx, fy) = (sx - Float(x0), sy - Float(y0))
        let (plane, outPlane) = (w * h, out.count / 3)
        for c in 0..<3 {
            let p = picture.data + c * plane
            let top = p[y0 * w + x0] + fx * (p[y0 * w + x1] - p[y0 * w + x0])
            let bottom = p[y1 * w + x0] + fx * (p[y1 * w + x1] - p[y1 * w + x0])
            out.data[c * outPlane + index] = top + fy * (bottom - top)
        }
    }
}
