import Foundation
import Jobs
import Networks
import TestSupport
import VideoIO
import XCTest

/// Saved `infer` presets: a round trip through the file, the command line over
/// a preset, and one line naming the file for a bad one.
final class PresetTests: XCTestCase {
    func testPresetsRoundTripAndTheCommandLineWins() throws {
        let dir = try Media.temporaryFolder("presets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sub/presets.yaml").path
        var file = try PresetFile(path)
        XCTAssertEqual(file.presets, [:], "a file not written yet holds no presets")
        let phone = InferPreset(model: "realesrgan-animevideov3-x2", scale: 2, light: "0.5", selfEnsemble: true, codec: .av1, crf: 40, speed: "slow")
        try file.save(phone, as: "phone")
        try file.save(InferPreset(codec: .prores), as: "edit_1")
        let reread = try PresetFile(path)
        XCTAssertEqual(reread.presets, ["phone": phone, "edit_1": InferPreset(codec: .prores)])
        XCTAssertEqual(try reread.preset("phone").summary,
                       "model realesrgan-animevideov3-x2, scale 2, light 0.5, self-ensemble, codec av1, crf 40, speed slow")
        // Given options win; those not given keep the preset's.
        XCTAssertEqual(phone.overridden(by: InferPreset(model: "bicubic", crf: 30)),
                       InferPreset(model: "bicubic", scale: 2, light: "0.5", selfEnsemble: true, codec: .av1, crf: 30, speed: "slow"))
        // AV1's CRF 40 means nothing for H.264 or ProRes: another codec given alone drops it.
        XCTAssertNil(phone.overridden(by: InferPreset(codec: .prores)).crf)
        XCTAssertEqual(phone.overridden(by: InferPreset(codec: .av1)).crf, 40)
        for bad in ["null", "Yes", "off", "010", "-x", ""] { XCTAssertFalse(PresetFile.isName(bad), bad) }
        XCTAssert(PresetFile.isName("phone-2_b"))
        XCTAssertThrowsError(try PresetFile(dir.appendingPathComponent("missing.yaml").path, mustExist: true)) { XCTAssert("\($0)".hasSuffix("no such presets file"), "\($0)") }
        XCTAssertThrowsError(try PresetFile(dir.path)) { XCTAssert("\($0)".hasSuffix("is a folder, not a presets file"), "\($0)") }
        var again = reread
        try again.delete("phone")
        XCTAssertEqual(try PresetFile(path).presets.keys.sorted(), ["edit_1"])
        XCTAssertThrowsError(try again.preset("phone")) { XCTAssert("\($0)".contains("no preset phone in \(path); it holds edit_1"), "\($0)") }
        XCTAssertThrowsError(try again.save(InferPreset(), as: "a b")) { XCTAssert("\($0)".contains("not a preset name"), "\($0)") }
        XCTAssertThrowsError(try again.save(InferPreset(codec: .prores, crf: 20), as: "x")) { XCTAssert("\($0)".contains("crf is 20"), "\($0)") }
        XCTAssertEqual((try? String(contentsOfFile: path, encoding: .utf8))?.contains("x:"), false, "a refused preset is not written")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sub").path), ["presets.yaml"], "no temporary file left")
    }

    func testBadPresetFilesGetOneLineNamingThePresetAndKey() {
        let cases: [(String, String)] = [
            ("phone:\n  crf: 60\n", "input: preset phone: crf is 60; allowed: 0 to 51"),
            ("phone:\n  codec: av1\n  crf: 60\n", ""),
            ("phone:\n  codec: vp9\n", "input: phone.codec is vp9; allowed: h264, hevc, ffv1, av1, prores"),
            ("phone:\n  colour: red\n", "input: preset phone: unknown setting colour"),
            ("phone:\n  speed: quick\n", "input: preset phone: speed is quick; allowed: ultrafast"),
            ("phone:\n  light: 2\n", "input: preset phone: light is 2; allowed: auto, or a strength from 0 to 1"),
            ("phone:\n  scale: 8\n", "input: preset phone: scale is 8"),
            ("my phone:\n  scale: 2\n", "input: 'my phone' is not a preset name"),
            ("yes:\n  scale: 2\n", "is not a preset name"),
            ("phone: 2\n", "input: preset phone: expected its settings"),
            ("- phone\n", "input: not a presets file"),
            ("phone:\n  crf: 1:30\n", "holds a colon"),
            (String(repeating: "[", count: 40), "nests deeper than 32 levels"),
        ]
        for (text, message) in cases {
            if message.isEmpty { XCTAssertNoThrow(try PresetFile.parse(text, path: "input")); continue }
            XCTAssertThrowsError(try PresetFile.parse(text, path: "input"), text) { XCTAssert("\($0)".hasPrefix(message) || "\($0)".contains(message), "\(text): \($0)") }
        }
        XCTAssertEqual(try PresetFile.parse("# nothing yet\n", path: "input"), [:])
    }
}
