import Autograd
import Foundation
import VideoIO

/// A video's frames decoded once and kept as 8-bit planar RGB in a file that
/// is memory-mapped: a long video costs disk, not memory. The file is
/// unlinked as soon as it is mapped, so nothing is left behind, even on a crash.
public final class FrameCache {
    public let count, width, height: Int
    private let base: UnsafeMutablePointer<UInt8>
    private let length: Int

    public init(video: String, progress: (Int, Int) throws -> Void) throws {
        let reader = try VideoReader(video)
        (width, height) = (reader.info.width, reader.info.height)
        let frameBytes = 3 * width * height
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hone-frames-\(getpid())-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw VideoIOError.cannotWrite(path, "cannot create the frame cache")
        }
        defer { unlink(path) }
        var bytes = [UInt8](repeating: 0, count: frameBytes)
        var n = 0
        while let frame = try reader.next() {
            guard frame.image.shape == [1, 3, height, width] else {
                throw VideoIOError.failed(video, "frame size changes mid-stream (\(frame.image.shape)), which fine-tuning does not handle")
            }
            for i in 0..<frameBytes { bytes[i] = UInt8(eightBit(frame.image.data[i])) }
            do { try file.write(contentsOf: bytes) } catch { throw VideoIOError.diskFull(path) }
            n += 1
            try progress(n, max(n, reader.info.estimatedFrames))
        }
        try file.close()
        guard n > 0 else { throw VideoIOError.failed(video, "has no decodable frames") }
        count = n
        length = n * frameBytes
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        guard fd >= 0, let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw VideoIOError.failed(path, "cannot map the frame cache")
        }
        base = map.assumingMemoryBound(to: UInt8.self)
    }

    deinit { munmap(base, length) }

    /// Frame i as a [1, 3, h, w] tensor in [0, 1].
    public func frame(_ i: Int) -> Tensor {
        let t = Tensor(shape: [1, 3, height, width])
        let src = base + i * 3 * width * height
        for j in 0..<(3 * width * height) { t.data[j] = Float(src[j]) * (1 / 255) }
        return t
    }

    /// Copies a size×size crop of frame i at (x, y) into slot `slot` of a
    /// [n, 3, size, size] batch, under one of the 8 flips/rotations (`transform` 0…7).
    func crop(_ i: Int, x: Int, y: Int, size: Int, transform: Int, into batch: Tensor, slot: Int) {
        let plane = width * height
        let src = base + i * 3 * plane
        let dst = batch.data + slot * 3 * size * size
        for c in 0..<3 {
            for r in 0..<size {
                for q in 0..<size {
                    // Destination (r, q) reads source (sr, sq) under the transform.
                    var (sr, sq) = (transform & 4 != 0) ? (q, r) : (r, q)
                    if transform & 1 != 0 { sq = size - 1 - sq }
                    if transform & 2 != 0 { sr = size - 1 - sr }
                    dst[(c * size + r) * size + q] = Float(src[c * plane + (y + sr) * width + x + sq]) * (1 / 255)
                }
            }
        }
    }
}
