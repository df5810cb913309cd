import Foundation
import Networks
import Quality
import Yams

/// Everything a run needs besides its data, from one YAML file in configs/.
public struct HoneConfig: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var degradation: DegradationConfig
    public var loss: LossConfig
    public var training: TrainingConfig

    enum CodingKeys: String, CodingKey, CaseIterable { case model, degradation, loss, training }

    /// Reads and checks a config file.
    /// - Throws: `FileError` naming the file and, for a bad entry, the key, its
    ///   value and what is allowed: an unknown key (with the nearest known one),
    ///   a missing key, a value of the wrong kind or out of range.
    public static func load(_ path: String) throws -> HoneConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileError(path, FileManager.default.fileExists(atPath: path) ? "cannot read the config" : "no such config file")
        }
        return try parse(text, path: path)
    }

    /// A config from YAML text; `path` names it in errors. Throws as `load`.
    public static func parse(_ yaml: String, path: String) throws -> HoneConfig {
        try refuseDeepYAML(yaml, path: path)
        let config: HoneConfig = try onDeepStack {
            let root: Node?
            do { root = try Yams.compose(yaml: yaml) } catch {
                throw FileError(path, "not valid YAML (\(String(describing: error).split(separator: "\n").joined(separator: " ")))")
            }
            guard let root, root.mapping != nil else { throw FileError(path, "not a config: expected the sections model, degradation, loss, training") }
            try refuseBase60(root, path: path)
            try Self.checkKeys(root, section: nil, path: path)
            do { return try YAMLDecoder().decode(HoneConfig.self, from: yaml) } catch let error as DecodingError {
                throw FileError(path, Self.describe(error))
            }
        }
        if let problem = config.problems().first { throw FileError(path, problem) }
        return config
    }

    /// What is out of range, one line each as `key is value; allowed: range`; empty when the config is sound.
    public func problems() -> [String] {
        var found = model.problems()
        func require(_ ok: Bool, _ key: String, _ value: Any, _ allowed: String) {
            if !ok { found.append("\(key) is \(value); allowed: \(allowed)") }
        }
        let (d, l, t) = (degradation, loss, training)
        require((0...10).contains(d.blur), "degradation.blur", d.blur, "0 to 10 (σ in low-resolution pixels)")
        require((0...255).contains(d.noise), "degradation.noise", d.noise, "0 to 255 (σ in 8-bit levels)")
        require((0...100).contains(d.jpegQuality ?? 0), "degradation.jpeg_quality", d.jpegQuality ?? 0, "1 to 100, or 0 for none")
        require((0...255).contains(d.poisson ?? 0), "degradation.poisson", d.poisson ?? 0, "0 to 255 (σ in 8-bit levels at white)")
        require(d.x264CRF.map { $0.count == 2 && 0 <= $0[0] && $0[0] <= $0[1] && $0[1] <= 51 } ?? true, "degradation.x264_crf",
                d.x264CRF ?? [], "[low, high] with 0 ≤ low ≤ high ≤ 51, or absent")
        require((0...1).contains(d.x264Share ?? 1), "degradation.x264_share", d.x264Share ?? 1, "0 to 1 (a share of the batches)")
        require(d.lensBlur.map { $0.count == 2 && 0 <= $0[0] && $0[0] <= $0[1] && $0[1] <= 10 } ?? true, "degradation.lens_blur",
                d.lensBlur ?? [], "[low, high] with 0 ≤ low ≤ high ≤ 10 (σ in full-resolution pixels), or absent")
        for (key, share) in [("lens_anisotropic", d.lensAnisotropic), ("lens_shaped", d.lensShaped), ("jpeg_share", d.jpegShare),
                             ("second_order", d.secondOrder), ("resize_share", d.resizeShare)] {
            require((0...1).contains(share ?? 0), "degradation.\(key)", share ?? 0, "0 to 1 (a share)")
        }
        for (key, range, bounds) in [("light_gamma", d.lightGamma, Float(0.3)...4), ("light_gain", d.lightGain, 0.05...2), ("light_scene", d.lightScene, 0.3...4)] {
            require(range.map { $0.count == 2 && bounds.contains($0[0]) && $0[0] <= $0[1] && bounds.contains($0[1]) } ?? true,
                    "degradation.\(key)", range ?? [], "[low, high] within \(bounds.lowerBound)…\(bounds.upperBound), or absent")
        }
        require((0...0.8).contains(d.lightTint ?? 0), "degradation.light_tint", d.lightTint ?? 0, "0 to 0.8 (a gain's largest change)")
        require((0...1).contains(d.lightShare ?? 0), "degradation.light_share", d.lightShare ?? 0, "0 to 1 (a share)")
        require(d.jpegRange.map { $0.count == 2 && 1 <= $0[0] && $0[0] <= $0[1] && $0[1] <= 100 } ?? true, "degradation.jpeg_range",
                d.jpegRange ?? [], "[low, high] with 1 ≤ low ≤ high ≤ 100 (JPEG quality), or absent")
        require(t.trained != .propagation || model.propagation != nil, "training.trained", t.trained?.rawValue ?? "", "all, or propagation for a recurrent model (model.propagation)")
        require((2...16).contains(t.clipFrames ?? 5), "training.clip_frames", t.clipFrames ?? 0, "2 to 16 (frames of a recurrent model's training clip)")
        require(l.pixel >= 0 && l.pixel.isFinite, "loss.pixel", l.pixel, "0 or more")
        for (layer, weight) in l.perceptual.sorted(by: { $0.key < $1.key }) {
            require(weight >= 0 && weight.isFinite, "loss.perceptual.\(layer)", weight, "0 or more")
        }
        require(l.gram >= 0 && l.gram.isFinite, "loss.gram", l.gram, "0 or more")
        require((0...1).contains(l.perceptualStart ?? 0), "loss.perceptual_start", l.perceptualStart ?? 0, "0 to 1 (a share of the run)")
        require(l.pixel > 0 || l.perceptual.values.contains { $0 > 0 }, "loss.pixel", l.pixel,
                "more than 0 when no perceptual weight is (else there is nothing to learn)")
        require((8...1024).contains(t.patch), "training.patch", t.patch, "8 to 1024 pixels (and a multiple of the scale)")
        require((1...4096).contains(t.batch), "training.batch", t.batch, "1 to 4096")
        require(t.learningRate > 0 && t.learningRate <= 1, "training.learning_rate", t.learningRate, "more than 0, at most 1")
        require((0...1).contains(t.weightDecay), "training.weight_decay", t.weightDecay, "0 to 1")
        require((0...1).contains(t.pctStart), "training.pct_start", t.pctStart, "0 to 1 (a share of the steps)")
        require((1...10_000).contains(t.patchesPerFrame), "training.patches_per_frame", t.patchesPerFrame, "1 to 10000")
        require((2...10_000).contains(t.validationEvery), "training.validation_every", t.validationEvery, "2 to 10000")
        return found
    }

    /// What the config asks of a run at `scale` (1 to 4) besides its own ranges, or nil.
    public func problem(scale: Int) -> String? {
        if training.patch % scale != 0 { return "training.patch is \(training.patch); allowed: a multiple of the scale \(scale)" }
        if model.layout == .curves, scale != 1 { return "a curves model corrects light at ×1; ×\(scale) takes another architecture" }
        if scale == 1, ![.hone, .curves].contains(model.layout) {
            return "\(model.layout.networkName) only enlarges; restoration at ×1 takes Hone's architecture"
        }
        if degradation.x264CRF != nil, training.patch / scale < 16 {
            return "training.patch is \(training.patch); allowed: at least \(16 * scale) at ×\(scale) with degradation.x264_crf (x264 needs 16-pixel inputs)"
        }
        if let n = model.networkScale, n < scale { return "model.network_scale is \(n); allowed: at least the scale \(scale)" }
        if model.layout == .rrdb, scale != 4, model.networkScale == nil { return "an rrdb model enlarges ×4: set model.network_scale 4 for ×\(scale)" }
        return nil
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> HoneConfig {
        try JSONDecoder().decode(HoneConfig.self, from: Data(text.utf8))
    }

    /// The keys each section may hold (the perceptual weights are keyed by VGG16 layer).
    static let knownKeys: [String?: [String]] = [
        nil: CodingKeys.allCases.map(\.rawValue),
        "model": ModelConfig.CodingKeys.allCases.map(\.rawValue),
        "degradation": DegradationConfig.CodingKeys.allCases.map(\.rawValue),
        "loss": LossConfig.CodingKeys.allCases.map(\.rawValue),
        "loss.perceptual": VGGLayer.allCases.map(\.rawValue),
        "training": TrainingConfig.CodingKeys.allCases.map(\.rawValue),
    ]

    /// Throws for the first key no section knows, naming the nearest known one:
    /// a misspelt key would otherwise leave its setting silently at the default.
    static func checkKeys(_ node: Node, section: String?, path: String) throws {
        guard let known = knownKeys[section], let mapping = node.mapping else { return }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            let full = section.map { "\($0).\(key)" } ?? key
            guard known.contains(key) else {
                let nearest = known.min { editDistance($0, key) < editDistance($1, key) }!
                throw FileError(path, "line \(keyNode.mark?.line ?? 0): unknown key \(full); did you mean \(nearest)? "
                                + "(\(section ?? "the top level") takes \(known.joined(separator: ", ")))")
            }
            try checkKeys(value, section: full, path: path)
        }
    }

    /// One line for a decoding failure: the dotted key and what was wrong.
    package static func describe(_ error: DecodingError) -> String {
        func key(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let missing, let context):
            return "\(key(context.codingPath + [missing])) is missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let kind = type == Bool.self ? "true or false" : type == Int.self ? "a whole number"
                : type == String.self ? "a word" : [Float.self, Double.self].contains(where: { $0 == type }) ? "a number" : "\(type)"
            return "\(key(context.codingPath)) must be \(kind)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? context.debugDescription : "\(key(context.codingPath)) \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Throws for YAML that Yams's recursive parser need not face: over 16 KiB
/// (Hone's configs are a few hundred bytes) or flow collections nested
/// deeper than 32 (100,000 `{` overflow the stack; found by fuzzing).
package func refuseDeepYAML(_ text: String, path: String) throws {
    guard text.utf8.count <= 1 << 14 else { throw FileError(path, "is \(text.utf8.count) bytes; a config or grid is a few hundred") }
    var depth = 0
    for byte in text.utf8 {
        if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { depth -= 1 }
        if depth > 32 { throw FileError(path, "nests deeper than 32 levels") }
    }
}

/// Runs `body` (Yams's parser and decoder, which recurse once per nesting
/// level) on a thread with a 256 MB stack, so the deepest block nesting 16 KiB
/// can hold (`? ? ? …`, `- - - …`: found by fuzzing) fails or parses instead of
/// overflowing the stack. Only the pages used are ever committed.
package func onDeepStack<T>(_ body: @escaping () throws -> T) throws -> T {
    let outcome = DeepStackOutcome<T>(), done = DispatchSemaphore(value: 0)
    let work = DeepStackWork { outcome.value = Result(catching: body) }
    let thread = Thread { work.run(); done.signal() }
    thread.stackSize = 256 << 20
    thread.start()
    done.wait()
    return try outcome.value!.get()
}

/// What `onDeepStack`'s thread hands back, and what it runs; each used by one thread at a time.
private final class DeepStackOutcome<T>: @unchecked Sendable { var value: Result<T, Error>? }
private struct DeepStackWork: @unchecked Sendable { let run: () -> Void }

/// Throws for a value with a colon in it. Yams reads any number holding one as
/// YAML 1.1 base 60 (`1:30` is 90) with unchecked arithmetic, so a long one
/// overflows and traps instead of failing (found by fuzzing); Hone's configs
/// and grids hold no text where a colon would belong.
package func refuseBase60(_ node: Node, path: String) throws {
    switch node {
    case .scalar(let scalar):
        if scalar.string.contains(":") {
            throw FileError(path, "line \(scalar.mark?.line ?? 0): \(scalar.string.prefix(40)) holds a colon; base-60 numbers such as 1:30 are not read, write the number itself")
        }
    case .mapping(let mapping):
        for (key, value) in mapping { try refuseBase60(key, path: path); try refuseBase60(value, path: path) }
    case .sequence(let sequence):
        for item in sequence { try refuseBase60(item, path: path) }
    }
}

/// How the pixel term compares the output with the target.
public enum PixelLoss: String, Codable, CaseIterable, Sendable {
    case l1, mse
    /// √((x − y)² + ε²), a smooth L1 (Charbonnier et al. 1994; LapSRN's loss).
    case charbonnier
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }
}


