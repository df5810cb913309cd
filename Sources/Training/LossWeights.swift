import Foundation
import Networks

/// Loss weights that replace a config's (nil: the config's own).
public struct LossWeights: Equatable, Sendable {
    public var pixel: Float?
    public var perceptual: [VGGLayer: Float]?
    public var gram: Float?

    public init(pixel: Float? = nil, perceptual: [VGGLayer: Float]? = nil, gram: Float? = nil) {
        (self.pixel, self.perceptual, self.gram) = (pixel, perceptual, gram)
    }

    /// Weights written `relu2_2=0.02,relu3_3=0.02` (empty: none).
    /// - Throws: `UsageError` naming the item that is not `layer=weight` with a known layer and a weight ≥ 0.
    public static func perceptual(_ text: String) throws -> [VGGLayer: Float] {
        var weights: [VGGLayer: Float] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=")
            guard parts.count == 2, let weight = Float(parts[1]), weight >= 0 else {
                throw UsageError("'\(item)' is not layer=weight with a weight of 0 or more")
            }
            guard let layer = VGGLayer(rawValue: String(parts[0])) else {
                throw UsageError("unknown layer \(parts[0]); use \(VGGLayer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            weights[layer] = weight
        }
        return weights
    }

    /// Whether perceptual or gram terms are asked for (a weight above 0).
    public var asksForPerceptualTerms: Bool { (perceptual ?? [:]).values.contains { $0 > 0 } || (gram ?? 0) > 0 }

    /// `config` with these weights in place of its own.
    public func applied(to config: HoneConfig) -> HoneConfig {
        var config = config
        if let pixel { config.loss.pixel = pixel }
        if let gram { config.loss.gram = gram }
        if let perceptual { config.loss.perceptual = Dictionary(uniqueKeysWithValues: perceptual.map { ($0.key.rawValue, $0.value) }) }
        return config
    }
}
