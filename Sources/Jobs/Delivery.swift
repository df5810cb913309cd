import Autograd
import Foundation
import Networks
import Quality
import Training
import VideoIO

/// A fine-tuned network as it travels inside a pack (`hone pack`): what
/// fine-tuning changed from the shipped base a receiver already has, in a
/// safetensors file stored in half precision — with `channelModulation`, each
/// convolution's channel scales with the biases and slopes (a few kilobytes);
/// with `allWeights`, every weight.
public enum Delivery {
    /// The attachment's MIME type and file name in the Matroska container.
    public static let mimeType = Attachment.honeNetworkMIMEType
    public static func fileName(scale: Int) -> String { "hone-x\(scale).safetensors" }
    /// The format this version of Hone writes and reads.
    static let format = "hone-delivery-1"

    /// The attachment for a pack's training checkpoint (`Trainer.checkpoint`: the
    /// model, and with modulation its tensors under `modulation.`), tuned from the
    /// shipped base file at `basePath`: every model tensor, or the modulation's alone.
    /// - Throws: `FileError` naming the base when it cannot be read, or `path` when the checkpoint lacks the modulation.
    public static func encode(_ checkpoint: Checkpoint, tuning: Tuning, basePath: String, path: String) throws -> Data {
        guard let baseBytes = FileManager.default.contents(atPath: basePath) else { throw FileError(basePath, "cannot be read") }
        let tensors: [(name: String, tensor: Tensor)]
        if tuning == .allWeights {
            tensors = checkpoint.tensors.filter { !$0.name.hasPrefix("modulation.") }
        } else {
            tensors = checkpoint.tensors.filter { $0.name.hasPrefix("modulation.") }.map { (String($0.name.dropFirst("modulation.".count)), $0.tensor) }
            guard !tensors.isEmpty else { throw FileError(path, "holds no channel modulation") }
        }
        // What rebuilding needs, no more: the model's config comes with the base.
        let metadata = ["hone.format": format, "hone.tuning": tuning.rawValue, "hone.scale": checkpoint.metadata["hone.scale"] ?? "",
                        "hone.base": URL(fileURLWithPath: basePath).lastPathComponent, "hone.base_fingerprint": fingerprint(baseBytes)]
        return try Checkpoint(tensors: tensors, metadata: metadata).encoded(precision: .float16)
    }

    /// The network an attachment describes: the shipped base of its scale with the changes applied.
    /// `source` names the attachment in errors (the pack's path).
    /// - Throws: `FileError` naming `source` when the attachment is corrupt, from another
    ///   version of Hone, or made from another base than the one shipped here.
    public static func decode(_ data: Data, source: String) throws -> (model: any UpscalingNetwork, tuning: Tuning) {
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
        func stored(_ name: String, _ shape: [Int]) throws -> Tensor? {
            guard let t = file[name] else { return nil }
            guard t.shape == shape else { throw FileError(source, "its Hone attachment's \(name) has shape \(t.shape), not \(shape)" + hint) }
            return t
        }
        let (model, _) = try loadNetwork(checkpoint: basePath)
        for (name, t) in model.namedTensors() {
            if tuning != .allWeights, t.shape.count == 4 {
                // Channel modulation leaves what it does not name as the base has it.
                let (out, names) = (t.shape[0], ChannelModulation.names(name))
                let rank = file[names.out]?.shape.last ?? 0
                guard let scale = try stored(names.scale, [out]) else { continue }
                let factors = rank > 0 ? (try stored(names.out, [out, rank]), try stored(names.in, [rank, t.count / out])) : (nil, nil)
                if rank > 0, factors.0 == nil || factors.1 == nil { throw FileError(source, "its Hone attachment lacks half of \(name)'s low-rank change" + hint) }
                ChannelModulation.fold(into: t.data, start: Array(UnsafeBufferPointer(start: t.data, count: t.count)), scale: scale.data,
                                       factors: rank > 0 ? (UnsafePointer(factors.0!.data), UnsafePointer(factors.1!.data)) : nil, out: out, rank: rank)
            } else if let saved = try stored(name, t.shape) {
                t.data.update(from: saved.data, count: t.count)
            } else if tuning == .allWeights {
                throw FileError(source, "its Hone attachment has no tensor \(name)" + hint)
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
