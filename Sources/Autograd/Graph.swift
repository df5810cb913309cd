/// One recorded op: the tensors it read and how to send its output's
/// gradient back to them.
final class Node {
    let parents: [Tensor]
    let backward: (Tensor) -> Void
    init(parents: [Tensor], backward: @escaping (Tensor) -> Void) {
        self.parents = parents
        self.backward = backward
    }
}

public enum Grad {
    /// Off inside `Grad.disabled { }`: ops then record nothing (inference).
    @TaskLocal public static var isEnabled = true

    public static func disabled<R>(_ body: () throws -> R) rethrows -> R {
        try $isEnabled.withValue(false, operation: body)
    }
}

extension Tensor {
    /// Attaches `backward` to this op output when gradients are on and some
    /// input needs one; otherwise records nothing.
    func recorded(from parents: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        if Grad.isEnabled, parents.contains(where: { $0.needsGrad }) {
            node = Node(parents: parents, backward: backward)
        }
        return self
    }

    /// Reverse-mode pass from a scalar: fills `gradData` of every tensor that
    /// needs a gradient, adding to what is there. The graph is freed after.
    public func backward() throws {
        guard count == 1 else { throw ShapeError("backward() needs a scalar loss, got shape \(shape)") }
        // Topological order by iterative DFS (models can be deep).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted, let node = t.node else { continue }
            stack.append((t, true))
            for p in node.parents where p.node != nil { stack.append((p, false)) }
        }
        gradBuffer()[0] += 1
        for t in order.reversed() {
            t.node?.backward(t)
            t.node = nil
            // Intermediate gradients are not needed once passed on.
            if !t.requiresGrad, t !== self, let g = t.gradData { g.deallocate(); t.gradData = nil }
        }
    }
}