/// The `degradation` section: the synthetic damage a training input goes through
/// (`Trainer.degrade`, in `Damage`'s order), each strength drawn up to its maximum.
public struct DegradationConfig: Codable, Sendable, Equatable {
    /// Largest Gaussian blur σ (LR pixels) applied to a training input; 0 for none.
    public var blur: Float
    /// Largest Gaussian noise σ (8-bit levels) added to a training input; 0 for none.
    public var noise: Float
    /// JPEG quality (1–100) a training input is compressed at, after blur and
    /// noise, to teach artifact removal (lesson 7 used 60); absent or 0 for none.
    public var jpegQuality: Int?
    /// Largest shot-noise σ (8-bit levels at white; σ grows as √intensity) added after the Gaussian noise; absent or 0 for none.
    public var poisson: Float?
    /// A CRF range [low, high]: each batch of training inputs goes through libx264
    /// at a CRF drawn from it, last, as one stream; absent for none. Crops must be at least 16 pixels.
    public var x264CRF: [Double]?
    /// The share of batches that go through x264 (absent: all of them), so that a model
    /// also meets damage that no codec has smoothed (raw sensor noise).
    public var x264Share: Double?
    /// A range [low, high] of camera blur σ in *target* (full-resolution) pixels: each training
    /// target is blurred by a Gaussian of a σ drawn from it before the downscale (`Damage.lens`),
    /// so the network learns to undo a soft lens as well as the downscale; absent for none.
    public var lensBlur: [Float]?
    /// The share of lens blurs drawn anisotropic: σ across drawn from `lens_blur` too, at an angle
    /// drawn from −90…90° (absent: none), as Real-ESRGAN draws its kernels (Wang et al., ICCVW 2021).
    public var lensAnisotropic: Double?
    /// The share of lens blurs drawn with another profile than the Gaussian: half generalized
    /// Gaussians (β 0.5–4), half plateaus (β 1–2), Real-ESRGAN's ranges (`KernelShape`); absent: none.
    public var lensShaped: Double?
    /// The share of training targets downscaled with a kernel drawn among MATLAB's bilinear, box
    /// (area) and Lanczos-3 instead of bicubic, as Real-ESRGAN draws its resize modes (absent: none),
    /// so that a model does not learn one resampler's signature.
    public var resizeShare: Double?
    /// A JPEG quality range [low, high] drawn per training input, after blur and noise; absent for none.
    public var jpegRange: [Int]?
    /// The share of training inputs that go through `jpeg_range` (absent: all).
    public var jpegShare: Double?
    /// The share of training inputs damaged twice: a second draw of blur, noise and JPEG after the
    /// first, before x264 (Real-ESRGAN's second-order degradation); absent: none.
    public var secondOrder: Double?
    /// A range [low, high] of the gamma in `Damage.dark` drawn per training input (a light model's
    /// base learns to undo it); absent: none. Below 1 brightens.
    public var lightGamma: [Float]?
    /// A range [low, high] of the gain in `Damage.dark`; absent: 1.
    public var lightGain: [Float]?
    /// The largest change of a channel's gain in `Damage.tint` (0.25: red and blue each drawn from 0.75–1.25); absent: none.
    public var lightTint: Float?
    /// The share of training inputs whose light is changed at all (absent: all); the rest teach the identity.
    public var lightShare: Double?
    /// A range [low, high] of a gamma applied to each training *target* (v → v^gamma) before any damage: scenes
    /// as they should look are darker or brighter, so a light model learns that a low-key scene is not an
    /// underexposed one; absent: the photographs as they are.
    public var lightScene: [Float]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case blur, noise, jpegQuality = "jpeg_quality", poisson, x264CRF = "x264_crf", x264Share = "x264_share", lensBlur = "lens_blur"
        case lensAnisotropic = "lens_anisotropic", lensShaped = "lens_shaped", jpegRange = "jpeg_range", jpegShare = "jpeg_share"
        case secondOrder = "second_order", resizeShare = "resize_share"
        case lightGamma = "light_gamma", lightGain = "light_gain", lightTint = "light_tint", lightShare = "light_share", lightScene = "light_scene"
    }

    public init(blur: Float = 0, noise: Float = 0, jpegQuality: Int? = nil, poisson: Float? = nil, x264CRF: [Double]? = nil, x264Share: Double? = nil,
                lensBlur: [Float]? = nil) {
        (self.blur, self.noise, self.jpegQuality, self.poisson, self.x264CRF, self.x264Share) = (blur, noise, jpegQuality, poisson, x264CRF, x264Share)
        self.lensBlur = lensBlur
    }

    /// What a training input goes through, for people: "x264 at CRF 25–30, noise σ up to 2.0 levels".
    public var summary: String {
        var parts: [String] = []
        if let crf = x264Range { parts.append(String(format: "x264 at CRF %.0f–%.0f", crf.lowerBound, crf.upperBound) + share(x264Share)) }
        if let q = jpegQuality, q > 0 { parts.append("JPEG at quality \(q)") }
        if let q = jpegRange, q.count == 2 { parts.append("JPEG at quality \(q[0])–\(q[1])" + share(jpegShare)) }
        if noise > 0 { parts.append(String(format: "noise σ up to %.1f levels", noise)) }
        if let p = poisson, p > 0 { parts.append(String(format: "shot noise σ up to %.1f levels at white", p)) }
        if blur > 0 { parts.append(String(format: "blur σ up to %.1f pixels", blur)) }
        if let lens = lensRange {
            parts.append(lens.lowerBound == lens.upperBound ? String(format: "lens blur σ %.2f full-resolution pixels", lens.lowerBound)
                         : String(format: "lens blur σ %.2f–%.2f full-resolution pixels", lens.lowerBound, lens.upperBound))
            if let a = lensAnisotropic, a > 0 { parts.append("anisotropic" + share(a)) }
            if let a = lensShaped, a > 0 { parts.append("generalized or plateau kernels" + share(a)) }
        }
        if let g = lightGamma, g.count == 2 {
            let gain = lightGain.flatMap { $0.count == 2 ? String(format: ", gain %.2f–%.2f", $0[0], $0[1]) : nil } ?? ""
            parts.append(String(format: "light: gamma %.2f–%.2f", g[0], g[1]) + gain + share(lightShare))
        }
        if let t = lightTint, t > 0 { parts.append(String(format: "tint: red and blue gains ±%.2f", t)) }
        if let g = lightScene, g.count == 2 { parts.append(String(format: "targets at gamma %.2f–%.2f", g[0], g[1])) }
        if let s = resizeShare, s > 0 { parts.append("downscaled by bilinear, box or Lanczos-3" + share(s)) }
        if let s = secondOrder, s > 0 { parts.append("damaged twice" + share(s)) }
        return parts.isEmpty ? "8-bit rounding alone" : parts.joined(separator: ", ")
        func share(_ s: Double?) -> String { s.map { $0 < 1 ? String(format: " (%.0f %%)", $0 * 100) : "" } ?? "" }
    }
}

