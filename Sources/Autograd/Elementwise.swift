// Binary elementwise ops with broadcasting of the second operand, and scaling.

/// How the second operand of a binary op lines up with the first: the same
/// shape, one value per channel of an NCHW-like tensor, or a single scalar.
/// Walked as runs over which b is either contiguous (step 1) or constant (step 0).
struct Broadcast {
    struct Run { let a: Int, b: Int, length: Int, bStep: Int }
    let runs: [Run]

    init(_ a: Tensor, _ b: Tensor, op: String) throws {
        if b.shape == a.shape {
            runs = Broadcast.split(a.count) { Run(a: $0.lowerBound, b: $0.lowerBound, length: $0.count, bStep: 1) }
        } else if b.count == 1 {
            runs = Broadcast.split(a.count) { Run(a: $0.lowerBound, b: 0, length: $0.count, bStep: 0) }
        } else if a.shape.count >= 2, b.shape.count == a.shape.count, b.shape[0] == a.shape[0], b.shape[1] == a.shape[1], a.shape[0] > 1,
                  b.shape.dropFirst(2).allSatisfy({ $0 == 1 }) {
            // One value per sample and channel ([n, c, 1, 1]: squeeze-and-excitation over a batch).
            let plane = a.shape.dropFirst(2).reduce(1, *)
            runs = (0..<a.shape[0] * a.shape[1]).map { Run(a: $0 * plane, b: $0, length: plane, bStep: 0) }
        } else if a.shape.count >= 2, b.count == a.shape[1],
                  b.shape.filter({ $0 != 1 }).count <= 1 {
            let (n, c) = (a.shape[0], a.shape[1])
            let plane = a.shape.dropFirst(2).reduce(1, *)
            runs = (0..<n * c).map { Run(a: $0 * plane, b: $0 % c, length: plane, bStep: 0) }
        } else {
            throw ShapeError("\(op): shapes \(a.shape) and \(b.shape) do not broadcast (same shape, one per sample and channel, one per channel, or a scalar)")
        }
    }

    /// Splits a flat range into one piece per core when it is large.
    private static func split(_ count: Int, _ make: (Range<Int>) -> Run) -> [Run] {
        let parts = min(Parallel.threads, max(1, count / (1 << 15)))
        return (0..<parts).map { p in make((count * p / parts)..<(count * (p + 1) / parts)) }
    }

    func forEach(_ body: (Run) -> Void) { Parallel.forEach(runs.count) { body(runs[$0]) } }

    /// Adds Σ_run f(run) into db[run.b ...], serially so runs sharing b don't race.
    func reduceIntoB(_ db: UnsafeMutablePointer<Float>, _ partial: (Run, UnsafeMutablePointer<Float>) -> Void) {
        if runs.first?.bStep == 1 {
            forEach { partial($0, db + $0.b) }  // disjoint slices of db
        } else {
            var sums = [Float](repeating: 0, count: runs.count)
            sums.withUnsafeMutableBufferPointer { s in
                let base = s.baseAddress!
                Parallel.forEach(runs.count) { partial(runs[$0], base + $0) }
            }
            for (run, s) in zip(runs, sums) { db[run.b] += s }
        }
    }
}

/// Adds dy·scale (with bStep 1) or Σ dy·scale (bStep 0) for one run.
@inline(__always)
private func accumulate(_ run: Broadcast.Run, _ dy: UnsafePointer<Float>, times other: UnsafePointer<Float>?,
                        sign: Float, into out: UnsafeMutablePointer<Float>) {
    let d = dy + run.a
    let o = other.map { $0 + run.a }
    if run.bStep == 1 {
        if let o { for i in 0..<run.length { out[i] += sign * d[i] * o[i] } } else { for i in 0..<run.length { out[i] += sign * d[i] } }
    } else {
        var s: Float = 0
        if let o { for i in 0..<run.length { s += d[i] * o[i] } } else { for i in 0..<run.length { s += d[i] } }
        out[0] += sign * s
    }
}

/// y = a + b (b broadcast).
public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try addOrSub(a, b, sign: 1, op: "add") }
/// y = a − b (b broadcast).
public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor { try addOrSub(a, b, sign: -1, op: "sub") }

private func addOrSub(_ a: Tensor, _ b: Tensor, sign: Float, op: String) throws -> Tensor {
    let bc = try Broadcast(a, b, op: op)
    let y = Tensor(shape: a.shape)
    bc.forEach { r in
        let (ya, aa, bb) = (y.data + r.a, a.data + r.a, b.data + r.b)
        for i in 0..<r.length { ya[i] = aa[i] + sign * bb[i * r.bStep] }
    }
    return y.recorded(from: [a, b]) { y in
        guard let dy = y.gradData else { return }
        if a.needsGrad { axpy(dy, into: a.gradBuffer(), count: a.count) }
        if b.needsGrad { bc.reduceIntoB(b.gradBuffer()) { r, db in accumulate(r, dy, times: nil, sign: sign, into: db) } }
    }
}

/// y = a · b elementwise (b broadcast).
public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let bc = try Broadcast(a, b, op: "mul")
    let y = Tensor(shape: a.shape)
    bc.forEach { r in
        let (ya, aa, bb) = (y.data + r.a, a.data + r.a, b.data + r.b)
        for i in 0..<r.length { ya[i] = aa[i] * bb[i * r.bStep] }
    }
    return y.recorded(from: [a, b]) { y in
        guard let dy = y.gradData else { return }
        if a.needsGrad {  // da = dy · b
            let da = a.gradBuffer()
            bc.forEach { r in
                let (g, d, bb) = (da + r.a, dy + r.a, b.data + r.b)
                for i in 0..<r.length { g[i] += d[i] * bb[i * r.bStep] }
            }
        }
        if b.needsGrad {  // db = Σ dy · a
            bc.reduceIntoB(b.gradBuffer()) { r, db in accumulate(r, dy, times: a.data, sign: 1, into: db) }
        }
    }
}

/// y = s · x.
public func scale(_ x: Tensor, _ s: Float) -> Tensor {
    let y = Tensor(shape: x.shape)
    Parallel.chunks(x.count) { r in for i in r { y.data[i] = s * x.data[i] } }
    return y.recorded(from: [x]) { y in
        guard let dy = y.gradData else { return }
        axpy(dy, into: x.gradBuffer(), count: x.count, alpha: s)
    }
}

public func + (a: Tensor, b: Tensor) throws -> Tensor { try add(a, b) }
public func - (a: Tensor, b: Tensor) throws -> Tensor { try sub(a, b) }
public func * (a: Tensor, b: Tensor) throws -> Tensor { try mul(a, b) }
public func * (a: Tensor, s: Float) -> Tensor { scale(a, s) }
