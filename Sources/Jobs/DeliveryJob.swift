import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// `hone evaluate --delivery`: what a pack is worth in bytes. For each rate,
/// the master is packed (`PackJob`) and the pack's stream is upscaled three
/// ways — the pack's own network, the generic base, bicubic — and scored
/// against the master beside x264 at full resolution over a CRF range that
/// brackets the same byte counts. Bytes are the video stream's (plus the
/// attachment for the pack); audio is left out of every count.
public struct DeliveryJob {
    public var master: String
    public var scale = 2
    /// The packs' CRFs.
    public var crfs = [18, 23, 28, 33, 38]
    /// Frames scored, spread through the master.
    public var frames = 16
    public var tuning = Tuning.channelModulation
    public var epochs = PackJob.defaultEpochs
    public var preset = "medium"
    /// The packs' config; nil: configs/pack.yaml.
    public var config: String?
    /// Folder for the packs, the x264 encodes, results.json and rate-distortion.png; nil: `<master name>.delivery`.
    public var output: String?

    public init(master: String) { self.master = master }

    public var folder: String { output ?? outputName(for: master, ".delivery") }

    /// One method at one rate.
    public struct Point: Codable, Sendable {
        public let method: String, crf: Int
        /// Video stream plus attachment, and the attachment alone.
        public let bytes: Int, attachmentBytes: Int
        /// Average rate over the clip's duration.
        public let kbps: Double
        public let score: MethodScore
    }

    public struct Report: Codable, Sendable {
        public let master: String, scale: Int, frames: Int, seconds: Double
        public let points: [Point]
        /// Bjøntegaard deltas on Y-PSNR, by comparison ("pack vs x264": rate in % and PSNR in dB).
        public let deltas: [String: Double]
        /// The rate (kbit/s) where the pack stops beating full-resolution x264 at equal bytes.
        public let crossoverKbps: Double?
        public let plot: String
    }

    /// The Bjøntegaard deltas reported, in order (absent from a report when the curves share no range).
    public static let deltaNames = ["BD-rate pack vs x264 (%)", "BD-PSNR pack vs x264 (dB)", "BD-rate pack vs x264, low-rate half (%)",
                                    "BD-rate pack vs stream + base (%)", "BD-PSNR pack vs stream + base (dB)"]

    /// The methods, as named in the report.
    public static let pack = "pack", base = "stream + base", bicubic = "stream + bicubic", x264 = "x264 full resolution"

    /// What the packs and encodes in the folder were made from and with; a rerun must match to reuse them.
    struct Settings: Codable, Equatable {
        let master: String, masterBytes: Int, scale: Int, tuning: String, epochs: Int, preset: String, config: String?
    }

