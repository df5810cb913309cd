import Foundation
import Networks

/// One encoding of a video: its rate (bytes, or kbit/s: any unit, the same
/// for every point compared) and its Y-PSNR (dB) against the truth.
public struct RatePoint: Codable, Sendable, Equatable {
    public let rate: Double, psnr: Double
    public init(rate: Double, psnr: Double) { (self.rate, self.psnr) = (rate, psnr) }
}

/// Bjøntegaard deltas between two rate-distortion curves (G. Bjøntegaard,
/// "Calculation of average PSNR differences between RD-curves", VCEG-M33,
/// 2001): each curve is fitted by a cubic polynomial by least squares (log
/// rate against PSNR, or PSNR against log rate), and the fits' mean difference
/// is taken over the interval both curves cover. This is the original
/// polynomial fit, as in the `bjontegaard` package's `method='cubic'`.
public enum Bjontegaard {
    /// The test's mean rate difference from the anchor at equal PSNR, in percent
    /// (−20: the test needs 20% fewer bytes for the same quality).
    /// nil when a curve has fewer than 4 points or the curves share no PSNR range.
    public static func rate(anchor: [RatePoint], test: [RatePoint]) -> Double? {
        meanDifference(anchor.map { ($0.psnr, log10($0.rate)) }, test.map { ($0.psnr, log10($0.rate)) })
            .map { (pow(10, $0) - 1) * 100 }
    }

    /// The test's mean PSNR difference from the anchor at equal rate, in dB.
    /// nil when a curve has fewer than 4 points or the curves share no rate range.
    public static func psnr(anchor: [RatePoint], test: [RatePoint]) -> Double? {
        meanDifference(anchor.map { (log10($0.rate), $0.psnr) }, test.map { (log10($0.rate), $0.psnr) })
    }

    /// The mean of (test fit − anchor fit) of y over the x range both cover.
    static func meanDifference(_ anchor: [(x: Double, y: Double)], _ test: [(x: Double, y: Double)]) -> Double? {
        guard anchor.count >= 4, test.count >= 4, let a = CubicFit(anchor), let t = CubicFit(test) else { return nil }
        let lo = max(anchor.map(\.x).min()!, test.map(\.x).min()!), hi = min(anchor.map(\.x).max()!, test.map(\.x).max()!)
        guard hi > lo else { return nil }
        return (t.integral(lo, hi) - a.integral(lo, hi)) / (hi - lo)
    }

    /// The rate at which `test` starts to need more bytes than `anchor` for the
    /// same PSNR, going up from the lowest rate both reach (piecewise linear in
    /// log rate); nil when one curve is better over the whole shared range.
    public static func crossover(anchor: [RatePoint], test: [RatePoint]) -> Double? {
        func psnr(_ curve: [RatePoint], at logRate: Double) -> Double {
            let c = curve.sorted { $0.rate < $1.rate }
            for (p, q) in zip(c, c.dropFirst()) where log10(q.rate) >= logRate {
                let (x0, x1) = (log10(p.rate), log10(q.rate))
                return p.psnr + (q.psnr - p.psnr) * (logRate - x0) / max(x1 - x0, 1e-12)
            }
            return c.last!.psnr
        }
        guard anchor.count >= 2, test.count >= 2 else { return nil }
        let lo = log10(max(anchor.map(\.rate).min()!, test.map(\.rate).min()!))
        let hi = log10(min(anchor.map(\.rate).max()!, test.map(\.rate).max()!))
        guard hi > lo else { return nil }
        let steps = 400
        var previous = psnr(test, at: lo) - psnr(anchor, at: lo)
        for k in 1...steps {
            let x = lo + (hi - lo) * Double(k) / Double(steps)
            let gap = psnr(test, at: x) - psnr(anchor, at: x)
            if gap.sign != previous.sign { return pow(10, x) }
            previous = gap
        }
        return nil
    }
}

/// y ≈ Σₖ cₖ (x − μ)ᵏ, k = 0…3, by least squares; centred on the mean x for a well-conditioned solve.
struct CubicFit {
    let mean: Double
    let c: [Double]

    init?(_ points: [(x: Double, y: Double)]) {
        let mean = points.map(\.x).reduce(0, +) / Double(points.count)
        self.mean = mean
        // Normal equations AᵀA c = Aᵀy, solved by Gaussian elimination with partial pivoting.
        var m = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 4)
        for (x, y) in points {
            let powers = (0..<4).map { pow(x - mean, Double($0)) }
            for r in 0..<4 {
                for q in 0..<4 { m[r][q] += powers[r] * powers[q] }
                m[r][4] += powers[r] * y
            }
        }
        for col in 0..<4 {
            let pivot = (col..<4).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            guard abs(m[pivot][col]) > 1e-12 else { return nil }
            m.swapAt(col, pivot)
            for r in 0..<4 where r != col {
                let f = m[r][col] / m[col][col]
                for q in col..<5 { m[r][q] -= f * m[col][q] }
            }
        }
        c = (0..<4).map { m[$0][4] / m[$0][$0] }
    }

    /// ∫ from a to b.
    func integral(_ a: Double, _ b: Double) -> Double {
        var total = 0.0
        for k in 0..<4 {
            let power = Double(k + 1)
            total += c[k] / power * (pow(b - mean, power) - pow(a - mean, power))
        }
        return total
    }
}
