import Autograd
import Foundation
import Networks
import Quality
import VideoIO

/// Training pictures — a video's frames or a folder's photographs — decoded
/// once and kept as 8-bit planar RGB in a file that is memory-mapped: a long
/// video costs disk, not memory. Pages are released from the process after
/// each read, so resident memory stays at one picture whatever the length.
/// The file is unlinked as soon as it is created, so nothing is left behind,
/// even when the process is killed.
public final class FrameCache {
    /// Width and height of each picture.
    public let sizes: [(width: Int, height: Int)]
    public var count: Int { sizes.count }
    /// The video, or the first photograph, for messages.
    public let source: String
    private let offsets: [Int]
    private let base: UnsafeMutablePointer<UInt8>
    private let length: Int

    /// The frames of a video that `sampling` keeps (every frame by default), each
    /// through `transform` when given (a crop, a turn); the video must keep one size.
    /// - Throws: `FileError` when the cache's disk lacks the room (checked before decoding).
    public convenience init(video: String, sampling: FrameSampling = .everyFrame, transform: ((Tensor) throws -> Tensor)? = nil,
                            progress: (Int, Int) throws -> Void) throws {
        let reader = try VideoReader(video)
        let info = reader.info
        let (w, h) = (info.width, info.height)
        let expected = sampling.expectedFrames(of: info)
        try Self.requireRoom(bytes: w * h * 3 * expected, for: "\(expected) frames of \(w)×\(h)")
        let seconds = Double(info.timeBase.num) / Double(info.timeBase.den)
        var kept = 0, first: Int64?
        try self.init(source: video) {
            guard kept < sampling.limit, let frame = try reader.next(keeping: { pts in
                first = first ?? pts
                return sampling.keeps(seconds: Double(pts - first!) * seconds, kept: kept, frameRate: info.frameRate)
            }) else { return nil }
            guard frame.image.shape == [1, 3, h, w] else {
                throw FileError(video, "frame size changes mid-stream (\(frame.image.shape)), which fine-tuning does not handle")
            }
            kept += 1
            try progress(kept, max(kept, expected))
            return try transform?(frame.image) ?? frame.image
        }
    }

    /// Photographs, each halved (antialiased bicubic) until its longer side is
    /// at most `maxSide`: downscaling large photos removes their camera and JPEG
    /// softness, so the targets are sharp at pixel level.
    public convenience init(images: [String], maxSide: Int, progress: (Int, Int) throws -> Void) throws {
        var next = 0
        try self.init(source: images.first ?? "images") {
            guard next < images.count else { return nil }
            var image = try Still.read(images[next])
            while max(image.shape[2], image.shape[3]) > maxSide {
                image = try Grad.disabled { try resizeBicubic(try Quality.crop(image, toMultipleOf: 2), .down(2)) }
            }
            next += 1
            try progress(next, images.count)
            return image
        }
    }

    /// Throws unless the temporary folder ($TMPDIR) has `bytes` free, saying what is needed.
    static func requireRoom(bytes: Int, for what: String) throws {
        let folder = FileManager.default.temporaryDirectory.path
        var fs = statvfs()
        guard statvfs(folder, &fs) == 0 else { return }
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        guard bytes > free else { return }
        throw FileError(folder, "the frame cache needs \(byteCount(bytes)) for \(what) and only \(byteCount(free)) is free; "
                        + "point TMPDIR at a larger disk")
    }

    /// Each [1, 3, h, w] picture `next` gives until it returns nil; `source` names them in errors.
    public init(source: String, next: () throws -> Tensor?) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hone-frames-\(getpid())-\(UUID().uuidString)").path
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError(path, "cannot create the frame cache (\(String(cString: strerror(errno))))") }
        // Unlinked at once: the open descriptor and the mapping keep the data, and nothing is left on disk even if the process is killed.
        unlink(path)
        defer { close(fd) }
        var sizes: [(width: Int, height: Int)] = [], offsets: [Int] = [], end = 0
        var bytes: [UInt8] = []
        while let image = try next() {
            let count = image.count
            if bytes.count != count { bytes = [UInt8](repeating: 0, count: count) }
            for i in 0..<count { bytes[i] = UInt8(eightBit(image.data[i])) }
            var written = 0
            while written < count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, count - written) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw FileError(path, errno == ENOSPC ? "disk full while caching frames" : "cannot write the frame cache (\(String(cString: strerror(errno))))") }
                written += n
            }
            sizes.append((image.shape[3], image.shape[2]))
            offsets.append(end)
            end += count
        }
        guard !sizes.isEmpty else { throw FileError(source, "has no decodable pictures") }
        (self.sizes, self.offsets, length, self.source) = (sizes, offsets, end, source)
        guard let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw FileError(path, "cannot map the frame cache")
        }
        base = map.assumingMemoryBound(to: UInt8.self)
    }

    deinit { munmap(base, length) }

    /// The pictures at `indices`, copied into a cache of their own (`source` names it).
    public func subset(_ indices: [Int], source: String) throws -> FrameCache {
        var next = 0
        return try FrameCache(source: source) {
            defer { next += 1 }
            return next < indices.count ? frame(indices[next]) : nil
        }
    }

    /// Picture i as a [1, 3, h, w] tensor in [0, 1].
    public func frame(_ i: Int) -> Tensor {
        let (w, h) = sizes[i]
        let t = Tensor(shape: [1, 3, h, w])
        let src = base + offsets[i]
        for j in 0..<(3 * w * h) { t.data[j] = Float(src[j]) * (1 / 255) }
        release(i)
        return t
    }

    /// Drops picture i's pages from this process's resident set (they stay in
    /// the page cache, so the next read is still fast).
    private func release(_ i: Int) {
        let page = Int(getpagesize())
        let start = offsets[i] / page * page
        madvise(base + start, offsets[i] + 3 * sizes[i].width * sizes[i].height - start, MADV_DONTNEED)
    }

    /// Copies a size×size crop of picture i at (x, y) into slot `slot` of a
    /// [n, 3, size, size] batch, under one of the 8 flips/rotations (`transform` 0…7).
    func crop(_ i: Int, x: Int, y: Int, size: Int, transform: Int, into batch: Tensor, slot: Int) {
        let width = sizes[i].width, plane = width * sizes[i].height
        let src = base + offsets[i]
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
        release(i)
    }
}

