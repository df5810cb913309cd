import Autograd
import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import VideoIO
import XCTest

/// Configs that say what is wrong with them, and training runs driven from the library.
final class TrainingRunTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("run") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static let tiny = """
        model: {channels: 8, blocks: 1, activation: prelu, unet: false}
        degradation: {blur: 0.5, noise: 2.0, jpeg_quality: 60}
        loss: {pixel: 1.0, pixel_kind: l1, perceptual: {}, gram: 0.0}
        training: {patch: 16, batch: 4, learning_rate: 0.003, weight_decay: 0.0001, pct_start: 0.25,
                   patches_per_frame: 1, validation_every: 4, seed: 7}
        """

    /// `tiny` with one line's text replaced.
    func yaml(_ old: String, _ new: String) -> String {
        precondition(Self.tiny.contains(old))
        return Self.tiny.replacingOccurrences(of: old, with: new)
    }

    func assertRejected(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try HoneConfig.parse(yaml, path: "bad.yaml"), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssert(message.hasPrefix("bad.yaml: ") && message.contains(expected), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
        }
    }

    func testConfigsNameTheFileTheKeyTheValueAndWhatIsAllowed() throws {
        XCTAssertNoThrow(try HoneConfig.parse(Self.tiny, path: "tiny.yaml"))
        for name in ["default", "fast", "quality", "pretrain"] {
            let file = Media.projectRoot.appendingPathComponent("configs/\(name).yaml").path
            XCTAssertNoThrow(try HoneConfig.load(file), name)
        }
        assertRejected(yaml("learning_rate: 0.003", "learning_rate: -0.001"), "training.learning_rate is -0.001; allowed: more than 0")
        assertRejected(yaml("channels: 8", "channels: 0"), "model.channels is 0; allowed: 1 to 256")
        assertRejected(yaml("pct_start: 0.25", "pct_start: 1.5"), "training.pct_start is 1.5; allowed: 0 to 1")
        assertRejected(yaml("noise: 2.0", "noise: -5"), "degradation.noise is -5.0; allowed: 0 to 255")
        assertRejected(yaml("batch: 4", "batch: 0"), "training.batch is 0; allowed: 1 to 4096")
        assertRejected(yaml("patch: 16", "patch: 7"), "training.patch is 7; allowed: 8 to 1024")
        assertRejected(yaml("jpeg_quality: 60", "jpeg_qualty: 60"), "unknown key degradation.jpeg_qualty; did you mean jpeg_quality?")
        assertRejected(yaml("perceptual: {}", "perceptual: {relu3_4: 1}"), "unknown key loss.perceptual.relu3_4; did you mean relu3_3?")
        assertRejected(yaml("activation: prelu", "activation: gelu"), "model.activation is gelu; allowed: relu, prelu")
        assertRejected(yaml("pixel_kind: l1", "pixel_kind: l3"), "loss.pixel_kind is l3; allowed: l1, mse, charbonnier")
        assertRejected(yaml("blocks: 1, ", ""), "model.blocks is missing")
        assertRejected(yaml("batch: 4", "batch: four"), "training.batch must be a whole number")
        assertRejected(yaml("pixel: 1.0", "pixel: 0"), "loss.pixel is 0.0; allowed: more than 0 when no perceptual weight is")
        assertRejected(yaml("batch: 4", "batch: 1:1:1:1:1:1:1:1:1:1:1:1"), "line 4: 1:1:1:1:1:1:1:1:1:1:1:1 holds a colon")  // Yams's base 60 traps
        assertRejected("just words", "not a config")
        assertRejected(String(repeating: "{", count: 10_000), "nests deeper than 32 levels")  // Yams's recursion overflows the stack
        assertRejected(String(repeating: "#", count: 100_000), "is 100000 bytes")
        for deep in ["? ", "- "] {  // block nesting 8,000 deep: parsed or refused, never a stack overflow
            XCTAssertThrowsError(try HoneConfig.parse(String(repeating: deep, count: 8000), path: "deep.yaml"))
            _ = try? SweepJob.Grid.parse(String(repeating: deep, count: 8000), path: "deep.yaml")
        }
        assertRejected("model: [", "not valid YAML")
        XCTAssertThrowsError(try HoneConfig.load(path("none.yaml"))) { XCTAssertEqual("\($0)", "\(self.path("none.yaml")): no such config file") }
    }

    func trainer(_ config: HoneConfig, epochs: Int = 3) throws -> Trainer {
        try Trainer(model: try makeNetwork(config.model, scale: 2, seed: 3), config: config, frames: try .moving(), epochs: epochs, stepsPerEpoch: 4)
    }

    func testJPEGDegradationGivesFiniteRepeatableLosses() throws {
        let config = try HoneConfig.parse(Self.tiny, path: "tiny.yaml")
        let (a, b) = (try trainer(config), try trainer(config))
        let losses = try (0..<6).map { _ in try a.trainStep().loss }
        XCTAssert(losses.allSatisfy { $0.isFinite && $0 < 1 }, "\(losses)")
        XCTAssertEqual(try (0..<6).map { _ in try b.trainStep().loss }, losses)
    }

    func run(_ config: HoneConfig, output: String, resume: Bool = false, epochs: Int = 3) throws -> TrainingRun {
        try TrainingRun(output: output, resume: resume) { RunRecord(config: config, scale: 2, base: .random, epochs: epochs) }
    }

    func testCancelledThenResumedEqualsUninterruptedBitForBit() throws {
        let config = try HoneConfig.parse(Self.tiny, path: "tiny.yaml")
        var whole = try run(config, output: path("whole.ckpt"))
        try whole.train(try trainer(config), trained: "t", observer: RecordingObserver())

        // Stopped twice (after 5 steps, then 3 more), resumed each time from the file alone.
        var stops: [String] = []
        for cancelAfter in [5, 3, nil] {
            let observer = RecordingObserver(cancelAfter: cancelAfter)
            var part = try run(config, output: path("parts.ckpt"), resume: !stops.isEmpty)
            do {
                try part.train(try trainer(config), trained: "t", observer: observer)
            } catch is JobCancelled {
                stops += observer.reports.filter { $0.hasPrefix("interrupted") }
            }
        }
        XCTAssertEqual(stops, ["interrupted at step 5; saved \(path("parts.ckpt"))", "interrupted at step 8; saved \(path("parts.ckpt"))"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("parts.ckpt"))), try Data(contentsOf: URL(fileURLWithPath: path("whole.ckpt"))))

        XCTAssertThrowsError(try run(config, output: path("whole.ckpt"), resume: true)) {
            XCTAssert("\($0)".contains("this run has finished (3 of 3 epochs): there is nothing to resume"), "\($0)")
        }
    }

    func testARunThatNeverBeatsItsStartSavesTheStart() throws {
        var config = try HoneConfig.parse(Self.tiny, path: "tiny.yaml")
        config.training.learningRate = 1  // far too high: every epoch validates below the untrained (bicubic) model
        let observer = RecordingObserver()
        var run = try run(config, output: path("worse.ckpt"))
        let trainer = try trainer(config)
        let start = trainer.model.namedTensors().map(\.tensor.array)
        try run.train(trainer, trained: "t", observer: observer)
        XCTAssertEqual(observer.warnings.last, "no epoch validated above the start (\(run.record.validation["base"]!)): \(path("worse.ckpt")) holds the starting weights")
        let (saved, _) = try loadNetwork(checkpoint: path("worse.ckpt"))
        XCTAssertEqual(saved.namedTensors().map(\.tensor.array), start)
        XCTAssertNotEqual(trainer.model.namedTensors().map(\.tensor.array), start)
    }

    func testTimedSavesHappenBetweenEpochs() throws {
        let config = try HoneConfig.parse(Self.tiny, path: "tiny.yaml")
        var run = try run(config, output: path("timed.ckpt"))
        run.saveEvery = 0  // after every step
        let observer = RecordingObserver(cancelAfter: 3)  // cancelled before the first epoch ends
        var savedStep: String?
        observer.onProgress = { n in  // after step n, before its own save
            if n == 3 { savedStep = try Checkpoint.load(self.path("timed.ckpt")).metadata["hone.step"] }
        }
        XCTAssertThrowsError(try run.train(try trainer(config), trained: "t", observer: observer)) { XCTAssert($0 is JobCancelled) }
        XCTAssertEqual(savedStep, "2")
    }

    func testOutputsThatAreInputsOrTakenAreRefused() throws {
        try Data("clip".utf8).write(to: URL(fileURLWithPath: path("clip.mp4")))
        try FileManager.default.createSymbolicLink(atPath: path("link.mp4"), withDestinationPath: path("clip.mp4"))
        XCTAssertThrowsError(try OutputLock(path("link.mp4"), inputs: [path("clip.mp4")])) {
            XCTAssert("\($0)".contains("link.mp4: is also an input"), "\($0)")
        }
        XCTAssertThrowsError(try OutputLock(path("no/such/out.ckpt"), inputs: [])) {
            XCTAssert("\($0)".contains("out.ckpt: cannot write: no such folder"), "\($0)")
        }
        var held: OutputLock? = try OutputLock(path("out.ckpt"), inputs: [path("clip.mp4")])
        XCTAssertNotNil(held)
        // flock is per open file: a second claim in this process conflicts as another process's would.
        XCTAssertThrowsError(try OutputLock(path("out.ckpt"), inputs: [])) {
            XCTAssert("\($0)".contains("another Hone run is writing this file"), "\($0)")
        }
        held = nil
        XCTAssertNoThrow(try OutputLock(path("out.ckpt"), inputs: []))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["clip.mp4", "link.mp4"], "no lock file left")
    }
}
