import Autograd
import Foundation

/// The ffmpeg and ffprobe CLIs, for making and checking test material (the
/// product itself never runs them).
public enum Media {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Runs a tool; returns stdout, throws with its stderr on failure.
    @discardableResult
    public static func run(_ tool: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let (out, err) = (Pipe(), Pipe())
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(args.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return data
    }

    @discardableResult
    public static func ffmpeg(_ args: [String]) throws -> Data { try run("ffmpeg", ["-v", "error", "-nostdin", "-y"] + args) }

    /// A test clip at `path`: testsrc2 with a sine tone, H.264 + AAC, `seconds` long.
    @discardableResult
    public static func clip(_ path: String, seconds: Int = 2, size: String, rate: Int) throws -> String {
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)", "-f", "lavfi", "-i", "sine", "-t", "\(seconds)",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path])
        return path
    }

    /// ffprobe -show_entries for one stream ("v:0", "a:0"): key → value.
    public static func probe(_ path: String, stream: String, _ entries: String, countFrames: Bool = false) throws -> [String: String] {
        let out = try run("ffprobe", ["-v", "error", "-select_streams", stream] + (countFrames ? ["-count_frames"] : [])
                          + ["-show_entries", entries, "-of", "default=nw=1", path])
        var result: [String: String] = [:]
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Presentation times (seconds) of every video frame.
    public static func frameTimes(_ path: String) throws -> [Double] {
        let out = try run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                                      "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(separator: "\n").compactMap { Double($0.split(separator: ",")[0]) }
    }

    /// swscale flags the decoder uses: by default the ffmpeg CLI takes a fast
    /// path with nearest-neighbour chroma (measured 25 dB from ours on
    /// testsrc2), so references are made with the same interpolation.
    public static let swsFlags = "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp"

    /// Frames of a video decoded by ffmpeg itself as 8-bit RGB tensors [1, 3, h, w],
    /// resized to width × height with swscale's bicubic after conversion to RGB
    /// (as Hone does; scaling 4:2:0 chroma planes directly differs on colour edges).
    public static func decodeRGB(_ path: String, width: Int, height: Int) throws -> [Tensor] {
        let filter = "scale=flags=\(swsFlags),format=gbrp,scale=\(width):\(height):flags=bicubic+accurate_rnd"
        // Every decoded frame once (no frame-rate conversion): a file whose video starts after 0 (Matroska
        // shifts it past an AAC priming) would otherwise gain a duplicate first frame.
        let bytes = try ffmpeg(["-i", path, "-vf", filter, "-vsync", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        let size = width * height * 3
        return stride(from: 0, to: bytes.count - size + 1, by: size).map { start in
            let t = Tensor(shape: [1, 3, height, width])
            bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
                for y in 0..<height { for x in 0..<width { for c in 0..<3 {
                    t.data[(c * height + y) * width + x] = Float(b[start + (y * width + x) * 3 + c]) / 255
                }}}
            }
            return t
        }
    }

    /// Largest difference (8-bit levels) and PSNR of two equal-shaped
    /// [1, c, h, w] tensors in [0, 1] after rounding to 8 bits, ignoring
    /// `border` pixels on each side.
    public static func compare8bit(_ a: Tensor, _ b: Tensor, border: Int = 0) -> (maxDiff: Int, psnr: Double) {
        let (c, h, w) = (a.shape[1], a.shape[2], a.shape[3])
        var maxDiff = 0, se = 0.0, n = 0
        for k in 0..<c { for y in border..<(h - border) { for x in border..<(w - border) {
            let i = (k * h + y) * w + x
            let d = Int((min(max(a.data[i], 0), 1) * 255).rounded()) - Int((min(max(b.data[i], 0), 1) * 255).rounded())
            maxDiff = max(maxDiff, abs(d))
            se += Double(d * d)
            n += 1
        }}}
        let mse = se / Double(max(n, 1))
        return (maxDiff, mse == 0 ? .infinity : 10 * log10(255 * 255 / mse))
    }

    /// The project's folder (configs/, checkpoints/, fuzz/ …).
    public static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// ../shared/data beside the project, or nil when it is absent.
    public static let sharedData: URL? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/data").standardized
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    /// A fresh temporary folder, removed by the caller.
    public static func temporaryFolder(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hone-\(name)-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

extension Array where Element == Double {
    /// Differences between neighbours (frame times to frame gaps).
    public func adjacentGaps() -> [Double] { zip(dropFirst(), self).map { $0 - $1 } }
}