    /// - Throws: `FileError`/`VideoIOError` naming the file at fault (the folder, when it holds
    ///   another evaluation); `UsageError` for fewer than 4 different CRFs; `JobCancelled`
    ///   (finished packs and encodes are kept and reused).
    public func run(_ observer: JobObserver) throws -> Report {
        let start = Date()
        let crfs = Array(Set(self.crfs)).sorted()
        guard crfs.count >= 4 else { throw UsageError("a Bjøntegaard fit needs at least 4 different CRFs, got \(crfs.count)") }
        let info = try MediaInput(master).info
        let settings = Settings(master: URL(fileURLWithPath: master).standardizedFileURL.path,
                                masterBytes: (try? FileManager.default.attributesOfItem(atPath: master)[.size] as? Int) ?? 0,
                                scale: scale, tuning: tuning.rawValue, epochs: epochs, preset: preset, config: config)
        try prepareFolder(for: settings)
        let seconds = max(info.duration, 1e-3)
        func kbps(_ bytes: Int) -> Double { Double(bytes) * 8 / seconds / 1000 }

        // The truth: the master's frames as a pack shows them (cropped, upright).
        let asPacked = PackJob.asPacked(info, scale: scale)
        let truth = try FrameCache(video: master, transform: asPacked, progress: observer.progress("decode", unit: "frames"))
        observer.finishStage()
        let gt = try GroundTruth(truth: truth, scale: scale, isVideo: true, count: frames)
        let lpips = try LPIPS()
        let (base, _) = try loadNetwork(checkpoint: try shippedBase(scale: scale))

        /// A video's frames (through `transform`), which must be the master's in number.
        func videoFrames(_ path: String, transform: ((Tensor) throws -> Tensor)? = nil) throws -> FrameCache {
            let cache = try FrameCache(video: path, transform: transform) { _, _ in }
            guard cache.count == truth.count else { throw FileError(path, "has \(cache.count) frames, the master \(truth.count)") }
            return cache
        }
        func score(_ methods: [(name: String, output: (Int) throws -> Tensor)]) throws -> [MethodScore] {
            defer { observer.finishStage() }
            return try gt.score(outputs: methods, lpips: lpips, progress: observer.progress("score", unit: "frames"))
        }

        var points: [Point] = []
        for crf in crfs {
            let path = folder + "/pack-crf\(crf).mkv"
            if !FileManager.default.fileExists(atPath: path) {
                observer.report("pack at CRF \(crf)")
                var pack = PackJob(master: master)
                (pack.output, pack.scale, pack.tuning, pack.epochs, pack.config) = (path, scale, tuning, epochs, config)
                pack.encoder = EncoderSettings(codec: .h264, crf: crf, preset: preset)
                _ = try pack.run(observer)
            }
            guard let attachment = try Enhancer.attachment(of: path) else { throw FileError(path, "holds no network from `hone pack`") }
            let stream = try videoFrames(path)
            let packed = TiledUpscaler(try Delivery.decode(attachment.data, source: path).model)
            let videoBytes = try FrameIndex(path).videoBytes
            let scores = try score([(Self.pack, { try packed(stream.frame($0)) }), (Self.base, { try TiledUpscaler(base)(stream.frame($0)) }),
                                    (Self.bicubic, { try resizeBicubic(stream.frame($0), .up(scale)) })])
            for s in scores {
                let bytes = videoBytes + (s.method == Self.pack ? attachment.data.count : 0)
                points.append(Point(method: s.method, crf: crf, bytes: bytes, attachmentBytes: s.method == Self.pack ? attachment.data.count : 0,
                                    kbps: kbps(bytes), score: s))
            }
            observer.report(String(format: "CRF %d: pack %.2f dB at %.0f kbit/s, stream + base %.2f dB, stream + bicubic %.2f dB",
                                   crf, scores[0].psnrY, kbps(videoBytes + attachment.data.count), scores[1].psnrY, scores[2].psnrY))
        }

        // x264 at full resolution, from the packs' CRFs outwards until its bytes bracket theirs.
        let packBytes = points.filter { $0.method == Self.pack }.map(\.bytes)
        var fullCRFs = crfs.sorted()
        func encodeFull(_ crf: Int) throws -> Int {
            // MP4, which keeps a rotation as a tag: its frames decode as the master's and are shown as the truth is.
            let path = folder + "/x264-crf\(crf).mp4"
            if !FileManager.default.fileExists(atPath: path) {
                observer.report("x264 at full resolution, CRF \(crf)")
                _ = try Grad.disabled {
                    try enhanceVideo(input: master, output: path, resize: .up(1), settings: EncoderSettings(codec: .h264, crf: crf, preset: preset),
                                     enhance: { $0.image }, progress: observer.progress("encode", unit: "frames"))
                }
                observer.finishStage()
            }
            let full = try videoFrames(path, transform: asPacked)
            let score = try score([(Self.x264, { full.frame($0) })])[0]
            let bytes = try FrameIndex(path).videoBytes
            points.append(Point(method: Self.x264, crf: crf, bytes: bytes, attachmentBytes: 0, kbps: kbps(bytes), score: score))
            return bytes
        }
        var fullBytes = try fullCRFs.map(encodeFull)
        while let most = fullCRFs.last, most < 51, fullBytes.min()! > packBytes.min()! {
            fullCRFs.append(min(51, most + 5))
            fullBytes.append(try encodeFull(fullCRFs.last!))
        }
        while let least = fullCRFs.first, least > 0, fullBytes.max()! < packBytes.max()! {
            fullCRFs.insert(max(0, least - 5), at: 0)
            fullBytes.append(try encodeFull(fullCRFs.first!))
        }

        // Bjøntegaard deltas and the plot.
        func curve(_ method: String) -> [RatePoint] {
            points.filter { $0.method == method }.map { RatePoint(rate: $0.kbps, psnr: $0.score.psnrY) }.sorted { $0.rate < $1.rate }
        }
        let (packCurve, x264Curve, baseCurve) = (curve(Self.pack), curve(Self.x264), curve(Self.base))
        // The low-rate half: the points below the median pack rate, at least the 4 a cubic fit needs.
        let lowLimit = packCurve[min(packCurve.count - 1, max(3, packCurve.count / 2))].rate
        func lowHalf(_ c: [RatePoint]) -> [RatePoint] {
            let low = c.filter { $0.rate <= lowLimit }
            return low.count >= 4 ? low : Array(c.prefix(4))
        }
        let values = [Bjontegaard.rate(anchor: x264Curve, test: packCurve), Bjontegaard.psnr(anchor: x264Curve, test: packCurve),
                      Bjontegaard.rate(anchor: lowHalf(x264Curve), test: lowHalf(packCurve)),
                      Bjontegaard.rate(anchor: baseCurve, test: packCurve), Bjontegaard.psnr(anchor: baseCurve, test: packCurve)]
        let deltas = Dictionary(uniqueKeysWithValues: zip(Self.deltaNames, values).compactMap { name, value in value.map { (name, $0) } })
        let crossover = Bjontegaard.crossover(anchor: x264Curve, test: packCurve)
        let plot = folder + "/rate-distortion.png"
        try Still.writePNG(rateDistortionPlot([Self.pack, Self.base, Self.bicubic, Self.x264].map { method in
            (method, points.filter { $0.method == method }.map { ($0.kbps, $0.score.psnrY) })
        }), to: plot)
        let report = Report(master: master, scale: scale, frames: gt.scored.count, seconds: Date().timeIntervalSince(start), points: points,
                            deltas: deltas, crossoverKbps: crossover, plot: plot)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(report).write(to: URL(fileURLWithPath: folder + "/results.json"), options: .atomic) } catch {
            throw FileError(folder + "/results.json", "cannot write")
        }
        return report
    }

    /// Creates the folder (its parent must exist), or checks that the evaluation in it was made with `settings`.
    /// - Throws: `FileError` naming the folder.
    func prepareFolder(for settings: Settings) throws {
        let record = URL(fileURLWithPath: folder + "/settings.json")
        if FileManager.default.fileExists(atPath: folder) {
            guard let data = try? Data(contentsOf: record), let saved = try? JSONDecoder().decode(Settings.self, from: data) else {
                if (try? FileManager.default.contentsOfDirectory(atPath: folder).isEmpty) == true { return try write(settings, to: record) }
                throw FileError(folder, "exists and is not a delivery evaluation's folder; pass another -o")
            }
            guard saved == settings else {
                throw FileError(folder, "holds an evaluation of \(saved.master) at ×\(saved.scale), \(saved.tuning), \(saved.epochs) epochs, preset \(saved.preset)"
                                + (saved.config.map { ", config \($0)" } ?? "") + ", whose packs would be reused; pass another -o")
            }
            return
        }
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false) } catch {
            throw FileError(folder, "cannot create the folder (does its parent exist?)")
        }
        try write(settings, to: record)
    }

    private func write(_ settings: Settings, to url: URL) throws {
        do { try JSONEncoder().encode(settings).write(to: url, options: .atomic) } catch { throw FileError(url.path, "cannot write") }
    }
}
