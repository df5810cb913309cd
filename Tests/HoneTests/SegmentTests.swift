import Foundation
import TestSupport
import VideoIO
import XCTest

/// `hone infer --segment I/N` on separate processes, then `hone join`: the
/// result must be the single run's, frame for frame and packet for packet.
final class SegmentTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("segments") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func hone(_ args: [String]) throws -> CLITests.Result { try CLITests.run(args, directory: dir) }

    static let base = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../checkpoints/base-x2.safetensors").standardized.path

    /// ffmpeg's framemd5 of one stream (timestamps, sizes and a hash per frame or packet), without its header.
    func framemd5(_ file: String, stream: String, copy: Bool = false) throws -> [String] {
        let out = try Media.ffmpeg(["-i", file, "-map", "0:\(stream)"] + (copy ? ["-c", "copy"] : []) + ["-f", "framemd5", "-"])
        return String(decoding: out, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    /// Runs segments 1…count of `clip` as separate processes, joins them, and
    /// checks the joined video against one whole run: every frame's pixels and
    /// timestamps (lossless FFV1 on both sides), and every audio packet.
    func assertJoinEqualsOneRun(_ clip: String, count: Int, checkpoint: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let single = try hone(["infer", "--checkpoint", checkpoint, "--video", clip, "--codec", "ffv1", "-o", path("single.mkv")])
        XCTAssertEqual(single.status, 0, single.stderr, file: file, line: line)
        // Started in reverse order, as workers of a cluster finish in any order.
        let parts = (1...count).reversed().map { path("part\($0).mkv") }
        for (i, part) in zip((1...count).reversed(), parts) {
            let r = try hone(["infer", "--checkpoint", checkpoint, "--video", clip, "--segment", "\(i)/\(count)", "--codec", "ffv1", "-o", part])
            XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
            XCTAssertEqual(try Media.probe(part, stream: "a", "stream=index"), [:], "a segment holds video only", file: file, line: line)
        }
        let joined = try hone(["join"] + parts + ["--codec", "ffv1", "-o", path("joined.mkv")])
        XCTAssertEqual(joined.status, 0, joined.stderr, file: file, line: line)
        let (a, b) = (try framemd5(path("single.mkv"), stream: "v"), try framemd5(path("joined.mkv"), stream: "v"))
        XCTAssertEqual(a.count, b.count, "frame count", file: file, line: line)
        XCTAssertEqual(a, b, "frames and timestamps", file: file, line: line)
        XCTAssertEqual(try framemd5(path("single.mkv"), stream: "a?", copy: true), try framemd5(path("joined.mkv"), stream: "a?", copy: true),
                       "audio packets", file: file, line: line)
    }

    func testThreeSegmentsJoinedEqualOneRun() throws {
        // Keyframes every 7 frames in open GOPs with B-frames: the cuts at 25 and 50 fall between keyframes,
        // and frames after a cut reference frames before it.
        let clip = path("gop.mp4")
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-f", "lavfi", "-i", "sine", "-t", "3",
                          "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "7", "-bf", "3", "-x264-params", "scenecut=0:open_gop=1",
                          "-c:a", "aac", "-shortest", clip])
        let index = try FrameIndex(clip)
        XCTAssertEqual(index.count, 75)
        let cuts = try (2...3).map { try VideoSegment(number: $0, of: 3, in: index).frames.lowerBound }
        XCTAssertEqual(cuts, [25, 50])
        XCTAssert(cuts.allSatisfy { !index.keyframes.contains($0) }, "cuts should fall between keyframes \(index.keyframes)")
        try assertJoinEqualsOneRun(clip, count: 3, checkpoint: Self.base)
    }

    func testVariableFrameRateSegments() throws {
        // Every third frame of 25 fps dropped: gaps alternate 40 ms and 80 ms.
        let clip = path("vfr.mkv")
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-f", "lavfi", "-i", "sine", "-t", "2",
                          "-vf", "select='not(eq(mod(n,3),1))'", "-fps_mode", "passthrough",
                          "-c:v", "libx264", "-g", "12", "-c:a", "aac", "-shortest", clip])
        XCTAssertEqual(Set(try Media.frameTimes(clip).adjacentGaps().map { ($0 * 1000).rounded() }), [40, 80])
        try assertJoinEqualsOneRun(clip, count: 3, checkpoint: "bicubic")
    }

    func testRotatedClipIsTurnedOnceByTheJoin() throws {
        // Tagged 90°: a .mkv output has no tag for it, so the whole run turns the pixels; segments keep them as
        // decoded (192×128) and the join turns them once.
        try Media.clip(path("flat.mp4"), seconds: 1, size: "96x64", rate: 25)
        try Media.ffmpeg(["-i", path("flat.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", path("phone.mp4")])
        try assertJoinEqualsOneRun(path("phone.mp4"), count: 2, checkpoint: "bicubic")
        XCTAssertEqual(try Media.probe(path("part1.mkv"), stream: "v:0", "stream=width,height"), ["width": "192", "height": "128"])
        XCTAssertEqual(try Media.probe(path("joined.mkv"), stream: "v:0", "stream=width,height"), ["width": "128", "height": "192"])
    }

    func testImageSequenceSegments() throws {
        try FileManager.default.createDirectory(atPath: path("frames"), withIntermediateDirectories: true)
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-frames:v", "20", path("frames/f%04d.png")])
        try assertJoinEqualsOneRun(path("frames/f%04d.png"), count: 2, checkpoint: "bicubic")
    }

    func testRealPhoneClipJoinedToH264EqualsTheWholeRun() throws {
        // The output people keep: H.264 with AAC, from a real phone clip (29.97 fps, 36 frames) and the shipped base.
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        let clip = shared.appendingPathComponent("clips/realshort.mp4").path
        let whole = try hone(["infer", "--checkpoint", Self.base, "--video", clip, "-o", path("whole.mp4")])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let parts = try (1...3).map { i in
            let r = try hone(["infer", "--checkpoint", Self.base, "--video", clip, "--segment", "\(i)/3", "--codec", "ffv1", "-o", path("p\(i).mkv")])
            XCTAssertEqual(r.status, 0, r.stderr)
            return path("p\(i).mkv")
        }
        let joined = try hone(["join"] + parts + ["-o", path("joined.mp4")])
        XCTAssertEqual(joined.status, 0, joined.stderr)
        XCTAssertEqual(try framemd5(path("whole.mp4"), stream: "v"), try framemd5(path("joined.mp4"), stream: "v"), "decoded frames and timestamps")
        XCTAssertEqual(try framemd5(path("whole.mp4"), stream: "a", copy: true), try framemd5(path("joined.mp4"), stream: "a", copy: true))
    }

    func testSegmentPlanCoversEveryFrameOnce() throws {
        let clip = try Media.clip(path("c.mp4"), seconds: 1, size: "64x48", rate: 25)
        let index = try FrameIndex(clip)
        for count in [1, 2, 7, 25] {
            let parts = try (1...count).map { try VideoSegment(number: $0, of: count, in: index) }
            XCTAssertEqual(parts.flatMap { Array($0.frames) }, Array(0..<25))
            XCTAssertEqual(parts.map(\.span.frames).reduce(0, +), 25)
            XCTAssertNil(parts[0].span.seek, "the first segment decodes from the start")
            for part in parts.dropFirst() { XCTAssertLessThanOrEqual(part.span.seek ?? .min, part.span.first) }
        }
        XCTAssertThrowsError(try VideoSegment(number: 1, of: 26, in: index)) { XCTAssert("\($0)".contains("too few for 26 segments"), "\($0)") }
        XCTAssertThrowsError(try VideoSegment(number: 4, of: 3, in: index))
    }

    func testBadSegmentsAreRefusedWithOneLine() throws {
        let clip = try Media.clip(path("c.mp4"), seconds: 1, size: "64x48", rate: 25)
        let other = try Media.clip(path("other.mp4"), seconds: 2, size: "64x48", rate: 25)
        var r = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--segment", "4/3"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssert(r.stderr.contains("'4/3' is invalid for '--segment"), r.stderr)
        r = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--segment", "-1/3"])
        XCTAssert(r.status == 64 && r.stderr.contains("--segment takes I/N, segment I of N with 1 ≤ I ≤ N (e.g. 2/8), got -1/3"), r.stderr)
        r = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--segment", "1/3", "-o", path("part.mp4")])
        CLITests.assertOneLineError(r, naming: "part.mp4", "a segment is written as .mkv")
        XCTAssertEqual(r.status, 64)
        r = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--segment", "1/30"])
        CLITests.assertOneLineError(r, naming: "c.mp4", "too few for 30 segments")
        for i in 1...3 { XCTAssertEqual(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--segment", "\(i)/3"]).status, 0) }
        let parts = (1...3).map { path("c.hone-x2.part\($0)of3.mkv") }
        XCTAssert(parts.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "default segment names")

        let out = path("joined.mp4")
        r = try hone(["join", parts[0], parts[2], "-o", out])
        CLITests.assertOneLineError(r, naming: "part1of3.mkv", "segment 2/3 missing")
        r = try hone(["join", parts[0], parts[1], parts[1], parts[2], "-o", out])
        CLITests.assertOneLineError(r, naming: "part2of3.mkv", "given twice")
        r = try hone(["join", clip, "-o", out])
        CLITests.assertOneLineError(r, naming: "c.mp4", "not a segment")
        // The same segment count of another source, or of another method, does not mix.
        XCTAssertEqual(try hone(["infer", "--checkpoint", "bicubic", "--video", other, "--segment", "2/3", "-o", path("other2.mkv")]).status, 0)
        r = try hone(["join", parts[0], path("other2.mkv"), parts[2], "-o", out])
        CLITests.assertOneLineError(r, naming: "other2.mkv", "belongs to another run")
        XCTAssertEqual(try hone(["infer", "--checkpoint", "lanczos", "--video", clip, "--segment", "2/3", "-o", path("lanczos2.mkv")]).status, 0)
        r = try hone(["join", parts[0], path("lanczos2.mkv"), parts[2], "-o", out])
        CLITests.assertOneLineError(r, naming: "lanczos2.mkv", "HONE_METHOD")
        r = try hone(["join"] + parts + ["--video", other, "-o", out])
        CLITests.assertOneLineError(r, naming: "other.mp4", "not the video the segments were cut from")
        CLITests.assertNoOutput(out)
        // Whole, they join; the output keeps the source's audio.
        r = try hone(["join"] + parts + ["-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Media.probe(out, stream: "v:0", "stream=nb_read_frames", countFrames: true)["nb_read_frames"], "25")
        XCTAssertEqual(try Media.probe(out, stream: "a:0", "stream=codec_name")["codec_name"], "aac")
    }
}
