import COpenBLAS
import Foundation

/// Errors the engine reports instead of trapping, so a caller (a CLI, a test)
/// can turn them into one clear line.
public struct ShapeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A Float32 tensor: contiguous row-major storage (NCHW for images) in an
/// unsafe buffer that ops write in place, plus what reverse-mode autodiff needs.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    /// Gradient of the loss with respect to this tensor, allocated on first use.
    public internal(set) var gradData: UnsafeMutablePointer<Float>?
    /// Leaves that want gradients (parameters) set this; op outputs get a node.
    public var requiresGrad: Bool
    var node: Node?

    public init(shape: [Int], requiresGrad: Bool = false) {
        _ = Engine.configured
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = .allocate(capacity: Swift.max(count, 1))
        self.requiresGrad = requiresGrad
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, requiresGrad: requiresGrad)
        data.initialize(repeating: 0, count: count)
    }

    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) throws {
        let n = shape.reduce(1, *)
        guard values.count == n else {
            throw ShapeError("\(values.count) values do not fill shape \(shape) (\(n) elements)")
        }
        self.init(shape: shape, requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    }

    /// A scalar tensor (shape []).
    public convenience init(scalar: Float) {
        self.init(shape: [])
        data[0] = scalar
    }

    deinit {
        data.deallocate()
        gradData?.deallocate()
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public var grad: [Float]? { gradData.map { Array(UnsafeBufferPointer(start: $0, count: count)) } }
    public var item: Float { data[0] }

    /// True when a backward pass must produce this tensor's gradient.
    public var needsGrad: Bool { requiresGrad || node != nil }

    /// The gradient buffer, zero-filled on first use, for backward kernels to add into.
    public func gradBuffer() -> UnsafeMutablePointer<Float> {
        if let g = gradData { return g }
        let g = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
        g.initialize(repeating: 0, count: count)
        gradData = g
        return g
    }

    public func zeroGrad() { gradData?.update(repeating: 0, count: count) }

    /// Same values, no history: the start of a new graph.
    public func detached() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// A copy of the values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw ShapeError("cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let y = Tensor(shape: newShape)
        y.data.update(from: data, count: count)
        return y.recorded(from: [self]) { y in
            guard self.needsGrad, let dy = y.gradData else { return }
            axpy(dy, into: self.gradBuffer(), count: self.count)
        }
    }

    /// Dimensions of a 4-D NCHW tensor, or a ShapeError naming the op.
    func nchw(_ op: String) throws -> (n: Int, c: Int, h: Int, w: Int) {
        guard shape.count == 4 else { throw ShapeError("\(op) expects an NCHW tensor, got shape \(shape)") }
        return (shape[0], shape[1], shape[2], shape[3])
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}

/// y += x over `count` floats.
@inline(__always)
func axpy(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, alpha: Float = 1) {
    cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
}

/// Σ x over `count` floats, in 16 lanes: a plain loop would add one at a time,
/// since float addition may not be reordered without permission.
func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD16<Float>()
    let whole = count / 16 * 16
    for i in Swift.stride(from: 0, to: whole, by: 16) { lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) }
    var rest: Float = 0
    for i in whole..<count { rest += x[i] }
    return lanes.sum() + rest
}

/// Process-wide set-up, done once before the first tensor exists.
enum Engine {
    static let configured: Void = {
        // Our ops split work over the cores themselves; a second layer of BLAS
        // threads would only oversubscribe them.
        openblas_set_num_threads(1)
        // Keep freed activations in the heap for reuse rather than returning
        // them to the kernel and page-faulting them back in on the next step.
        mallopt(M_MMAP_THRESHOLD, 1 << 30)
        mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }()
}
