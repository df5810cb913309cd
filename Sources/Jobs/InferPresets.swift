import Foundation
import Networks
import Training
import VideoIO
import Yams

/// `hone infer` settings saved under a name (`hone presets save`), so an
/// everyday job is one short command: `hone infer --preset-name phone --video clip.mp4`.
/// Every field is optional: what a preset leaves out keeps `infer`'s default,
/// and an option given on the command line wins over the preset's.
public struct InferPreset: Codable, Equatable, Sendable {
    /// A checkpoint file, a name from `hone models`, or `bicubic`/`lanczos`.
    public var model: String?
    /// The baselines' factor, 1…4 (a checkpoint has its own).
    public var scale: Int?
    /// `--light`: `auto` or a strength from 0 to 1.
    public var light: String?
    public var selfEnsemble: Bool?
    public var codec: EncoderSettings.Codec?
    /// 0–51 (0–63 for AV1); none for ProRes.
    public var crf: Int?
    /// The x264/x265 speed preset (`EncoderSettings.speedPresets`).
    public var speed: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, scale, light, selfEnsemble = "self_ensemble", codec, crf, speed
    }

    public init(model: String? = nil, scale: Int? = nil, light: String? = nil, selfEnsemble: Bool? = nil,
                codec: EncoderSettings.Codec? = nil, crf: Int? = nil, speed: String? = nil) {
        (self.model, self.scale, self.light, self.selfEnsemble) = (model, scale, light, selfEnsemble)
        (self.codec, self.crf, self.speed) = (codec, crf, speed)
    }

    /// This preset with `given`'s fields wherever it has them: the command line over a saved preset.
    /// A CRF belongs to its codec's scale, so another codec given without a CRF drops the preset's.
    public func overridden(by given: InferPreset) -> InferPreset {
        let otherCodec = given.codec != nil && given.codec != codec
        return InferPreset(model: given.model ?? model, scale: given.scale ?? scale, light: given.light ?? light,
                           selfEnsemble: given.selfEnsemble ?? selfEnsemble, codec: given.codec ?? codec,
                           crf: given.crf ?? (otherCodec ? nil : crf), speed: given.speed ?? speed)
    }

    /// What is out of range, one line each as `key is value; allowed: range`; empty when the preset is sound.
    public func problems() -> [String] {
        var found: [String] = []
        func require(_ ok: Bool, _ key: String, _ value: Any, _ allowed: String) {
            if !ok { found.append("\(key) is \(value); allowed: \(allowed)") }
        }
        if let model { require(!model.isEmpty && model.utf8.count <= 4096, "model", model, "a checkpoint file, a name from `hone models`, bicubic or lanczos") }
        if let scale { require((1...4).contains(scale), "scale", scale, "1 (restoration), 2, 3 or 4") }
        if let light { require((try? LightSetting(light)) != nil, "light", light, "auto, or a strength from 0 to 1") }
        if let crf {
            let most = codec == .av1 ? 63 : 51
            require(codec != .prores, "crf", crf, "none with codec prores, whose quality is its profile")
            require((0...most).contains(crf), "crf", crf, "0 to \(most)\(codec == .av1 ? " for av1" : "")")
        }
        if let speed { require(EncoderSettings.speedPresets.contains(speed), "speed", speed, EncoderSettings.speedPresets.joined(separator: ", ")) }
        return found
    }

    /// The settings as `key value` pairs in `CodingKeys` order, for listing.
    public var summary: String {
        var parts: [String] = []
        if let model { parts.append("model \(model)") }
        if let scale { parts.append("scale \(scale)") }
        if let light { parts.append("light \(light)") }
        if selfEnsemble == true { parts.append("self-ensemble") }
        if let codec { parts.append("codec \(codec.rawValue)") }
        if let crf { parts.append("crf \(crf)") }
        if let speed { parts.append("speed \(speed)") }
        return parts.isEmpty ? "(infer's defaults)" : parts.joined(separator: ", ")
    }
}

extension EncoderSettings.Codec: Codable {
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }
}

/// The presets file: YAML, each preset's name mapped to its settings, e.g.
///
///     phone:
///       model: realesrgan-animevideov3-x2
///       codec: av1
///       crf: 30
///
/// Names are letters, digits, `-` and `_`, starting with a letter. The file is read defensively (it may
/// come from someone else): the same size, nesting and base-60 limits as a config. Saving rewrites
/// it whole: comments written by hand are not kept.
public struct PresetFile: Sendable {
    public let path: String
    public private(set) var presets: [String: InferPreset]

