import Autograd
import Foundation
import VideoIO

/// Per-video tuning in the spirit of CaFM (Liu et al., "Overfitting the Data:
/// Compact Neural Video Delivery via Content-aware Feature Modulation", ICCV
/// 2021): every convolution's output channels get a learned scale, and the
/// biases and PReLU slopes are tuned as they are — under 1% of the weights.
/// A scale after a convolution is the same as scaling that channel's weights,
/// so it is folded into them: the model stays an ordinary `SRNet`.
public final class ChannelModulation {
    /// What the optimiser updates: `<conv>.channel_scale` ([out channels], starting at 1), biases, slopes.
    public let parameters: [(name: String, tensor: Tensor)]
    /// Each convolution's weights, their values at the start, and their scales.
    private let convolutions: [(weight: Tensor, start: [Float], scale: Tensor)]

    public init(_ model: SRNet) {
        var parameters: [(String, Tensor)] = [], convolutions: [(Tensor, [Float], Tensor)] = []
        for (name, t) in model.namedTensors() where t.requiresGrad {
            guard t.shape.count == 4 else { parameters.append((name, t)); continue }
            let scale = Tensor(shape: [t.shape[0]], requiresGrad: true)
            scale.fill(1)
            convolutions.append((t, Array(UnsafeBufferPointer(start: t.data, count: t.count)), scale))
            parameters.append((Self.scaleName(name), scale))
        }
        (self.parameters, self.convolutions) = (parameters, convolutions)
    }

    /// The name of a convolution weight's channel scales.
    static func scaleName(_ weight: String) -> String { String(weight.dropLast(".weight".count)) + ".channel_scale" }

    /// The scales' gradients from the weights' (after `backward`): with
    /// W[o, k] = s[o] · W₀[o, k], ∂L/∂s[o] = Σₖ ∂L/∂W[o, k] · W₀[o, k].
    public func projectGradients() {
        for (weight, start, scale) in convolutions {
            guard let g = weight.gradData else { continue }
            let (out, perChannel) = (weight.shape[0], weight.count / weight.shape[0])
            let gs = scale.gradBuffer()
            start.withUnsafeBufferPointer { w0 in
                for o in 0..<out {
                    var total: Float = 0
                    for k in (o * perChannel)..<((o + 1) * perChannel) { total += g[k] * w0[k] }
                    gs[o] = total
                }
            }
        }
    }

    /// The weights from their start and the scales (after each update).
    public func fold() {
        for (weight, start, scale) in convolutions {
            let perChannel = weight.count / weight.shape[0]
            for k in 0..<weight.count { weight.data[k] = scale.data[k / perChannel] * start[k] }
        }
    }
}

/// A fine-tuned network as it travels inside a pack (`hone pack`): what
/// fine-tuning changed from the shipped base a receiver already has, in a
/// safetensors file stored in half precision — with `channelModulation`, each
/// convolution's channel scales with the biases and slopes (a few kilobytes);
/// with `allWeights`, every weight.
public enum Delivery {
    /// The attachment's MIME type and file name in the Matroska container.
    public static let mimeType = "application/x-hone-delivery"
    public static func fileName(scale: Int) -> String { "hone-x\(scale).safetensors" }
    /// The format this version of Hone writes and reads.
    static let format = "hone-delivery-1"