extension FrameCache {
    /// Opens `video` and checks its size and frame count against `config` at `scale`, without decoding.
    /// - Throws: `FileError` naming the video and the limit it misses; `VideoIOError` when it cannot be read.
    public static func requireTrainable(video: String, config: HoneConfig, scale: Int) throws {
        let info = try VideoReader(video).info
        if let problem = Trainer.problem(config: config, scale: scale, pictures: info.estimatedFrames > 0 ? info.estimatedFrames : .max,
                                         smallestSide: min(info.width, info.height), unit: "frames") {
            throw FileError(video, problem)
        }
    }

    /// A video's frames for training under `config` at `scale`, those `sampling` keeps.
    /// The stream's size and frame count are checked before anything is decoded.
    /// - Throws: `FileError` naming the video and the limit it misses;
    ///   `VideoIOError` when it cannot be read; `JobCancelled`.
    public convenience init(video: String, config: HoneConfig, scale: Int, sampling: FrameSampling, observer: JobObserver) throws {
        try Self.requireTrainable(video: video, config: config, scale: scale)
        defer { observer.finishStage() }
        try self.init(video: video, sampling: sampling, progress: observer.progress("decode", unit: "frames"))
    }
}

/// Bytes as people read them: "167 MB", "4.0 GB" (decimal units).
public func byteCount(_ bytes: Int) -> String {
    bytes >= 1_000_000_000 ? String(format: "%.1f GB", Double(bytes) / 1e9) : String(format: "%.0f MB", Double(bytes) / 1e6)
}

/// Which frames of a video fine-tuning learns from, so that a film costs
/// bounded disk and time: frames spread evenly over the whole video, `rate`
/// per second of it (NAS, Yeo et al., OSDI 2018, trained on frames sampled at
/// 0.1 fps), never more than `limit`.
public struct FrameSampling: Sendable, Equatable, CustomStringConvertible {
    /// Frames kept per second of video; nil: every frame.
    public let rate: Double?
    /// The most frames the cache holds.
    public let limit: Int

    public init(rate: Double?, limit: Int) { (self.rate, self.limit) = (rate, limit) }

    public static let everyFrame = FrameSampling(rate: nil, limit: .max)

    /// The frame cache's disk budget unless one is given: 4 GB, about 640 frames of 1080p or 5,800 of 640×360.
    public static let defaultBudget = 4_000_000_000

    /// For a video: `rate` when given, else every frame; lowered to the rate
    /// that fills `budget` bytes when they would not fit; at most what fits in `budget`.
    /// A rate at or above the video's own frame rate keeps every frame.
    public init(video info: VideoInfo, rate: Double?, budget: Int) {
        let limit = max(1, budget / max(1, info.width * info.height * 3))
        let filling = info.duration > 0 ? Double(limit) / info.duration : nil
        let wanted = Double(info.estimatedFrames) > Double(limit) ? filling : nil
        let chosen = [rate, wanted].compactMap { $0 }.min()
        self.init(rate: chosen.flatMap { info.frameRate > 0 && $0 >= info.frameRate ? nil : $0 }, limit: limit)
    }

    /// About how many frames it keeps of a video.
    public func expectedFrames(of info: VideoInfo) -> Int {
        let all = info.estimatedFrames
        guard let rate, info.duration > 0 else { return min(all, limit) }
        return min(all, limit, Int((info.duration * rate).rounded(.up)))
    }

    /// Throws unless it keeps enough of the video at `path` for training under `config`
    /// (one frame in `validation_every` is held out), saying which rate and budget would.
    /// - Throws: `UsageError`.
    public func requireEnoughFrames(of info: VideoInfo, path: String, config: HoneConfig) throws {
        let expected = expectedFrames(of: info)
        let needed = config.training.validationEvery / 2 + 1
        guard expected < needed, expected < info.estimatedFrames else { return }
        let rate = (Double(needed) / max(info.duration, 1e-9) * 100).rounded(.up) / 100
        throw UsageError("\(path): learning from \(self) keeps about \(expected) of its \(info.estimatedFrames) frames, and training needs "
                         + "at least \(needed): use --sample \(rate) or more"
                         + (limit < needed ? " and a --cache-budget of at least \(byteCount(needed * info.width * info.height * 3))" : ""))
    }

    /// Whether the frame `seconds` after the first is kept when `kept` are kept
    /// already: the first frame at or past each multiple of 1 / rate.
    package func keeps(seconds: Double, kept: Int, frameRate: Double) -> Bool {
        guard kept < limit else { return false }
        guard let rate else { return true }
        let halfFrame = frameRate > 0 ? 0.5 / frameRate : 0
        return seconds + halfFrame >= Double(kept) / rate
    }

    /// "every frame", or "0.50 frames a second (one every 2.0 s)".
    public var description: String {
        guard let rate else { return "every frame" }
        return String(format: "%.2f frames a second (one every %.1f s)", rate, 1 / rate)
    }
}
