import Foundation
import Yams

/// Everything a run needs besides its data, from one YAML file in configs/.
public struct HoneConfig: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var degradation: DegradationConfig
    public var loss: LossConfig
    public var training: TrainingConfig

    public static func load(_ path: String) throws -> HoneConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CheckpointError(path, "no such config file")
        }
        do { return try YAMLDecoder().decode(HoneConfig.self, from: text) } catch {
            throw CheckpointError(path, "not a valid config: \(error)")
        }
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> HoneConfig {
        try JSONDecoder().decode(HoneConfig.self, from: Data(text.utf8))
    }
}

public struct ModelConfig: Codable, Sendable, Equatable {
    /// Feature channels of the body.
    public var channels: Int
    /// Residual blocks in the body.
    public var blocks: Int
    /// relu or prelu.
    public var activation: String
    /// Run the body at half resolution between a strided conv and a pixel-shuffle up, with a skip (lesson 7's U-Net path).
    public var unet: Bool

    public init(channels: Int, blocks: Int, activation: String, unet: Bool) {
        (self.channels, self.blocks, self.activation, self.unet) = (channels, blocks, activation, unet)
    }
}

public struct DegradationConfig: Codable, Sendable, Equatable {
    /// Largest Gaussian blur σ (LR pixels) applied to a training input; 0 for none.
    public var blur: Float
    /// Largest Gaussian noise σ (8-bit levels) added to a training input; 0 for none.
    public var noise: Float
    /// JPEG quality (1–100) a training input is compressed at, after blur and
    /// noise, to teach artifact removal (lesson 7 used 60); absent or 0 for none.
    public var jpegQuality: Int?

    enum CodingKeys: String, CodingKey { case blur, noise, jpegQuality = "jpeg_quality" }
}

public struct LossConfig: Codable, Sendable, Equatable {
    /// Weight of the pixel loss.
    public var pixel: Float
    /// l1, mse or charbonnier.
    public var pixelKind: String
    /// VGG16 layers (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3) and the weight of each one's feature L1.
    public var perceptual: [String: Float]
    /// Weight of the gram (style) term; each layer's gram L1 is scaled by its weight squared.
    public var gram: Float
    /// Share of the run trained on the pixel loss alone before the perceptual
    /// and gram terms join (absent: 0, all of it).
    public var perceptualStart: Double?

    enum CodingKeys: String, CodingKey { case pixel, pixelKind = "pixel_kind", perceptual, gram, perceptualStart = "perceptual_start" }
}

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

    enum CodingKeys: String, CodingKey {
        case patch, batch, learningRate = "learning_rate", weightDecay = "weight_decay", pctStart = "pct_start"
        case patchesPerFrame = "patches_per_frame", validationEvery = "validation_every", seed
    }
}
