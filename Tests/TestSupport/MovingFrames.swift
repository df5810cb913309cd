import Autograd
import Foundation
import Training

extension FrameCache {
    /// A `width`×`height`, `count`-frame clip made in memory: patterns that move a pixel a frame.
    /// - Throws: what `FrameCache` throws for its scratch files.
    public static func moving(count: Int = 12, width: Int = 32, height: Int = 24) throws -> FrameCache {
        var k = 0
        return try FrameCache(source: "generated") {
            guard k < count else { return nil }
            let t = Tensor(shape: [1, 3, height, width])
            for c in 0..<3 { for y in 0..<height { for x in 0..<width {
                t.data[(c * height + y) * width + x] = 0.5 + 0.4 * sin(Float(x + k) * 0.7 + Float(c)) * cos(Float(y) * 0.45 - Float(k) * 0.2)
            }}}
            k += 1
            return t
        }
    }
}