/// The `loss` section: the terms `SRLoss` sums and their weights.
public struct LossConfig: Codable, Sendable, Equatable {
    /// Weight of the pixel loss.
    public var pixel: Float
    public var pixelKind: PixelLoss
    /// VGG16 layers (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3) and the weight of each one's feature L1.
    public var perceptual: [String: Float]
    /// Weight of the gram (style) term; each layer's gram L1 is scaled by its weight squared.
    public var gram: Float
    /// Share of the run trained on the pixel loss alone before the perceptual
    /// and gram terms join (absent: 0, all of it).
    public var perceptualStart: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case pixel, pixelKind = "pixel_kind", perceptual, gram, perceptualStart = "perceptual_start"
    }
}

/// Which of a model's weights training updates.
public enum TrainedWeights: String, Codable, CaseIterable, Sendable {
    case all
    /// A recurrent model's fusion of the carried state alone (`StateFusion`): the single-frame
    /// network stays as its base, so the model stays its base on any frame with nothing carried.
    case propagation
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }
}

/// The `training` section: crops, batches and the optimiser's one-cycle schedule.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Side of a high-resolution training crop, in pixels (a multiple of the scale).
    public var patch: Int
    public var batch: Int
    /// Peak learning rate of the one-cycle schedule.
    public var learningRate: Float
    public var weightDecay: Float
    /// Share of the steps spent warming up.
    public var pctStart: Double
    /// Crops drawn per training frame in one epoch: an epoch is ⌈frames × this / batch⌉ steps.
    public var patchesPerFrame: Int
    /// Every n-th frame is held out for validation.
    public var validationEvery: Int
    public var seed: UInt64
    /// Frames of each training clip of a recurrent model (`model.propagation`); nil: `defaultClipFrames`.
    public var clipFrames: Int?
    /// What training updates; nil: every weight.
    public var trained: TrainedWeights?

    public static let defaultClipFrames = 5

    enum CodingKeys: String, CodingKey, CaseIterable {
        case patch, batch, learningRate = "learning_rate", weightDecay = "weight_decay", pctStart = "pct_start"
        case patchesPerFrame = "patches_per_frame", validationEvery = "validation_every", seed, clipFrames = "clip_frames", trained
    }
}
