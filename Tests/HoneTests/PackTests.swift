import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// `hone pack` then `hone infer --video PACK`: one file that plays at low
/// resolution anywhere and carries the network that restores it.
final class PackTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("pack") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func hone(_ args: [String]) throws -> CLITests.Result { try CLITests.run(args, directory: dir) }

    /// testsrc2 with a tone, a subtitle and an attached file (as a font would be), 2 s at 25 fps,
    /// 202×122 (not multiples of 4: the pack crops it to 200×120 → 100×60).
    func makeMaster() throws -> String {
        let srt = path("subs.srt")
        try "1\n00:00:00,000 --> 00:00:01,500\nhello\n".write(toFile: srt, atomically: true, encoding: .utf8)
        try "credits".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
        let master = path("master.mkv")
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=202x122:rate=25", "-f", "lavfi", "-i", "sine=frequency=440", "-i", srt, "-t", "2",
                          "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "srt",
                          "-attach", path("notes.txt"), "-metadata:s:t", "mimetype=text/plain", "-shortest", master])
        return master
    }

    func testPackThenInferRoundTrip() throws {
        let master = try makeMaster()
        let pack = try hone(["pack", "--video", master, "-o", path("clip.hone.mkv"), "--epochs", "1", "--preset", "ultrafast"])
        XCTAssertEqual(pack.status, 0, pack.stderr)
        XCTAssert(pack.stdout.contains("wrote ") && pack.stdout.contains("network"), pack.stdout)
        // A low-resolution H.264 video with the master's audio and subtitles, and the network attached.
        let video = try Media.probe(path("clip.hone.mkv"), stream: "v:0", "stream=codec_name,width,height,nb_read_frames", countFrames: true)
        XCTAssertEqual(video["codec_name"], "h264")
        XCTAssertEqual([video["width"], video["height"]], ["100", "60"])
        XCTAssertEqual(video["nb_read_frames"], "50")
        XCTAssertEqual(try Media.probe(path("clip.hone.mkv"), stream: "a:0", "stream=codec_name")["codec_name"], "aac")
        XCTAssertEqual(try Media.probe(path("clip.hone.mkv"), stream: "s:0", "stream=codec_name")["codec_name"], "subrip")
        XCTAssertEqual(try Media.probe(path("clip.hone.mkv"), stream: "t:0", "stream_tags=mimetype")["TAG:mimetype"], "text/plain",
                       "the master's own attachments are kept")
        let tags = try Media.probe(path("clip.hone.mkv"), stream: "t:1", "stream_tags=filename,mimetype")
        XCTAssertEqual(tags["TAG:mimetype"], Delivery.mimeType)
        XCTAssertEqual(tags["TAG:filename"], "hone-x2.safetensors")
        // The attachment as any tool extracts it is the one Hone reads, and a valid half-precision safetensors file.
        _ = try? Media.ffmpeg(["-dump_attachment:t:1", path("extracted.safetensors"), "-i", path("clip.hone.mkv")])
        let extracted = try Data(contentsOf: URL(fileURLWithPath: path("extracted.safetensors")))
        XCTAssertEqual(extracted, try MediaInput(path("clip.hone.mkv")).attachments.last?.data)
        let checkpoint = try Checkpoint.parse(extracted, path: "extracted")
        XCTAssertEqual(checkpoint.metadata["hone.format"], "hone-delivery-1")
        XCTAssertLessThan(extracted.count, 12_000, "channel modulation: a few kB")

        // The receiver's default output is Matroska, named without the pack's ".hone", so the subtitles stay.
        let infer = try hone(["infer", "--video", path("clip.hone.mkv"), "--preset", "ultrafast"])
        XCTAssertEqual(infer.status, 0, infer.stderr)
        XCTAssert(infer.stdout.contains("attached"), infer.stdout)
        let upscaled = path("clip.hone-x2.mkv")
        let up = try Media.probe(upscaled, stream: "v:0", "stream=width,height,nb_read_frames", countFrames: true)
        XCTAssertEqual([up["width"], up["height"], up["nb_read_frames"]], ["200", "120", "50"])
        XCTAssertEqual(try Media.probe(upscaled, stream: "a:0", "stream=codec_name")["codec_name"], "aac")
        XCTAssertEqual(try Media.probe(upscaled, stream: "s:0", "stream=codec_name")["codec_name"], "subrip")
        XCTAssertEqual(try Media.probe(upscaled, stream: "t:0", "stream_tags=mimetype")["TAG:mimetype"], "text/plain", "the master's attachment")
        XCTAssertEqual(try Media.probe(upscaled, stream: "t:1", "stream=index"), [:], "the upscaled video carries no network")
        let info = try hone(["info", path("clip.hone.mkv")])
        XCTAssert(info.stdout.contains("hone-x2.safetensors") && info.stdout.contains(Delivery.mimeType) && info.stdout.contains("×2 network"), info.stdout)
    }

    /// `evaluate --delivery` refuses, before any work, what would give wrong numbers: a folder of another
    /// evaluation (its packs would be reused), repeated CRFs, options it would ignore, a missing parent folder.
    func testDeliveryEvaluationRefusesWhatWouldMislead() throws {
        let master = try makeMaster()
        try FileManager.default.createDirectory(atPath: path("other"), withIntermediateDirectories: false)
        try Data(#"{"master":"/elsewhere.mp4","masterBytes":1,"scale":2,"tuning":"channel-modulation","epochs":6,"preset":"medium"}"#.utf8)
            .write(to: URL(fileURLWithPath: path("other/settings.json")))
        for (args, status, words) in [(["-o", path("other")], Int32(1), "holds an evaluation of /elsewhere.mp4"),
                                      (["--crf", "28,28,33,38"], 64, "4 different CRFs"),
                                      (["--loss-pixel", "2"], 64, "drop --loss-pixel"),
                                      (["-o", path("missing/folder")], 1, "does its parent exist")] {
            let r = try hone(["evaluate", "--delivery", "--gt", master] + args)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssert(r.stderr.contains(words), "\(args): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("master.delivery")))
    }

    /// A corrupt attachment, one from another format, or none: one line naming the pack, a hint, exit 1; nothing written.
    func testBadAttachmentsGetOneLineAndAHint() throws {
        let master = try makeMaster()
        try Media.ffmpeg(["-i", master, "-map", "0", "-c", "copy", path("plain.mkv")])
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: path("junk.bin")))
        try remux(path("plain.mkv"), to: path("corrupt.mkv"), attachments: [Attachment(fileName: "hone-x2.safetensors", mimeType: Delivery.mimeType,
                                                                                        data: Data("not a checkpoint".utf8))])
        let foreign = try Checkpoint(tensors: [], metadata: ["hone.format": "hone-delivery-9"]).encoded()
        try remux(path("plain.mkv"), to: path("foreign.mkv"), attachments: [Attachment(fileName: "hone-x2.safetensors", mimeType: Delivery.mimeType, data: foreign)])
        for (name, words) in [("corrupt.mkv", "corrupt"), ("foreign.mkv", "another format"), ("plain.mkv", "holds no network")] {
            let r = try hone(["infer", "--video", path(name), "-o", path("out-\(name)")])
            XCTAssertEqual(r.status, 1, r.stderr)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssert(r.stderr.contains(path(name)) && r.stderr.contains(words) && r.stderr.contains("--checkpoint"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out-\(name)")))
        }
        // --checkpoint overrides the attachment.
        let r = try hone(["infer", "--video", path("corrupt.mkv"), "--checkpoint", "bicubic", "-o", path("bicubic.mkv"), "--preset", "ultrafast"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Interrupted while learning: exit 130, and nothing is left beside the master (no pack, no stream, no checkpoint).
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        let stopped = try CLITests.run(["pack", "--video", master, "-o", path("stopped.mkv"), "--epochs", "50"], interruptAfter: 4,
                                       signal: SIGTERM, directory: dir)
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), before)
        // A pack must be Matroska, from a video file.
        let stdin = try hone(["pack", "--video", "-"])
        XCTAssertEqual(stdin.status, 64, stdin.stderr)
        let mp4 = try hone(["pack", "--video", master, "-o", path("clip.mp4")])
        XCTAssertEqual(mp4.status, 64, mp4.stderr)
        XCTAssert(mp4.stderr.contains(".mkv"), mp4.stderr)
    }
}
