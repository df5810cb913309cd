import Autograd
import Foundation
import Networks
import Quality
import VideoIO

/// One way footage is damaged, at a set strength: what `hone evaluate --degrade`
/// applies to a clean clip, and what training draws at random strengths
/// (`DegradationConfig`). Applied in the order a camera and a codec would:
/// the lens at full resolution, then the downscale, then blur, noise and compression.
public enum Damage: Equatable, Sendable, CustomStringConvertible {
    /// A camera's softness: Gaussian blur of σ pixels of the *full-resolution* picture (the
    /// ground truth), before the downscale (`applyLens`); ×s smaller on the low-resolution grid.
    /// Anisotropic when `across` is given: σ along the direction `angle` degrees
    /// anticlockwise from the horizontal, `across` perpendicular to it (as Real-ESRGAN draws its kernels).
    /// `shape` is the kernel's profile (a generalized Gaussian or a plateau instead of a Gaussian).
    case lens(sigma: Float, across: Float? = nil, angle: Float = 0, shape: KernelShape = .gaussian)
    /// Exposure gone wrong, as a camera's response would: each channel v → gain · v^gamma (clipped to
    /// [0, 1]). gamma 2.2, gain 0.35 is a night clip; gamma below 1 or gain above 1 brightens.
    case dark(gamma: Float, gain: Float)
    /// A colour cast: each channel multiplied by its gain (clipped to 1), as a wrong white balance leaves it.
    case tint(r: Float, g: Float, b: Float)
    /// Gaussian blur of σ pixels of the low-resolution picture, after the downscale (defocus, soft lenses, bad scans).
    case blur(sigma: Float)
    /// Gaussian noise of σ 8-bit levels, plus shot noise of σ `poisson`·√x levels at intensity x ∈ [0, 1]
    /// (the Poisson-Gaussian sensor model of Foi et al., IEEE TIP 2008).
    case noise(sigma: Float, poisson: Float = 0)
    /// JPEG compression at a quality of 1–100 (libjpeg's scale).
    case jpeg(quality: Int)
    /// H.264 through libx264 at a CRF (0–51), the clip as one stream (`X264RoundTrip`).
    case x264(crf: Double)

