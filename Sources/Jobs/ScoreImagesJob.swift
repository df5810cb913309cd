import Autograd
import Networks
import Quality
import Training
import VideoIO

/// `hone eval`: a method's Y-PSNR, Y-SSIM, RGB PSNR and LPIPS on image folders with
/// ground truth (`ImageSet.evaluationImages`), bicubic alongside.
public struct ScoreImagesJob {
    public var method: UpscalingMethod
    public var folders: [String]
    /// The kernels' factor (a checkpoint has its own).
    public var scale: Int?

    public init(method: UpscalingMethod, folders: [String]) { (self.method, self.folders) = (method, folders) }

    public struct Row: Codable, Sendable { public let image: String; public let bicubic: ImageScore; public let method: ImageScore }
    public struct Report: Codable, Sendable {
        public let method: String, scale: Int, rows: [Row]
        public let meanBicubic: ImageScore, meanMethod: ImageScore
    }

    /// - Throws: `FileError` naming the folder, image or checkpoint at fault.
    public func run() throws -> Report {
        let enhancer = try Enhancer(method, scale: scale)
        let s = enhancer.scale
        let lpips = try LPIPS()
        var rows: [Row] = []
        try Grad.disabled {
            for folder in folders {
                for image in try ImageSet.evaluationImages(in: folder, scale: s) {
                    rows.append(Row(image: folder + "/" + image.name,
                                    bicubic: try ImageSet.score(image, scale: s, lpips: lpips) { try resizeBicubic($0, .up(s)) },
                                    method: try ImageSet.score(image, scale: s, lpips: lpips) { try enhancer.enhance(FrameWindow($0)) }))
                }
            }
        }
        func mean(_ pick: (Row) -> ImageScore) -> ImageScore {
            let n = Double(rows.count)
            return ImageScore(psnrY: rows.map { pick($0).psnrY }.reduce(0, +) / n, ssimY: rows.map { pick($0).ssimY }.reduce(0, +) / n,
                              psnrRGB: rows.map { pick($0).psnrRGB }.reduce(0, +) / n, lpips: rows.map { pick($0).lpips }.reduce(0, +) / n)
        }
        return Report(method: method.description, scale: s, rows: rows, meanBicubic: mean(\.bicubic), meanMethod: mean(\.method))
    }
}
