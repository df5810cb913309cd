import Foundation
import TestSupport
import XCTest

/// The page in headless Chromium, driven by Tests/Browser/page_test.py as a
/// person would use it: upload, progress to done, the slider, the download,
/// and the live mode fed by Chromium's fake camera.
final class BrowserTests: XCTestCase {
    /// Debian's Python, which has python3-selenium (a pyenv `python3` may not).
    static let python = "/usr/bin/python3"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Browser/page_test.py").standardized.path

    func testThePageInChromium() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
              (try? Media.run(Self.python, ["-c", "import selenium"])) != nil else {
            throw XCTSkip("needs Debian's chromium, chromium-driver and python3-selenium (make test installs them)")
        }
        let dir = try Media.temporaryFolder("browser")
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        try Media.clip(path("clip.mp4"), size: "128x96", rate: 10)
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "4", "-pix_fmt", "yuv420p", path("camera.y4m")])

        let server = try ServeTests.Served(data: path("data"))
        defer { server.stop() }
        // HONE_SCREENSHOTS keeps the screenshots (e.g. for notebooks-notes/); otherwise they go with the temporary folder.
        let shots = ProcessInfo.processInfo.environment["HONE_SCREENSHOTS"] ?? path("shots")
        let out = try Media.run(Self.python, [Self.script, server.base.absoluteString, path("clip.mp4"), path("camera.y4m"), shots])
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: out) as? [String: Any])
        print("page in Chromium: \(result)")
        XCTAssertGreaterThan(result["downloaded"] as? Int ?? 0, 10_000, "\(result)")
        // The target: at least 25 frames a second come back at 160×90 from the fast model.
        XCTAssertGreaterThanOrEqual(result["live_fast_160x90_fps"] as? Double ?? 0, 25, "\(result)")
        // The ×2 base (the page's default: ~44 fps model-only on an idle 2-core Xeon, 25–30 beside Chromium)
        // keeps coming back; its rates are in notebooks-notes/performance.md.
        XCTAssertGreaterThanOrEqual(result["live_fps"] as? Double ?? 0, 15, "\(result)")
    }
}
