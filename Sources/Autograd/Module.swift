import Foundation

/// A network or layer. Its state is the Tensor properties it stores, found by
/// reflection and named by property path like PyTorch's state dict
/// (`body.3.conv.weight`), so a model type only declares its layers.
open class Module: @unchecked Sendable {
    public init() {}

    /// Every tensor of this module and its children, by dotted name.
    public func namedTensors(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        func visit(_ value: Any, _ name: String) {
            if let t = value as? Tensor { out.append((name, t)); return }
            if let m = value as? Module { out += m.namedTensors(prefix: name + "."); return }
            let mirror = Mirror(reflecting: value)
            switch mirror.displayStyle {
            case .optional: if let v = mirror.children.first?.value { visit(v, name) }
            case .collection: for (i, c) in mirror.children.enumerated() { visit(c.value, name + ".\(i)") }
            default: break
            }
        }
        var mirror: Mirror? = Mirror(reflecting: self)
        var fields: [(String, Any)] = []
        while let m = mirror {  // superclass fields first, in declaration order
            fields = m.children.compactMap { c in c.label.map { ($0, c.value) } } + fields
            mirror = m.superclassMirror
        }
        for (label, value) in fields { visit(value, prefix + label) }
        return out
    }

    /// The tensors an optimiser updates.
    public var parameters: [Tensor] { namedTensors().map(\.tensor).filter(\.requiresGrad) }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// A 2-D convolution layer with Kaiming-uniform initialisation (PyTorch's default).
public final class Conv2d: Module, @unchecked Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int = 3, stride: Int = 1,
                padding: Int? = nil, bias: Bool = true, rng: inout SeededRandom) {
        weight = Tensor(shape: [outChannels, inChannels, kernel, kernel], requiresGrad: true)
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        for i in 0..<weight.count { weight.data[i] = rng.uniform(-bound, bound) }
        if bias {
            let b = Tensor(shape: [outChannels], requiresGrad: true)
            for i in 0..<outChannels { b.data[i] = rng.uniform(-bound, bound) }
            self.bias = b
        } else {
            self.bias = nil
        }
        self.stride = stride
        self.padding = padding ?? kernel / 2
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try conv2d(x, weight, bias, stride: stride, padding: padding)
    }
}

/// A small, fast, seeded generator (SplitMix64) so runs and tests repeat exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    /// The whole state: `SeededRandom(seed: r.state)` continues `r`'s sequence.
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func uniform(_ lo: Float = 0, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    /// Standard normal by Box–Muller.
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

extension Tensor {
    /// A tensor of uniform random values in [lo, hi).
    public static func uniform(_ shape: [Int], _ lo: Float = 0, _ hi: Float = 1, rng: inout SeededRandom,
                               requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, requiresGrad: requiresGrad)
        for i in 0..<t.count { t.data[i] = rng.uniform(lo, hi) }
        return t
    }
}
