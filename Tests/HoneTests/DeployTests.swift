import Foundation
import TestSupport
import XCTest
import Yams

/// deploy/: the Slurm job array on a real single-node Slurm, and the
/// Kubernetes Indexed Job's pod commands run as the pods would run them.
final class DeployTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Media.temporaryFolder("deploy") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy").standardized

    func testSlurmArrayOfThreeSegmentsThenJoin() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.deploy.appendingPathComponent("slurm/test-slurm.sh").path, CLITests.hone, dir.path]
        let out = Pipe()
        (p.standardOutput, p.standardError) = (out, out)
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 77 { throw XCTSkip(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssert(text.contains("passed: 3 segments as a Slurm job array"), text)
    }

    /// A manifest's only container: its environment and its shell command.
    func container(_ manifest: String) throws -> (job: [String: Any], env: [String: String], command: String) {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("kubernetes/\(manifest)"), encoding: .utf8)
        let job = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        let spec = try XCTUnwrap(job["spec"] as? [String: Any])
        let pod = try XCTUnwrap((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try XCTUnwrap((pod["containers"] as? [[String: Any]])?.first)
        let env = try XCTUnwrap(container["env"] as? [[String: String]])
        XCTAssertEqual(container["command"] as? [String], ["/bin/sh", "-c"])
        let command = try XCTUnwrap((container["args"] as? [String])?.first)
        return (job, Dictionary(uniqueKeysWithValues: env.map { ($0["name"]!, $0["value"]!) }), command)
    }

    /// Each pod of the Indexed Job, then the join pod, run here as separate
    /// processes with the manifests' own commands and environment (the volume a folder).
    func testKubernetesIndexedJobPodsThenJoin() throws {
        let (segments, env, command) = try container("hone-segments.yaml")
        let spec = try XCTUnwrap(segments["spec"] as? [String: Any])
        XCTAssertEqual(segments["kind"] as? String, "Job")
        XCTAssertEqual(spec["completionMode"] as? String, "Indexed")
        let count = try XCTUnwrap(spec["completions"] as? Int)
        XCTAssertEqual(env["HONE_SEGMENTS"], "\(count)", "completions and HONE_SEGMENTS must agree")
        let (_, joinEnv, joinCommand) = try container("hone-join.yaml")
        XCTAssertEqual(joinEnv["HONE_SEGMENTS"], "\(count)")

        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Media.clip(data.appendingPathComponent(try XCTUnwrap(env["VIDEO"])).path, seconds: 2, size: "96x64", rate: 25)
        try FileManager.default.copyItem(atPath: SegmentTests.base, toPath: data.appendingPathComponent(try XCTUnwrap(env["CHECKPOINT"])).path)
        let path = URL(fileURLWithPath: CLITests.hone).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        func pod(_ command: String, _ env: [String: String]) throws -> (status: Int32, output: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            p.environment = env.merging(["DATA": data.path, "PATH": path]) { $1 }
            let out = Pipe()
            (p.standardOutput, p.standardError) = (out, out)
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        for index in (0..<count).reversed() {
            let r = try pod(command, env.merging(["JOB_COMPLETION_INDEX": "\(index)"]) { $1 })
            XCTAssertEqual(r.status, 0, r.output)
        }
        let r = try pod(joinCommand, joinEnv)
        XCTAssertEqual(r.status, 0, r.output)
        let output = data.appendingPathComponent(try XCTUnwrap(joinEnv["OUTPUT"])).path
        XCTAssertEqual(try Media.probe(output, stream: "v:0", "stream=nb_read_frames", countFrames: true)["nb_read_frames"], "50")
        XCTAssertEqual(try Media.probe(output, stream: "a:0", "stream=codec_name")["codec_name"], "aac")
    }
}