    /// Damages written `x264:crf=35`, `noise:sigma=10`, `noise:sigma=2,poisson=8`,
    /// `lens:sigma=1.6` (σ in full-resolution pixels), `lens:sigma=2,across=1,angle=45` (anisotropic),
    /// `lens:sigma=1.6,beta=2` (a generalized Gaussian of exponent β), `lens:sigma=1.6,plateau=1.5` (a plateau kernel),
    /// `blur:sigma=1.5` (σ in low-resolution pixels),
    /// `jpeg:quality=30`, `dark:gamma=2.2,gain=0.35`, `tint:r=1.15,g=1,b=0.8`, joined by `+`.
    /// Shot noise of a sensor that counts P photons at white is `noise:poisson=255/√P` (P = 60: 32.9).
    /// - Throws: `UsageError` naming the item that is not one of these with a value in range.
    public static func parse(_ text: String) throws -> [Damage] {
        try text.split(separator: "+").map { item in
            let parts = item.split(separator: ":", maxSplits: 1)
            let kind = parts.first.map(String.init) ?? ""
            guard ["lens", "dark", "tint", "blur", "noise", "jpeg", "x264"].contains(kind) else {
                throw UsageError("--degrade: unknown damage '\(item)'; use lens:sigma=S[,across=S2,angle=A][,beta=B|,plateau=B], dark:gamma=G,gain=K, tint:r=R,g=G,b=B, blur:sigma=S, noise:sigma=S[,poisson=P], jpeg:quality=Q or x264:crf=C")
            }
            var values: [String: Double] = [:]
            for pair in (parts.count == 2 ? parts[1].split(separator: ",") : []) {
                let kv = pair.split(separator: "=")
                guard kv.count == 2, let v = Double(kv[1]), v.isFinite else { throw UsageError("--degrade: '\(pair)' in '\(item)' is not name=number") }
                guard values.updateValue(v, forKey: String(kv[0])) == nil else { throw UsageError("--degrade: '\(item)' gives \(kv[0]) twice") }
            }
            func value(_ key: String, _ range: ClosedRange<Double>, default fallback: Double? = nil) throws -> Double {
                guard let v = values.removeValue(forKey: key) ?? fallback else { throw UsageError("--degrade: '\(item)' needs \(key)=…") }
                guard range.contains(v) else { throw UsageError("--degrade: \(key)=\(v) in '\(item)' is outside \(range.lowerBound)…\(range.upperBound)") }
                return v
            }
            func lensShape() throws -> KernelShape {
                switch (values["beta"], values["plateau"]) {
                case (nil, nil): return .gaussian
                case (_?, nil): return .generalized(beta: Float(try value("beta", 0.2...8)))
                case (nil, _?): return .plateau(beta: Float(try value("plateau", 0.5...8)))
                case (_?, _?): throw UsageError("--degrade: '\(item)' has both beta and plateau; a kernel has one shape")
                }
            }
            let damage: Damage = switch kind {
            case "lens":
                .lens(sigma: Float(try value("sigma", 0...10)), across: values["across"] == nil ? nil : Float(try value("across", 0...10)),
                      angle: Float(try value("angle", -180...180, default: 0)),
                      shape: try lensShape())
            case "dark": .dark(gamma: Float(try value("gamma", 0.3...4)), gain: Float(try value("gain", 0.05...2, default: 1)))
            case "tint": .tint(r: Float(try value("r", 0.2...2, default: 1)), g: Float(try value("g", 0.2...2, default: 1)),
                               b: Float(try value("b", 0.2...2, default: 1)))
            case "blur": .blur(sigma: Float(try value("sigma", 0...10)))
            case "noise": .noise(sigma: Float(try value("sigma", 0...255)), poisson: Float(try value("poisson", 0...255, default: 0)))
            case "jpeg": .jpeg(quality: Int(try value("quality", 1...100)))
            default: .x264(crf: try value("crf", 0...51))
            }
            if let extra = values.keys.sorted().first { throw UsageError("--degrade: '\(item)' has no setting \(extra)") }
            return damage
        }.sorted { $0.order < $1.order }
    }

    /// Noise, JPEG or x264: what the ×1 restoration model removes.
    public var isNoiseOrCompression: Bool {
        switch self {
        case .noise, .jpeg, .x264: true
        default: false
        }
    }

    /// A lens blur or a blur after the downscale: what a sharpener undoes.
    public var isSoftening: Bool {
        switch self {
        case .lens, .blur: true
        default: false
        }
    }

    /// The CRF of an x264 damage, else nil.
    public var crf: Double? { if case .x264(let crf) = self { crf } else { nil } }

    var order: Int {
        switch self {
        case .lens: -3
        case .dark: -2
        case .tint: -1
        case .blur: 0
        case .noise: 1
        case .jpeg: 2
        case .x264: 3
        }
    }

    public var description: String {
        switch self {
        case .lens(let s, let across, let angle, let shape):
            "lens:sigma=" + String(format: "%g", s) + (across.map { String(format: ",across=%g,angle=%g", $0, angle) } ?? "") + shape.written
        case .dark(let g, let k): String(format: "dark:gamma=%g,gain=%g", g, k)
        case .tint(let r, let g, let b): String(format: "tint:r=%g,g=%g,b=%g", r, g, b)
        case .blur(let s): "blur:sigma=" + String(format: "%g", s)
        case .noise(let s, let p): "noise:sigma=" + String(format: "%g", s) + (p > 0 ? ",poisson=" + String(format: "%g", p) : "")
        case .jpeg(let q): "jpeg:quality=\(q)"
        case .x264(let c): "x264:crf=" + String(format: "%g", c)
        }
    }

