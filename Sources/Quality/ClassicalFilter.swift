import Autograd
import Networks
import VideoIO

/// FFmpeg's restoration filters that a user would otherwise reach for
/// (libavfilter), each with a small grid of settings: `hone evaluate --degrade`
/// scores every setting against the truth and keeps each filter's best, so the
/// filters are shown at their best for that clip.
public enum ClassicalFilter: String, CaseIterable, Sendable {
    /// High-quality 3D denoiser: spatial and temporal low-pass (luma spatial strength 2, 4, 8).
    case hqdn3d
    /// Non-local means denoiser (strength 3, 6, 10; FFmpeg's default 7×7 patches in 15×15 windows).
    case nlmeans
    /// Deblocking across block edges (weak or strong, on 4- or 8-pixel blocks: H.264's transforms).
    case deblock
    /// Unsharp masking, luma and chroma alike (5×5 at amount 1, 7×7 at 1.5, 9×9 at 2), on 8-bit YUV: what a soft picture gets.
    case unsharp

    /// The libavfilter chains tried.
    public var settings: [String] {
        switch self {
        case .hqdn3d: ["hqdn3d=2", "hqdn3d=4", "hqdn3d=8"]
        case .nlmeans: ["nlmeans=s=3", "nlmeans=s=6", "nlmeans=s=10"]
        case .deblock: ["deblock=filter=weak:block=4", "deblock=filter=strong:block=4", "deblock=filter=strong:block=8"]
        // On 8-bit YUV: fed 16-bit, FFmpeg 5.1's unsharp barely changes the picture (27.46 → 27.48 dB on a
        // σ 1.5 blur of chaplin, against 30.65 on yuv444p).
        case .unsharp: [(5, 1.0), (7, 1.5), (9, 2.0)].map { "format=yuv444p,unsharp=\($0.0):\($0.0):\($0.1):\($0.0):\($0.0):\($0.1)" }
        }
    }

    /// The filters with something to undo in `damages`: the sharpener for a blur (a lens or after the
    /// downscale), the denoisers and deblocking for noise or compression.
    public static func undoing(blur: Bool, noiseOrCompression: Bool) -> [ClassicalFilter] {
        allCases.filter { $0 == .unsharp ? blur : noiseOrCompression }
    }

    /// Whether it reads earlier frames, so the clip is filtered from its start.
    public var isTemporal: Bool { self == .hqdn3d }
}

/// FFmpeg's tools for exposure and colour that a user would otherwise reach for
/// (libavfilter), each with a small grid: `hone evaluate --light` scores every
/// setting against the truth. A grid scored on the clip's own truth undoes a
/// global gamma and gain almost exactly, so its best is a ceiling, not a baseline.
public enum ClassicalLightTool: String, CaseIterable, Sendable {
    /// Stretches each frame's darkest and brightest values to black and white (channels linked, half-linked, independent).
    case normalize
    /// Histogram equalisation (strength 0.2, 0.4).
    case histeq
    /// A gamma on the picture (eq's gamma, 1.6–2.8: above 1 brightens).
    case eq
    /// The exact inverse of `dark:gamma=G,gain=K` per channel, v → (v / K)^(1/G) (lutrgb), on a 3 × 3 grid of
    /// K and G: levels and gamma as a colour tool sets them. (colorlevels followed by eq gave a different
    /// picture from run to run inside one graph here, so the two are written as one lookup table.)
    case levels

    public var settings: [String] {
        switch self {
        case .normalize: [0, 0.5, 1].map { "normalize=independence=\($0)" }
        case .histeq: [0.2, 0.4].map { "histeq=strength=\($0)" }
        case .eq: [1.6, 2.0, 2.4, 2.8].map { "eq=gamma=\($0)" }
        case .levels: [0.25, 0.35, 0.5].flatMap { k in [1.6, 2.2, 2.8].map { g in
            let inverse = "'maxval*pow(min(val/(maxval*\(k))\\,1)\\,1/\(g))'"
            return "lutrgb=r=\(inverse):g=\(inverse):b=\(inverse)"
        } }
        }
    }
}
