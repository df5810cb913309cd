import Autograd
import Foundation
import TestSupport
import VideoIO
import XCTest

/// The kinds of real footage that break video tools, each made here with the
/// ffmpeg CLI at 160×120 and sent through the whole pipeline (×2 bicubic).
final class RealFootageTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("footage") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func upscale(_ input: String, _ output: String, settings: EncoderSettings = EncoderSettings(preset: "ultrafast"),
                 options: DecodingOptions = DecodingOptions()) throws -> PipelineReport {
        try Grad.disabled {
            try enhanceVideo(input: input, output: output, resize: .up(2), settings: settings, decoding: options,
                             enhance: { try resizeBicubic($0.image, .up(2)) }, progress: { _, _ in })
        }
    }

    func testStreamAndContainerDescriptionsSurvive() throws {
        try "1\n00:00:00,000 --> 00:00:01,500\nHallo\n".write(toFile: path("subs.srt"), atomically: true, encoding: .utf8)
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=frequency=440",
                          "-f", "lavfi", "-i", "sine=frequency=660", "-i", path("subs.srt"), "-t", "2",
                          "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-c:v", "libx264", "-c:a", "aac", "-c:s", "srt",
                          "-metadata", "title=Holiday", "-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=English",
                          "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français", "-metadata:s:s:0", "language=deu",
                          "-disposition:a:0", "default", "-disposition:a:1", "0", path("in.mkv")])
        for output in ["out.mkv", "out.mp4"] {
            try upscale(path("in.mkv"), path(output))
            func tags(_ stream: String) throws -> [String: String] {
                try Media.probe(path(output), stream: stream, "stream_tags=language,title,handler_name:stream_disposition=default")
            }
            let (a0, a1) = (try tags("a:0"), try tags("a:1"))
            let title = output.hasSuffix("mp4") ? "TAG:handler_name" : "TAG:title"  // MP4 names a track by its handler
            XCTAssertEqual([a0["TAG:language"], a0[title], a0["DISPOSITION:default"]], ["eng", "English", "1"], output)
            XCTAssertEqual([a1["TAG:language"], a1[title], a1["DISPOSITION:default"]], ["fra", "Français", "0"], output)
            let format = try Media.run("ffprobe", ["-v", "error", "-show_entries", "format_tags=title", "-of", "default=nw=1", path(output)])
            XCTAssertEqual(String(decoding: format, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "TAG:title=Holiday", output)
        }
        XCTAssertEqual(try Media.probe(path("out.mkv"), stream: "s:0", "stream_tags=language")["TAG:language"], "deu")
    }

    /// One line, no output: a video stream without packets, an MP4 cut before its frames; a file cut in the
    /// middle gives what can be read and says how much was lost.
    func testEmptyAndBrokenFiles() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2", "-c:v", "libx264", "-movflags", "+faststart", path("whole.mp4")])
        try Media.ffmpeg(["-i", path("whole.mp4"), "-f", "lavfi", "-i", "sine", "-t", "1", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                          "-bsf:v", "noise=dropamount=1", "-c:a", "aac", path("novideo.mkv")])
        let whole = try Data(contentsOf: URL(fileURLWithPath: path("whole.mp4")))
        try whole.prefix(1000).write(to: URL(fileURLWithPath: path("header-only.mp4")))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path("half.mp4")))
        for broken in ["novideo.mkv", "header-only.mp4"] {
            XCTAssertThrowsError(try upscale(path(broken), path("out.mp4"))) {
                XCTAssertEqual("\($0)", "\(self.path(broken)): has no video frames that can be decoded")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.mp4")))
        }
        let report = try upscale(path("half.mp4"), path("half-out.mp4"))
        let written = try Media.frameTimes(path("half-out.mp4")).count
        XCTAssert((1..<20).contains(written), "\(written) frames")
        XCTAssertEqual(report.warnings.first, "\(path("half.mp4")): the file is damaged or cut off (1 damaged packet skipped); "
                       + "\(20 - written) of about 20 frames could not be read", "\(report.warnings)")
        // Raw bytes of a codec tag never reach a message.
        XCTAssertFalse(report.warnings.joined().contains("\0"))
    }

    /// An MPEG-TS starts at 1.4 s or later: the output starts with its first frame, audio in step.
    func testOutputStartsWhereTheContentStarts() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", "sine", "-t", "3",
                          "-c:v", "libx264", "-c:a", "aac", "-f", "mpegts", path("late.ts")])
        let start = Double(try Media.probe(path("late.ts"), stream: "v:0", "stream=start_time")["start_time"]!)!
        XCTAssertGreaterThan(start, 1.3)
        try upscale(path("late.ts"), path("early.mp4"))
        // As ffmpeg's own remux: every stream moved by the same offset.
        try Media.ffmpeg(["-i", path("late.ts"), "-c", "copy", path("remux.mp4")])
        for stream in ["v:0", "a:0"] {
            let ours = Double(try Media.probe(path("early.mp4"), stream: stream, "stream=start_time")["start_time"]!)!
            let ffmpeg = Double(try Media.probe(path("remux.mp4"), stream: stream, "stream=start_time")["start_time"]!)!
            XCTAssertEqual(ours, ffmpeg, accuracy: 0.001, stream)
        }
        let duration = Double(try Media.run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path("early.mp4")])
            .split(separator: 10).first.map { String(decoding: $0, as: UTF8.self) } ?? "")!
        XCTAssertEqual(duration, 3.04, accuracy: 0.05)
    }

    /// A variable-rate clip's last frame keeps its own duration.
    func testLastFrameKeepsItsDuration() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10,setpts='if(lt(N,5),N*0.1,N*0.13+0.02)/TB'", "-t", "2",
                          "-vsync", "vfr", "-c:v", "libx264", path("vfr.mp4")])
        try upscale(path("vfr.mp4"), path("vfr-out.mp4"))
        func end(_ file: String) throws -> Double {
            let rows = String(decoding: try Media.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,duration_time",
                                                                   "-of", "csv=p=0", file]), as: UTF8.self)
            return rows.split(separator: "\n").map { $0.split(separator: ",").compactMap { Double($0) } }.map { $0[0] + $0[1] }.max()!
        }
        XCTAssertEqual(try end(path("vfr-out.mp4")), try end(path("vfr.mp4")), accuracy: 0.001)
    }

    /// A phone clip tagged to be shown turned: the same upright picture in every container.
    func testRotationShowsTheSameInEveryContainer() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1", "-c:v", "libx264", path("flat.mp4")])
        try Media.ffmpeg(["-i", path("flat.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", path("phone.mp4")])
        // What a player shows: ffmpeg's own autorotation, as gray 120×160.
        let upright = try Media.ffmpeg(["-i", path("phone.mp4"), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        XCTAssertEqual(upright.count, 120 * 160)
        for (name, tagged) in [("out.mp4", true), ("out.mkv", false)] {
            let report = try upscale(path("phone.mp4"), path(name))
            XCTAssertEqual(try VideoReader(path(name)).info.rotation, tagged ? 90 : 0, name)
            XCTAssertEqual(report.warnings.contains { $0.contains("rotation 90° turned into the pixels") }, !tagged, name)
            let shown = try Media.ffmpeg(["-i", path(name), "-frames:v", "1", "-vf", "scale=iw/2:ih/2:flags=area", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
            XCTAssertEqual(shown.count, upright.count, name)
            let error = zip(shown, upright).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(upright.count)
            XCTAssertLessThan(error, 6, "\(name) is not shown as the input is")
        }
    }

    /// Combing: the mean of |row − mean of its neighbours| in gray, the output brought back to 160×120 by
    /// taking every other row and column; high where two instants' fields interleave.
    func combing(_ file: String) throws -> Double {
        let gray = [UInt8](try Media.ffmpeg(["-i", file, "-vf", "scale=160:120:flags=neighbor", "-f", "rawvideo", "-pix_fmt", "gray", "-"]))
        var total = 0.0, count = 0
        for f in 0..<(gray.count / (160 * 120)) { for y in 1..<119 { for x in 0..<160 {
            let at = { (row: Int) in Double(gray[(f * 120 + row) * 160 + x]) }
            total += abs(at(y) - (at(y - 1) + at(y + 1)) / 2)
            count += 1
        }}}
        return total / Double(count)
    }

    /// A top-field-first capture: found from the stream, deinterlaced before the model, tagged progressive.
    func testInterlacedInputIsDeinterlaced() throws {
        // A picture scrolling 3 rows a field, as from a camera panning: each frame's fields come from two instants.
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x480:rate=50", "-vf", "crop=160:120:0:'mod(n*3,360)',tinterlace=interleave_top,fieldorder=tff",
                          "-t", "2", "-c:v", "libx264", "-flags", "+ildct+ilme", "-x264opts", "tff=1", path("tff.mp4")])
        XCTAssertEqual(try VideoReader(path("tff.mp4")).info.fieldOrder, .topFieldFirst)
        let report = try upscale(path("tff.mp4"), path("auto.mp4"))
        XCTAssertEqual(report.warnings.first, "\(path("tff.mp4")): deinterlaced (interlaced, top field first) with libavfilter's bwdif")
        try upscale(path("tff.mp4"), path("off.mp4"), options: DecodingOptions(deinterlace: .off))
        XCTAssertEqual(try Media.probe(path("auto.mp4"), stream: "v:0", "stream=field_order")["field_order"], "progressive")
        XCTAssertEqual(try Media.frameTimes(path("auto.mp4")), try Media.frameTimes(path("tff.mp4")))
        let (combed, deinterlaced) = (try combing(path("off.mp4")), try combing(path("auto.mp4")))
        XCTAssertLessThan(deinterlaced, combed * 0.6, "combing \(deinterlaced) deinterlaced, \(combed) as it came")
    }

    /// PSNR (dB) between two videos decoded by ffmpeg to 16-bit RGB, `reference` first scaled to `file`'s size.
    func psnr(_ file: String, against reference: String, width: Int, height: Int) throws -> Double {
        let a = try Media.ffmpeg(["-i", file, "-f", "rawvideo", "-pix_fmt", "rgb48le", "-"])
        let b = try Media.ffmpeg(["-i", reference, "-vf", "scale=\(width):\(height):flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb48le", "-"])
        XCTAssertEqual(a.count, b.count)
        let (x, y) = (a.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }, b.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) })
        let mse = zip(x, y).map { let d = (Double($0) - Double($1)) / 65535; return d * d }.reduce(0, +) / Double(x.count)
        return 10 * log10(1 / mse)
    }

    /// An HDR10 clip (HEVC 10-bit, BT.2020, PQ, mastering display and content light levels): kept HDR, or tone-mapped on request.
    func testHDRKeepsBitsTagsAndMetadata() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1", "-pix_fmt", "yuv420p10le", "-c:v", "libx265",
                          "-x265-params", "log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400",
                          "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", path("hdr.mkv")])
        let info = try VideoReader(path("hdr.mkv")).info
        XCTAssertEqual(info.colorSpace, ColorSpace(matrix: .bt2020, fullRange: false))
        XCTAssert(info.color.isHDR)
        for output in ["hdr-out.mkv", "hdr-out.mp4"] {
            try upscale(path("hdr.mkv"), path(output))
            let v = try Media.probe(path(output), stream: "v:0", "stream=codec_name,profile,pix_fmt,color_range,color_space,color_transfer,color_primaries")
            XCTAssertEqual(v, ["codec_name": "hevc", "profile": "Main 10", "pix_fmt": "yuv420p10le", "color_range": "tv", "color_space": "bt2020nc",
                               "color_transfer": "smpte2084", "color_primaries": "bt2020"], output)
            let frame = String(decoding: try Media.run("ffprobe", ["-v", "error", "-read_intervals", "%+#1", "-show_frames", "-show_entries",
                                                                     "frame=side_data_list", "-of", "default=nw=1", path(output)]), as: UTF8.self)
            for value in ["max_luminance=10000000/10000", "min_luminance=1/10000", "red_x=34000/50000", "max_content=1000", "max_average=400"] {
                XCTAssert(frame.contains(value), "\(output) lacks \(value): \(frame)")
            }
            // The model saw the source's PQ-coded BT.2020 values and they went back unchanged but for the upscale.
            XCTAssertGreaterThan(try psnr(path(output), against: path("hdr.mkv"), width: 320, height: 240), 33, output)
        }
        XCTAssertEqual(try Media.probe(path("hdr-out.mp4"), stream: "v:0", "stream=codec_tag_string")["codec_tag_string"], "hvc1")

        let mapped = try upscale(path("hdr.mkv"), path("sdr.mp4"), options: DecodingOptions(toneMap: true))
        XCTAssert(mapped.warnings.contains { $0.contains("tone-mapped from HDR") }, "\(mapped.warnings)")
        let sdr = try Media.probe(path("sdr.mp4"), stream: "v:0", "stream=codec_name,pix_fmt,color_transfer")
        XCTAssertEqual([sdr["codec_name"], sdr["pix_fmt"]], ["h264", "yuv420p"])
        XCTAssertNotEqual(sdr["color_transfer"], "smpte2084")

        let forced = try upscale(path("hdr.mkv"), path("h264.mp4"), settings: EncoderSettings(codec: .h264, preset: "ultrafast"))
        XCTAssert(forced.warnings.contains { $0.hasPrefix("8-bit H.264 for a HDR source keeps its colour tags but not its 10 bits") }, "\(forced.warnings)")
        XCTAssertEqual(try Media.probe(path("h264.mp4"), stream: "v:0", "stream=color_transfer")["color_transfer"], "smpte2084")
    }

    /// A QuickTime Animation clip, transparent on its right half: alpha kept in FFV1, a note elsewhere.
    func testAlphaIsKeptWhereTheCodecHoldsIt() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1",
                          "-vf", "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,80),255,0)'", "-c:v", "qtrle", "-pix_fmt", "argb", path("alpha.mov")])
        XCTAssert(try VideoReader(path("alpha.mov")).info.hasAlpha)
        try upscale(path("alpha.mov"), path("alpha.mkv"), settings: EncoderSettings(codec: .ffv1))
        XCTAssertEqual(try Media.probe(path("alpha.mkv"), stream: "v:0", "stream=pix_fmt")["pix_fmt"], "gbrap16le")
        let alpha = [UInt8](try Media.ffmpeg(["-i", path("alpha.mkv"), "-frames:v", "1", "-vf", "alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", "-"]))
        XCTAssertEqual(alpha.count, 320 * 240)
        let left = (0..<240).flatMap { y in (0..<150).map { Double(alpha[y * 320 + $0]) } }
        let right = (0..<240).flatMap { y in (170..<320).map { Double(alpha[y * 320 + $0]) } }
        XCTAssertEqual(left.reduce(0, +) / Double(left.count), 255, accuracy: 0.5)
        XCTAssertEqual(right.reduce(0, +) / Double(right.count), 0, accuracy: 0.5)
        let dropped = try upscale(path("alpha.mov"), path("alpha.mp4"))
        XCTAssert(dropped.warnings.contains("transparency dropped: h264 has no alpha channel; --codec ffv1 with a .mkv output, or .png pictures, keep it"),
                  "\(dropped.warnings)")
    }

    /// Frame-by-frame workflows: pictures in and out, one picture, an animated GIF.
    func testImageSequencesPicturesAndGIF() throws {
        let frames = dir.appendingPathComponent("frames").path, out = dir.appendingPathComponent("out").path
        for folder in [frames, out] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-frames:v", "10", frames + "/%04d.png"])
        try Grad.disabled {
            _ = try enhanceVideo(input: frames + "/%04d.png", output: path("seq.mp4"), resize: .up(2), settings: EncoderSettings(preset: "ultrafast"),
                                 decoding: DecodingOptions(frameRate: 10), enhance: { try resizeBicubic($0.image, .up(2)) }, progress: { _, _ in })
        }
        XCTAssertEqual(try Media.frameTimes(path("seq.mp4")).map { ($0 * 10).rounded() }, (0..<10).map(Double.init))
        XCTAssertThrowsError(try upscale(frames + "/x%03d.png", path("none.mp4"))) {
            XCTAssertEqual("\($0)", "\(frames)/x%03d.png: no picture matches this pattern")
        }

        let sequence = try upscale(path("seq.mp4"), out + "/%04d.png")
        XCTAssertEqual(sequence.frames, 10)
        let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(written, (1...10).map { String(format: "%04d.png", $0) }, "nothing else, no temporary folder left")
        XCTAssertEqual(try Media.probe(out + "/0007.png", stream: "v:0", "stream=width,height,pix_fmt"), ["width": "640", "height": "480", "pix_fmt": "rgb48be"])

        try upscale(frames + "/0003.png", path("one.png"))
        XCTAssertEqual(try Media.probe(path("one.png"), stream: "v:0", "stream=width,height"), ["width": "320", "height": "240"])
        XCTAssertThrowsError(try upscale(path("seq.mp4"), path("many.png"))) { XCTAssert("\($0)".contains("one picture holds one frame"), "\($0)") }

        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "1", "-c:v", "libx264", "-c:a", "aac",
                          "-shortest", path("clip.mp4")])
        let gif = try upscale(path("clip.mp4"), path("clip.gif"))
        XCTAssert(gif.warnings.contains("audio (aac) dropped: .gif holds pictures only"), "\(gif.warnings)")
        let g = try Media.probe(path("clip.gif"), stream: "v:0", "stream=codec_name,width,height,pix_fmt,nb_read_frames", countFrames: true)
        XCTAssertEqual(g, ["codec_name": "gif", "width": "320", "height": "240", "pix_fmt": "bgra", "nb_read_frames": "10"])
        // One palette for the clip, dithered well: within a few levels of the 16-bit frames.
        XCTAssertGreaterThan(try psnr(path("clip.gif"), against: path("clip.mp4"), width: 320, height: 240), 25)
    }

    /// A PAL clip's primaries and transfer are the pixels' own: the output keeps them, whatever matrix it is written with.
    func testColourTagsAreNeverSilentlyChanged() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=10", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                          "-color_primaries", "bt470bg", "-color_trc", "gamma28", "-colorspace", "bt470bg", path("pal.mp4")])
        try upscale(path("pal.mp4"), path("pal-out.mp4"))  // 1280×720: written with the BT.709 matrix
        // FFmpeg names gamma 2.8 "bt470bg" too.
        XCTAssertEqual(try Media.probe(path("pal-out.mp4"), stream: "v:0", "stream=color_primaries,color_transfer,color_space"),
                       ["color_primaries": "bt470bg", "color_transfer": "bt470bg", "color_space": "bt709"])
    }
}