    /// `$XDG_CONFIG_HOME/hone/presets.yaml`, or `~/.config/hone/presets.yaml`.
    public static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".config").path
        return URL(fileURLWithPath: config).appendingPathComponent("hone/presets.yaml").path
    }

    /// The presets in `path`; none when the file does not exist yet (unless `mustExist`).
    /// - Throws: `FileError` naming the file for one that is missing (with `mustExist`), a folder, cannot be
    ///   read or parsed, with the preset and key at fault.
    public init(_ path: String = PresetFile.defaultPath, mustExist: Bool = false) throws {
        self.path = path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            if mustExist { throw FileError(path, "no such presets file") }
            presets = [:]
            return
        }
        if isFolder.boolValue { throw FileError(path, "is a folder, not a presets file") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw FileError(path, "cannot read the presets file (not UTF-8 text)") }
        presets = try Self.parse(text, path: path)
    }

    /// The presets in YAML text; `path` names it in errors. Throws as `init`.
    public static func parse(_ yaml: String, path: String) throws -> [String: InferPreset] {
        try refuseDeepYAML(yaml, path: path)
        return try onDeepStack {
            let root: Node?
            do { root = try Yams.compose(yaml: yaml) } catch {
                throw FileError(path, "not valid YAML (\(String(describing: error).split(separator: "\n").joined(separator: " ")))")
            }
            guard let root else { return [:] }
            guard let mapping = root.mapping else { throw FileError(path, "not a presets file: expected each preset's name, then its settings") }
            try refuseBase60(root, path: path)
            for (key, value) in mapping {
                guard let name = key.string, Self.isName(name) else {
                    throw FileError(path, "'\(key.string.map { "\($0.prefix(40))" } ?? "a key")' is not a preset name (letters, digits, - and _, starting with a letter)")
                }
                guard let settings = value.mapping else { throw FileError(path, "preset \(name): expected its settings (model, scale, …)") }
                let known = InferPreset.CodingKeys.allCases.map(\.rawValue)
                if let unknown = settings.keys.map({ $0.string ?? "" }).first(where: { !known.contains($0) }) {
                    throw FileError(path, "preset \(name): unknown setting \(unknown.prefix(40)); allowed: \(known.joined(separator: ", "))")
                }
            }
            let presets: [String: InferPreset]
            do { presets = try YAMLDecoder().decode([String: InferPreset].self, from: yaml) } catch let error as DecodingError {
                throw FileError(path, HoneConfig.describe(error))
            }
            for name in presets.keys.sorted() {
                if let problem = presets[name]!.problems().first { throw FileError(path, "preset \(name): \(problem)") }
            }
            return presets
        }
    }

    /// Letters, digits, `-` and `_`, starting with a letter, at most 64, and not a word YAML 1.1 reads as
    /// a boolean or null (`yes`, `null`, …): a name that reads the same on any command line and in any YAML reader.
    public static func isName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, CharacterSet.letters.contains(first), name.utf8.count <= 64 else { return false }
        let yamlWords: Set = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"]
        return !yamlWords.contains(name.lowercased())
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }

    /// The preset called `name`.
    /// - Throws: `UsageError` naming the file and the presets it holds.
    public func preset(_ name: String) throws -> InferPreset {
        guard let preset = presets[name] else {
            let held = presets.keys.sorted()
            throw UsageError("no preset \(name) in \(path)" + (held.isEmpty ? " (it holds none; save one with `hone presets save`)" : "; it holds \(held.joined(separator: ", "))"))
        }
        return preset
    }

    /// Saves `preset` under `name`, replacing one of that name, and writes the file.
    /// - Throws: `UsageError` for a bad name or setting; `FileError` when the file cannot be written.
    public mutating func save(_ preset: InferPreset, as name: String) throws {
        guard Self.isName(name) else { throw UsageError("'\(name)' is not a preset name: use letters, digits, - and _, starting with a letter (at most 64; not yes, no, true, false, on, off or null)") }
        if let problem = preset.problems().first { throw UsageError("preset \(name): \(problem)") }
        presets[name] = preset
        try write()
    }

    /// Removes the preset called `name` and writes the file.
    /// - Throws: as `preset(_:)`; `FileError` when the file cannot be written.
    public mutating func delete(_ name: String) throws {
        _ = try preset(name)
        presets[name] = nil
        try write()
    }

    /// Writes every preset, by name, to a temporary file renamed over `path`: a crash leaves the old file whole.
    func write() throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = false
            var text = "# Presets for `hone infer --preset-name NAME` (`hone presets` lists, saves and deletes them).\n"
            for name in presets.keys.sorted() {
                let body = try encoder.encode(presets[name]!)
                text += "\(name):\n" + body.split(separator: "\n").map { "  \($0)\n" }.joined()
            }
            let temporary = folder.appendingPathComponent(".\(URL(fileURLWithPath: path).lastPathComponent).partial-\(getpid())")
            try Data(text.utf8).write(to: temporary)
            guard rename(temporary.path, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            throw FileError(path, "cannot write the presets file (\(error.localizedDescription))")
        }
    }
}