    /// The attachment for `tuned`, fine-tuned from `base` (the shipped base file at `basePath`).
    /// The channel scales are recovered from the weights: s[o] = ⟨W[o], W₀[o]⟩ / ⟨W₀[o], W₀[o]⟩.
    /// - Throws: `FileError` naming the base when it cannot be read.
    public static func encode(_ tuned: SRNet, tuning: Tuning, base: SRNet, basePath: String) throws -> Data {
        guard let baseBytes = FileManager.default.contents(atPath: basePath) else { throw FileError(basePath, "cannot be read") }
        let start = Dictionary(uniqueKeysWithValues: base.namedTensors().map { ($0.name, $0.tensor) })
        var tensors: [(name: String, tensor: Tensor)] = []
        for (name, t) in tuned.namedTensors() {
            guard tuning == .channelModulation, t.shape.count == 4, let w0 = start[name] else { tensors.append((name, t)); continue }
            let (out, perChannel) = (t.shape[0], t.count / t.shape[0])
            let scale = Tensor(shape: [out])
            for o in 0..<out {
                var (dot, norm) = (0.0, 0.0)
                for k in (o * perChannel)..<((o + 1) * perChannel) { dot += Double(t.data[k] * w0.data[k]); norm += Double(w0.data[k] * w0.data[k]) }
                scale.data[o] = norm > 0 ? Float(dot / norm) : 1
            }
            tensors.append((ChannelModulation.scaleName(name), scale))
        }
        // What rebuilding needs, no more: the model's config comes with the base.
        let metadata = ["hone.format": format, "hone.tuning": tuning.rawValue, "hone.scale": "\(tuned.scale)",
                        "hone.base": URL(fileURLWithPath: basePath).lastPathComponent, "hone.base_fingerprint": fingerprint(baseBytes)]
        return try Checkpoint(tensors: tensors, metadata: metadata).encoded(precision: .float16)
    }

    /// The network an attachment describes: the shipped base of its scale with the changes applied.
    /// `source` names the attachment in errors (the pack's path).
    /// - Throws: `FileError` naming `source` when the attachment is corrupt, from another
    ///   version of Hone, or made from another base than the one shipped here.
    public static func decode(_ data: Data, source: String) throws -> (model: SRNet, tuning: Tuning) {
        let hint = "; pass --checkpoint to upscale with another network"
        let file: Checkpoint
        do { file = try Checkpoint.parse(data, path: source) } catch let error as FileError {
            throw FileError(source, "its Hone attachment is corrupt (\(error.problem))" + hint)
        }
        let m = file.metadata
        guard m["hone.format"] == format, let tuning = m["hone.tuning"].flatMap(Tuning.init(rawValue:)),
              let scale = m["hone.scale"].flatMap({ Int($0) }), [2, 4].contains(scale) else {
            throw FileError(source, "its Hone attachment is of another format (\(m["hone.format"] ?? "none")) than this Hone reads (\(format))" + hint)
        }
        guard let basePath = try? shippedBase(scale: scale), let baseBytes = FileManager.default.contents(atPath: basePath) else {
            throw FileError(source, "its network needs Hone's shipped ×\(scale) base, which is not installed beside hone" + hint)
        }
        guard fingerprint(baseBytes) == m["hone.base_fingerprint"] else {
            throw FileError(source, "its network was made from another ×\(scale) base (\(m["hone.base"] ?? "?")) than the one shipped with this Hone" + hint)
        }
        let (model, _) = try SRNet.load(checkpoint: basePath)
        for (name, t) in model.namedTensors() {
            let stored = tuning == .channelModulation && t.shape.count == 4 ? ChannelModulation.scaleName(name) : name
            guard let saved = file[stored] else {
                // Channel modulation leaves the rest of the base as it is.
                if tuning == .channelModulation { continue }
                throw FileError(source, "its Hone attachment has no tensor \(stored)" + hint)
            }
            let expected = stored == name ? t.shape : [t.shape[0]]
            guard saved.shape == expected else { throw FileError(source, "its Hone attachment's \(stored) has shape \(saved.shape), not \(expected)" + hint) }
            if stored == name {
                t.data.update(from: saved.data, count: t.count)
            } else {
                let perChannel = t.count / t.shape[0]
                for k in 0..<t.count { t.data[k] *= saved.data[k / perChannel] }
            }
        }
        return (model, tuning)
    }
}

/// A file's fingerprint, the same on any machine: 64-bit FNV-1a (Fowler–Noll–Vo) of its bytes, in hex.
func fingerprint(_ bytes: Data) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return String(hash, radix: 16)
}
