import Foundation
import Training
import XCTest

/// A test case with a fresh temporary folder for each test (removed after it) and the shipped configs at hand.
open class ScratchFolderTestCase: XCTestCase {
    public var dir: URL!
    open override func setUpWithError() throws { dir = try Media.temporaryFolder("sr") }
    open override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    /// A file in the test's folder.
    public func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    public static let root = Media.projectRoot
    /// A shipped config, `configs/<name>.yaml`.
    public func config(_ name: String) throws -> HoneConfig { try HoneConfig.load(Self.root.appendingPathComponent("configs/\(name).yaml").path) }
}