    /// A [1, 3, h, w] picture (even sides with x264) damaged as a stream of its own at its own size,
    /// noise seeded by `seed`; the lens is left to `applyLens`, before any downscale.
    /// - Throws: `VideoIOError` from the codecs.
    public static func apply(_ damages: [Damage], to picture: Tensor, seed: UInt64) throws -> Tensor {
        let stream = DamagedStream(damages, seed: seed)
        return try (stream.push(picture) + stream.finish())[0]
    }

    /// The lens blur among `damages` applied to a full-resolution [n, 3, h, w] picture, as a new
    /// tensor (the picture itself when there is none): what a soft camera recorded before the downscale.
    public static func applyLens(_ damages: [Damage], to picture: Tensor) -> Tensor {
        guard let lens = damages.first(where: { $0.lensSigma != nil }) else { return picture }
        let out = picture.detached()
        lens.blurLens(out.data, planes: out.count / (out.shape[2] * out.shape[3]), h: out.shape[2], w: out.shape[3])
        return out
    }

    /// A lens blur applied to `planes` h×w planes in place: separable when it is an isotropic
    /// Gaussian, else through its full 2-D kernel; nothing for any other damage.
    package func blurLens(_ data: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int) {
        guard case .lens(let sigma, let across, let angle, let shape) = self, sigma > 0 || (across ?? 0) > 0 else { return }
        if shape == .gaussian, across == nil || across == sigma {
            gaussianBlur(data, planes: planes, h: h, w: w, sigma: sigma)
        } else {
            Quality.blur(data, planes: planes, h: h, w: w, sigma: sigma, across: across ?? sigma, angle: angle, shape: shape)
        }
    }

    /// The σ of a lens blur (full-resolution pixels; along its direction when anisotropic), else nil.
    public var lensSigma: Float? { if case .lens(let sigma, _, _, _) = self { sigma } else { nil } }

    /// Damages one RGB picture (3 planes of h×w) in place: blur and noise, then
    /// rounding to 8 bits as a video stores it, then JPEG. x264 is left to the
    /// caller: it needs the stream (`X264RoundTrip`); the lens to `applyLens`, before the downscale.
    static func apply(_ damages: [Damage], toPicture p: UnsafeMutablePointer<Float>, h: Int, w: Int, rng: inout SeededRandom) throws {
        for damage in damages {
            switch damage {
            case .dark(let gamma, let gain):
                for j in 0..<(3 * h * w) { p[j] = min(1, gain * pow(min(max(p[j], 0), 1), gamma)) }
            case .tint(let r, let g, let b):
                for (c, k) in [r, g, b].enumerated() { for j in (c * h * w)..<((c + 1) * h * w) { p[j] = min(1, max(p[j], 0) * k) } }
            case .blur(let sigma): gaussianBlur(p, planes: 3, h: h, w: w, sigma: sigma)
            case .noise(let sigma, let poisson):
                guard sigma > 0 || poisson > 0 else { continue }
                for j in 0..<(3 * h * w) { p[j] += (sigma + poisson * max(p[j], 0).squareRoot()) / 255 * rng.normal() }
            case .lens, .jpeg, .x264: continue
            }
        }
        for j in 0..<(3 * h * w) { p[j] = eightBit(p[j]) / 255 }
        for case .jpeg(let quality) in damages {
            let one = Tensor(shape: [1, 3, h, w])
            one.data.update(from: p, count: 3 * h * w)
            // A tensor owns its buffer: keep the result alive while copying from it.
            let compressed = try Still.jpegRoundTrip(one, quality: quality)
            withExtendedLifetime(compressed) { p.update(from: compressed.data, count: 3 * h * w) }
        }
    }
}

