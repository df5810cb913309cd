import Autograd
import Foundation
import XCTest

/// `resizeBicubic` against outside references:
/// - shrinking: MATLAB's `imresize` itself, through the LR images of Set5/Set14
///   in ../shared/data/sr, which were made with it from the HR images;
/// - enlarging: FFmpeg's swscale bicubic on a generated image. swscale's
///   default cubic is a = −0.6, ours (MATLAB's) a = −0.5: measured 49.5 dB,
///   at most 6 levels apart on testsrc2 ×2. (Its param0/param1 options did
///   not give a = −0.5 in FFmpeg 5.1: 36 dB.)
final class BicubicReferenceTests: XCTestCase {
    static let srData = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../shared/data/sr").standardized

    /// Runs the ffmpeg or ffprobe CLI (tests may; the product does not) and returns stdout.
    func run(_ tool: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool, "-v", "error"] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ShapeError("\(tool) \(args.joined(separator: " ")) failed") }
        return data
    }

    func ffmpeg(_ args: [String]) throws -> Data { try run("ffmpeg", ["-nostdin"] + args) }

    /// An 8-bit image file as a [1, c, h, w] tensor in [0, 1].
    func load(_ path: String, gray: Bool = false) throws -> Tensor {
        let probe = try run("ffprobe", ["-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=s=x:p=0", path])
        let size = String(decoding: probe, as: UTF8.self).split(whereSeparator: { $0 == "x" || $0 == "\n" }).compactMap { Int($0) }
        let c = gray ? 1 : 3
        let bytes = try ffmpeg(["-i", path, "-f", "rawvideo", "-pix_fmt", gray ? "gray" : "rgb24", "-"])
        let (w, h) = (size[0], size[1])
        let t = Tensor(shape: [1, c, h, w])
        bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            for y in 0..<h { for x in 0..<w { for k in 0..<c { t.data[(k * h + y) * w + x] = Float(b[(y * w + x) * c + k]) / 255 } } }
        }
        return t
    }

    /// Largest difference and PSNR between two [1, c, h, w] tensors after
    /// rounding to 8 bits, ignoring `border` pixels on each side.
    func compare8bit(_ a: Tensor, _ b: Tensor, border: Int = 0) -> (maxDiff: Int, psnr: Double) {
        let (c, h, w) = (a.shape[1], a.shape[2], a.shape[3])
        var maxDiff = 0, se = 0.0, n = 0
        for k in 0..<c { for y in border..<(h - border) { for x in border..<(w - border) {
            let i = (k * h + y) * w + x
            let d = Int((min(max(a.data[i], 0), 1) * 255).rounded()) - Int((b.data[i] * 255).rounded())
            maxDiff = max(maxDiff, abs(d))
            se += Double(d * d)
            n += 1
        }}}
        let mse = se / Double(n)
        return (maxDiff, mse == 0 ? .infinity : 10 * log10(255 * 255 / mse))
    }

    func testShrinkMatchesMatlabImresize() throws {
        guard FileManager.default.fileExists(atPath: Self.srData.path) else {
            throw XCTSkip("no ../shared/data/sr beside the project: MATLAB reference images unavailable")
        }
        for (set, scale) in [("Set5", 2), ("Set5", 3), ("Set5", 4), ("Set14", 2)] {
            let dir = Self.srData.appendingPathComponent("\(set)/x\(scale)")
            let his = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix("_HR.png") }.sorted()
            XCTAssertFalse(his.isEmpty)
            for hr in his.prefix(3) {
                let lrPath = dir.appendingPathComponent(hr.replacingOccurrences(of: "_HR", with: "_LR")).path
                let ours = try resizeBicubic(try load(dir.appendingPathComponent(hr).path), .down(scale))
                let matlab = try load(lrPath)
                XCTAssertEqual(ours.shape, matlab.shape, "\(set) ×\(scale) \(hr)")
                // MATLAB rounds to uint8 between its two 1-D passes and we do not, so
                // ±1–3 levels remain inside. The outermost pixels of some SelfExSR LR images
                // differ by up to 10 levels from any border rule we tried, so they are left out.
                let (maxDiff, psnr) = compare8bit(ours, matlab, border: 2)
                XCTAssertLessThanOrEqual(maxDiff, 3, "\(set) ×\(scale) \(hr)")
                XCTAssertGreaterThan(psnr, 55, "\(set) ×\(scale) \(hr)")
                XCTAssertGreaterThan(compare8bit(ours, matlab).psnr, 48, "\(set) ×\(scale) \(hr) with borders")
            }
        }
    }

    func testEnlargeMatchesSwscaleBicubic() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hone-bicubic-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("src.png").path, ref = dir.appendingPathComponent("ref.png").path
        _ = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", "-pix_fmt", "gray", "-y", src])
        _ = try ffmpeg(["-i", src, "-vf", "scale=192:128:flags=bicubic+accurate_rnd+full_chroma_int",
                        "-pix_fmt", "gray", "-y", ref])
        let (maxDiff, psnr) = compare8bit(try resizeBicubic(try load(src, gray: true), .up(2)), try load(ref, gray: true))
        XCTAssertGreaterThan(psnr, 45, "max difference \(maxDiff) levels")
    }
}
