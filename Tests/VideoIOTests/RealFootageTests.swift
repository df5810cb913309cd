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
            try enhanceVideo(input: input, output: output, scale: 2, settings: settings, decoding: options,
                             enhance: { try resizeBicubic($0, .up(2)) }, progress: { _, _ in })
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
}