extension DegradationConfig {
    /// The damages of one training picture, at strengths drawn from the config's ranges.
    package func draw(_ rng: inout SeededRandom) -> [Damage] {
        var damages: [Damage] = []
        if lightShare.map({ Double(rng.uniform()) < $0 }) ?? true {
            if let g = lightGamma, g.count == 2 {
                let gain = lightGain.map { $0.count == 2 ? rng.uniform($0[0], $0[1]) : 1 } ?? 1
                damages.append(.dark(gamma: rng.uniform(g[0], g[1]), gain: gain))
            }
            if let t = lightTint, t > 0 { damages.append(.tint(r: rng.uniform(1 - t, 1 + t), g: 1, b: rng.uniform(1 - t, 1 + t))) }
        }
        if blur > 0 { damages.append(.blur(sigma: rng.uniform(0, blur))) }
        if noise > 0 { damages.append(.noise(sigma: rng.uniform(0, noise))) }
        if let poisson, poisson > 0 { damages.append(.noise(sigma: 0, poisson: rng.uniform(0, poisson))) }
        if let quality = jpegQuality, quality > 0 { damages.append(.jpeg(quality: quality)) }
        if let q = jpegRange, q.count == 2, jpegShare.map({ Double(rng.uniform()) < $0 }) ?? true {
            damages.append(.jpeg(quality: min(q[1], Int(rng.uniform(Float(q[0]), Float(q[1] + 1))))))
        }
        return damages
    }

    /// A CRF drawn from `x264_crf` for one batch, or nil when the config compresses with no
    /// video codec or the batch falls outside `x264_share`.
    func drawCRF(_ rng: inout SeededRandom) -> Double? {
        guard let range = x264Range else { return nil }
        if let share = x264Share, share < 1, Double(rng.uniform()) >= share { return nil }
        return Double(rng.uniform(Float(range.lowerBound), Float(range.upperBound))).rounded()
    }

    /// `lens_blur` as a range (a checked config holds two ordered σ), or nil when absent or all zero.
    public var lensRange: ClosedRange<Float>? {
        guard let lens = lensBlur, lens.count == 2, lens[0] <= lens[1], lens[1] > 0 else { return nil }
        return lens[0]...lens[1]
    }

    /// The lens blur of one training target, drawn from `lens_blur`, or nil.
    package func drawLens(_ rng: inout SeededRandom) -> Damage? {
        guard let range = lensRange else { return nil }
        let sigma = rng.uniform(range.lowerBound, range.upperBound)
        var (across, angle, shape): (Float?, Float, KernelShape) = (nil, 0, .gaussian)
        if let share = lensAnisotropic, Double(rng.uniform()) < share {
            (across, angle) = (rng.uniform(range.lowerBound, range.upperBound), rng.uniform(-90, 90))
        }
        if let share = lensShaped, Double(rng.uniform()) < share {
            shape = rng.uniform() < 0.5 ? .generalized(beta: rng.uniform(0.5, 4)) : .plateau(beta: rng.uniform(1, 2))
        }
        return .lens(sigma: sigma, across: across, angle: angle, shape: shape)
    }

    /// The kernel one training target is downscaled with: bicubic, or for `resize_share` of them one
    /// drawn among bilinear, box and Lanczos-3.
    package func drawResizeKernel(_ rng: inout SeededRandom) -> ResizeKernel {
        guard let share = resizeShare, share > 0, Double(rng.uniform()) < share else { return .bicubic }
        return [ResizeKernel.bilinear, .box, .lanczos3][Int(rng.next() % 3)]
    }

    /// `x264_crf` as a range (a checked config holds two ordered CRFs), or nil.
    var x264Range: ClosedRange<Double>? {
        guard let crf = x264CRF, crf.count == 2, crf[0] <= crf[1] else { return nil }
        return crf[0]...crf[1]
    }

