import Foundation
import Networks

/// Where a training run's weights start.
public enum StartingModel: Equatable, Sendable {
    /// The shipped base for the scale (checkpoints/base-x<scale>.safetensors; ×3
    /// takes the ×2 base's layers but its upsampler) when it holds the config's model, or the
    /// fast tier's (base-x<scale>-fast) when that one does; else `random`.
    case shipped
    /// Random weights with a zero last layer: the untrained model is exactly bicubic.
    case random
    /// A checkpoint file; one of another scale gives the layers the scales share.
    case checkpoint(String)

    /// `random`, `shipped`, or a checkpoint's path.
    public init(_ argument: String) {
        self = switch argument {
        case "random": .random
        case "shipped": .shipped
        default: .checkpoint(argument)
        }
    }

    /// As written on a command line and in a checkpoint's metadata.
    public var argument: String {
        switch self {
        case .shipped: "shipped"
        case .random: "random"
        case .checkpoint(let path): path
        }
    }

    /// A checkpoint's file name without its folder and extension ("base-x4-real"); else `argument`.
    public var fileName: String {
        if case .checkpoint(let path) = self { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent } else { argument }
    }

    /// `.shipped` made concrete: the shipped base (or fast tier) for the scale when it holds the config's model, else `.random`.
    public func resolved(scale: Int, config: HoneConfig) -> StartingModel {
        guard self == .shipped else { return self }
        let base = "base-x\(scale == 3 ? 2 : scale)"
        return Self.shippedFile(base, holding: config) ?? Self.shippedFile(base + "-fast", holding: config) ?? .random
    }

    /// The shipped base for the scale that knows `damage` (checkpoints/base-x<scale>-<damage>.safetensors)
    /// when it is shipped and holds the config's model, else nil.
    public static func shipped(_ damage: DamageBase, scale: Int, config: HoneConfig) -> StartingModel? {
        config.model.radius == 0 ? shippedFile("base-x\(scale)-\(damage.rawValue)", holding: config) : nil
    }

    /// checkpoints/`name`.safetensors when it is shipped and holds the single-frame form of the config's model, else nil.
    private static func shippedFile(_ name: String, holding config: HoneConfig) -> StartingModel? {
        guard let path = ProjectFiles.find("checkpoints/\(name).safetensors"),
              let file = try? Checkpoint.load(path), let record = try? RunRecord(file, path: path),
              record.config.model.singleFrame == config.model.singleFrame, record.config.model.radius == 0 else {
            return nil
        }
        return .checkpoint(path)
    }

    /// Why a run at `run` cannot start from a base of scale `base`, or nil: a ×1
    /// (restoration) model and an enlarging one learn different things, so
    /// neither is a start for the other (layers are shared only between ×2, ×3 and ×4).
    public static func scaleProblem(base: Int, run: Int) -> String? {
        guard (base == 1) != (run == 1) else { return nil }
        return "is a ×\(base) model, and a ×\(run) run cannot start from it: ×1 restores, ×2–×4 enlarge; "
            + (run == 1 ? "start from checkpoints/base-x1.safetensors (the default) or random" : "drop --checkpoint to start from the shipped ×\(run) base")
    }

    /// How score tables name a model started from here.
    public var label: String { self == .random ? "base (random init)" : "base" }
}

/// The shipped bases trained on damage besides the clean bicubic downscale.
public enum DamageBase: String, Sendable {
    /// Soft footage: lens blur, light noise and x264 (`configs/soft.yaml`, `configs/soft-x2.yaml`).
    case soft
    /// Real damage as Real-ESRGAN draws it: anisotropic, generalized-Gaussian and plateau lenses,
    /// Gaussian and shot noise, JPEG, a second round, x264 (`configs/real-x4.yaml`).
    case real
}
