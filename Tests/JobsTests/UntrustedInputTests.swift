import Foundation
import Jobs
import Networks
import Quality
import TestSupport
import Training
import XCTest

/// The fuzzers' seeds and every input that ever crashed a parser, replayed:
/// each is accepted or refused, never a trap.
final class UntrustedInputTests: XCTestCase {
    func inputs(_ folder: String, _ target: UntrustedInput) -> [URL] {
        let dir = Media.projectRoot.appendingPathComponent("fuzz/\(folder)/\(target.rawValue)")
        return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
    }

    func testSeedsAndCrashInputsParseWithoutTrapping() throws {
        var replayed = 0
        for target in UntrustedInput.allCases {
            for file in inputs("corpus", target) + inputs("crashes", target) {
                target.parse(try Data(contentsOf: file))
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, 8)
    }

    func testSeedsAreAcceptedAndTheirDamagedCopiesRefused() throws {
        for target in UntrustedInput.allCases {
            for seed in inputs("corpus", target) where !seed.lastPathComponent.hasPrefix("truncated") {
                let data = try Data(contentsOf: seed)
                XCTAssert(target.parse(data), "\(seed.lastPathComponent) should be accepted")
                // Every prefix of a checkpoint is refused; configs and grids cut mid-way mostly are.
                if target == .checkpoint {
                    for cut in stride(from: 0, to: data.count, by: max(1, data.count / 64)) { XCTAssertFalse(target.parse(data.prefix(cut))) }
                }
            }
        }
        // Shapes and offsets that would overflow or allocate without bound are refused before any allocation.
        func checkpoint(header: String, data: Int = 8) -> Data {
            var json = Data(header.utf8)
            json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
            var file = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) }
            file.append(json)
            file.append(Data(count: data))
            return file
        }
        for header in [#"{"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}}"#,
                       #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#,
                       #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775807]}}"#,
                       #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#] {
            XCTAssertThrowsError(try Checkpoint.parse(checkpoint(header: header), path: "x")) { XCTAssert("\($0)".hasPrefix("x: tensor w"), "\($0)") }
        }
        var header = withUnsafeBytes(of: UInt64.max.littleEndian) { Data($0) }
        header.append(Data("{}".utf8))
        XCTAssertThrowsError(try Checkpoint.parse(header, path: "x"))
    }
}
