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

    /// The libavfilter chains tried.
    public var settings: [String] {
        switch self {
        case .hqdn3d: ["hqdn3d=2", "hqdn3d=4", "hqdn3d=8"]
        case .nlmeans: ["nlmeans=s=3", "nlmeans=s=6", "nlmeans=s=10"]
        case .deblock: ["deblock=filter=weak:block=4", "deblock=filter=strong:block=4", "deblock=filter=strong:block=8"]
        }
    }

    /// Whether it reads earlier frames, so the clip is filtered from its start.
    public var isTemporal: Bool { self == .hqdn3d }
}
