import Autograd
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Jobs
import Networks
import Quality
import Training

/// The live mode: a page sends camera frames over a WebSocket and gets
/// each back upscaled ×2 by a shipped model and by bicubic, to show side by
/// side. `/api/live` (`model=base`) runs the ×2 base; `model=fast` the fast tier,
/// made for calls, which keeps up with larger frames. Messages are binary: in, width and height as little-endian UInt16 and
/// width × height RGBA bytes; out, the output's width and height the same way,
/// then Hone's RGBA, then bicubic's.
/// The page sends its next frame only once the last has come back, so when the
/// CPU falls behind, frames are dropped at the camera, never queued.
struct LiveMode: Sendable {
    /// Largest frame accepted: 640×360 (the page sends 160×90 to the base; 160×90, 320×180 or 640×360 to the fast tier).
    static let maxPixels = 640 * 360
    static let maxMessage = 4 + maxPixels * 4 * 4
    /// Frames are upscaled one at a time, off the server's threads.
    private let queue = DispatchQueue(label: "hone-live")

    /// The shipped ×2 models the live mode runs.
    enum Model: String, CaseIterable {
        case base, fast
        var checkpoint: String { self == .fast ? "checkpoints/base-x2-fast.safetensors" : "checkpoints/base-x2.safetensors" }
    }

    func add(to router: Router<BasicWebSocketRequestContext>) {
        router.ws("/api/live") { _, _ in .upgrade() } onUpgrade: { inbound, outbound, context in
            let asked = context.request.uri.queryParameters.get("model") ?? Model.base.rawValue
            guard let model = Model(rawValue: asked) else {
                try await outbound.write(.text("error: model must be \(Model.allCases.map(\.rawValue).joined(separator: " or ")), got '\(asked)'"))
                return
            }
            guard let path = ProjectFiles.find(model.checkpoint) else {
                try await outbound.write(.text("error: \(model.checkpoint) is not beside hone: `make base-checkpoints` makes it"))
                return
            }
            let upscale = try TiledUpscaler(loadNetwork(checkpoint: path).0)
            for try await message in inbound.messages(maxSize: Self.maxMessage) {
                guard case .binary(let buffer) = message else { continue }
                let reply: ByteBuffer = try await withCheckedThrowingContinuation { done in
                    queue.async { done.resume(with: Result { try Self.upscale(buffer, with: upscale) }) }
                }
                try await outbound.write(.binary(reply))
            }
        }
    }

    /// One message in, one message out: the frame upscaled by the model and by bicubic.
    /// - Throws: `UsageError` for a message whose size does not match its header, or a frame over `maxPixels`.
    static func upscale(_ message: ByteBuffer, with upscale: TiledUpscaler) throws -> ByteBuffer {
        try message.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 4 else { throw UsageError("a live frame needs a 4-byte header") }
            let (w, h) = (Int(bytes[0]) | Int(bytes[1]) << 8, Int(bytes[2]) | Int(bytes[3]) << 8)
            guard w > 0, h > 0, w * h <= maxPixels, bytes.count == 4 + w * h * 4 else {
                throw UsageError("a live frame of \(w)×\(h) needs \(4 + w * h * 4) bytes, got \(bytes.count), and at most \(maxPixels) pixels")
            }
            let image = Tensor(shape: [1, 3, h, w])
            let plane = w * h
            let rgba = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + 4
            for i in 0..<plane {
                for c in 0..<3 { image.data[c * plane + i] = Float(rgba[4 * i + c]) / 255 }
            }
            let hone = try Grad.disabled { try upscale(image) }
            let bicubic = try resizeBicubic(image, .up(upscale.model.scale))
            let (oh, ow) = (hone.shape[2], hone.shape[3])
            var reply = ByteBuffer()
            reply.reserveCapacity(4 + 8 * ow * oh)
            reply.writeInteger(UInt16(ow), endianness: .little)
            reply.writeInteger(UInt16(oh), endianness: .little)
            let outPlane = ow * oh
            for out in [hone, bicubic] {
                reply.writeWithUnsafeMutableBytes(minimumWritableBytes: outPlane * 4) { target in
                    let p = target.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    for i in 0..<outPlane {
                        for c in 0..<3 { p[4 * i + c] = UInt8(max(0, min(255, out.data[c * outPlane + i] * 255 + 0.5))) }
                        p[4 * i + 3] = 255
                    }
                    return outPlane * 4
                }
            }
            return reply
        }
    }
}