    /// Set strengths for scoring a ×1 run, where an undamaged input would
    /// score nothing: half of each largest σ, the CRF range's middle.
    var typical: [Damage] {
        var damages: [Damage] = []
        if let lens = lensRange { damages.append(.lens(sigma: (lens.lowerBound + lens.upperBound) / 2)) }
        if let g = lightGamma, g.count == 2 {
            damages.append(.dark(gamma: (g[0] + g[1]) / 2, gain: lightGain.map { $0.count == 2 ? ($0[0] + $0[1]) / 2 : 1 } ?? 1))
        }
        if let t = lightTint, t > 0 { damages.append(.tint(r: 1 + t / 2, g: 1, b: 1 - t / 2)) }
        if blur > 0 { damages.append(.blur(sigma: blur / 2)) }
        if noise > 0 || (poisson ?? 0) > 0 { damages.append(.noise(sigma: noise / 2, poisson: (poisson ?? 0) / 2)) }
        if let quality = jpegQuality, quality > 0 { damages.append(.jpeg(quality: quality)) }
        if let q = jpegRange, q.count == 2 { damages.append(.jpeg(quality: (q[0] + q[1]) / 2)) }
        if let range = x264Range { damages.append(.x264(crf: ((range.lowerBound + range.upperBound) / 2).rounded())) }
        return damages
    }
}

/// In place, each RGB picture of [n, 3m, h, w] in turn: the config's damages at
/// random strengths and 8-bit rounding (twice for `second_order` of them), then the whole batch through one x264
/// stream at a random CRF when `x264_crf` is set (for `x264_share` of the batches).
/// - Throws: `VideoIOError` from the codecs.
package func corrupt(_ pictures: Tensor, _ config: DegradationConfig, rng: inout SeededRandom) throws {
    let (h, w) = (pictures.shape[2], pictures.shape[3])
    let n = pictures.count / (3 * h * w)
    for img in 0..<n {
        let picture = pictures.data + img * 3 * h * w
        try Damage.apply(config.draw(&rng), toPicture: picture, h: h, w: w, rng: &rng)
        if let share = config.secondOrder, share > 0, Double(rng.uniform()) < share {
            try Damage.apply(config.draw(&rng), toPicture: picture, h: h, w: w, rng: &rng)
        }
    }
    if let crf = config.drawCRF(&rng) {
        let flat = Tensor(shape: [n, 3, h, w])
        flat.data.update(from: pictures.data, count: pictures.count)
        let compressed = try X264RoundTrip.apply(flat, crf: crf)
        withExtendedLifetime(compressed) { pictures.data.update(from: compressed.data, count: pictures.count) }
    }
}

/// A clip's pictures damaged in order, as one stream: `push` returns the
/// damaged pictures that are ready, `finish` the rest (x264 holds some back).
package final class DamagedStream {
    private let damages: [Damage]
    private var rng: SeededRandom
    private var codec: X264RoundTrip?

    package init(_ damages: [Damage], seed: UInt64 = 1) {
        (self.damages, rng) = (damages, SeededRandom(seed: seed))
    }

    /// Damages one [1, 3, h, w] picture (even sides with x264).
    /// - Throws: `VideoIOError` from the codecs.
    package func push(_ picture: Tensor) throws -> [Tensor] {
        let out = picture.detached()
        try Damage.apply(damages, toPicture: out.data, h: out.shape[2], w: out.shape[3], rng: &rng)
        guard let crf = damages.lazy.compactMap(\.crf).first else { return [out] }
        if codec == nil { codec = try X264RoundTrip(width: out.shape[3], height: out.shape[2], crf: crf) }
        return try codec!.push(out)
    }

    package func finish() throws -> [Tensor] { try codec?.finish() ?? [] }

    /// The mean H.264 quantiser of what went through x264, or nil.
    package var meanQP: Double? { codec?.meanQP }
}

extension KernelShape {
    /// The shape's setting as `--degrade` writes it after a lens: "", ",beta=B" or ",plateau=B".
    var written: String {
        switch self {
        case .gaussian: ""
        case .generalized(let beta): String(format: ",beta=%g", beta)
        case .plateau(let beta): String(format: ",plateau=%g", beta)
        }
    }
}
