import Autograd
import Foundation

/// The feature layers of VGG16 a loss can use, by the conv whose ReLU ends them.
public enum VGGLayer: String, CaseIterable, Sendable, Comparable {
    case relu1_2, relu2_2, relu3_3, relu4_3, relu5_3

    /// Index of the conv (0…12) whose ReLU output this is.
    package var conv: Int { [1, 3, 6, 9, 12][VGGLayer.allCases.firstIndex(of: self)!] }
    public static func < (a: VGGLayer, b: VGGLayer) -> Bool { a.conv < b.conv }
}

/// ImageNet VGG16's convolutional features (torchvision's `features`), frozen.
public final class VGG16: Module, @unchecked Sendable {
    let convs: [Conv2d]
    // ImageNet statistics (static, so they are not taken for weights).
    private static let mean = try! Tensor(shape: [3], values: [0.485, 0.456, 0.406])
    private static let invStd = try! Tensor(shape: [3], values: [1 / 0.229, 1 / 0.224, 1 / 0.225])

    /// Where `scripts/fetch-weights.sh` (run by `make setup`) puts the converted weights.
    public static var defaultPath: String { ProjectFiles.cache + "/vgg16.safetensors" }

    public init(weights path: String = VGG16.defaultPath) throws {
        var rng = SeededRandom(seed: 0)
        let widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
        convs = zip([3] + widths.dropLast(), widths).map { Conv2d($0, $1, rng: &rng) }
        super.init()
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(path, "VGG16 weights are missing; run `make setup` (or scripts/fetch-weights.sh) once")
        }
        let file = try Checkpoint.load(path)
        try file.load(into: self, prefix: "vgg.", path: path)
        for (_, t) in namedTensors() { t.requiresGrad = false }
        metadata = file.metadata
    }

    /// The converter's metadata (source, reference activations).
    public private(set) var metadata: [String: String] = [:]

    /// Features at `layers` of an RGB batch in [0, 1]; runs only as deep as needed.
    public func features(_ x: Tensor, _ layers: Set<VGGLayer>) throws -> [VGGLayer: Tensor] {
        guard let deepest = layers.max() else { return [:] }
        var h = try mul(try sub(x, VGG16.mean), VGG16.invStd)
        var out: [VGGLayer: Tensor] = [:]
        for (i, conv) in convs.enumerated() where i <= deepest.conv {
            if [2, 4, 7, 10].contains(i) { h = try maxPool2(h) }
            h = relu(try conv(h))
            if let layer = VGGLayer.allCases.first(where: { $0.conv == i }), layers.contains(layer) { out[layer] = h }
        }
        return out
    }
}
