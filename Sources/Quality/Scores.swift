import Foundation
import Networks

/// Y-PSNR (dB) and Y-SSIM averaged over validation frames.
public struct Score: Codable, Sendable, CustomStringConvertible {
    public let psnr: Double, ssim: Double
    public init(psnr: Double, ssim: Double) { (self.psnr, self.ssim) = (psnr, ssim) }
    public var description: String { String(format: "%.2f dB / %.4f", psnr, ssim) }
}

/// Scores of one method on one image.
public struct ImageScore: Codable, Sendable {
    /// LPIPS-VGG v0.1 over the whole image (lower is closer).
    public let psnrY: Double, ssimY: Double, psnrRGB: Double, lpips: Double
    public init(psnrY: Double, ssimY: Double, psnrRGB: Double, lpips: Double) {
        (self.psnrY, self.ssimY, self.psnrRGB, self.lpips) = (psnrY, ssimY, psnrRGB, lpips)
    }
}

/// One method's scores on a ground-truth clip or image set: means over the
/// scored frames. Overshoot and flicker are in 8-bit luma levels; flicker is
/// nil for still images.
public struct MethodScore: Codable, Sendable {
    public let method: String
    public var psnrY = 0.0, ssimY = 0.0, lpips = 0.0, overshootMean = 0.0, overshootP99 = 0.0
    public var flicker: Double?
    /// Mean luma of its output (`Metrics.meanY`, 8-bit levels 16–235); nil in records from before it was measured.
    public var meanLuma: Double?
    /// Seconds spent upscaling (metrics excluded).
    public var seconds = 0.0

    /// Zero scores for `method`, summed into by the scorer.
    public init(method: String) { self.method = method }
}
