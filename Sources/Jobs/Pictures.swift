import Autograd
import Foundation
import Networks
import Quality
import Training

// Pictures for people to look at: split views, montages, labels, and where to crop.

/// A split view for sharing: the left half from `left`, the right half from
/// `right` (both [1, 3, h, w]), a white divider, and a label on each side.
public func splitView(left: Tensor, right: Tensor, leftLabel: String, rightLabel: String) -> Tensor {
    let (h, w) = (left.shape[2], left.shape[3])
    let out = Tensor(shape: left.shape)
    let half = w / 2
    for c in 0..<3 {
        for y in 0..<h {
            let row = (c * h + y) * w
            (out.data + row).update(from: left.data + row, count: half)
            (out.data + row + half).update(from: right.data + row + half, count: w - half)
            for x in max(0, half - 1)..<min(w, half + 1) { out.data[row + x] = 1 }
        }
    }
    let k = max(2, h / 180)  // glyph pixel size
    draw(leftLabel, on: out, x: 4 * k, y: 4 * k, size: k)
    draw(rightLabel, on: out, x: w - 4 * k - rightLabel.count * 6 * k, y: 4 * k, size: k)
    return out
}

/// Panels of one size side by side, each zoomed `zoom`× by pixel repetition
/// (nearest neighbour, so no filter hides what a method did) and labelled,
/// with a white gap between them.
public func montage(_ panels: [(label: String, image: Tensor)], zoom: Int) -> Tensor {
    let (h, w) = (panels[0].image.shape[2], panels[0].image.shape[3])
    let (ph, pw, gap) = (h * zoom, w * zoom, 4)
    let width = panels.count * pw + (panels.count - 1) * gap
    let out = Tensor(shape: [1, 3, ph, width])
    out.fill(1)
    for (n, panel) in panels.enumerated() {
        let x0 = n * (pw + gap)
        for c in 0..<3 { for y in 0..<ph { for x in 0..<pw {
            out.data[(c * ph + y) * width + x0 + x] = panel.image.data[(c * h + y / zoom) * w + x / zoom]
        }}}
        draw(panel.label, on: out, x: x0 + 6, y: 6, size: 2)
    }
    return out
}

/// 5×7 glyphs for the labels Hone draws, one row per string, '#' lit.
private let glyphs: [Character: [String]] = [
    "B": ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
    "I": [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "C": [".####", "#....", "#....", "#....", "#....", "#....", ".####"],
    "U": ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "H": ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "O": [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "N": ["#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"],
    "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
    "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
    "F": ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
    "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
    "D": ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
    "P": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
    "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
    "G": [".####", "#....", "#....", "#.###", "#...#", "#...#", ".###."],
    "L": ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
    "Z": ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
    "K": ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
    "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
    "V": ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
    "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "##.##", "#...#"],
    "X": ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
    "Y": ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
    "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    "3": ["####.", "....#", "....#", ".###.", "....#", "....#", "####."],
    "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    "6": [".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."],
    "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    "9": [".###.", "#...#", "#...#", ".####", "....#", "....#", ".###."],
    "-": [".....", ".....", ".....", ".###.", ".....", ".....", "....."],
    "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
    ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
    ",": [".....", ".....", ".....", ".....", ".##..", ".##..", ".#..."],
    "/": ["....#", "....#", "...#.", "..#..", ".#...", "#....", "#...."],
]

/// White text with a dark shadow (or text in `color`, RGB in [0, 1], without one), `size` image pixels per glyph pixel.
private func draw(_ text: String, on image: Tensor, x: Int, y: Int, size k: Int, color: [Float]? = nil) {
    let (h, w) = (image.shape[2], image.shape[3])
    for (shadow, value) in color == nil ? [(k, [Float](repeating: 0, count: 3)), (0, [1, 1, 1])] : [(0, color!)] {
        for (i, ch) in text.uppercased().enumerated() {
            guard let rows = glyphs[ch] else { continue }
            for (r, row) in rows.enumerated() {
                for (q, bit) in row.enumerated() where bit == "#" {
                    for dy in 0..<k { for dx in 0..<k {
                        let (py, px) = (y + r * k + dy + shadow, x + (i * 6 + q) * k + dx + shadow)
                        guard py < h, px < w, px >= 0 else { continue }
                        for c in 0..<3 { image.data[(c * h + py) * w + px] = value[c] }
                    }}
                }
            }
        }
    }
}

/// A rate-distortion plot for a report: Y-PSNR (dB) against rate (kbit/s, log
/// scale), one coloured line with dots per series, a legend, and labelled ticks.
/// - Returns: a [1, 3, 600, 900] picture in [0, 1], white background.
public func rateDistortionPlot(_ series: [(label: String, points: [(kbps: Double, psnr: Double)])]) -> Tensor {
    let (h, w) = (600, 900)
    let (left, right, top, bottom) = (90, 30, 30, 70)
    let out = Tensor(shape: [1, 3, h, w])
    out.fill(1)
    let all = series.flatMap(\.points)
    guard !all.isEmpty else { return out }
    let (x0, x1) = (log10(all.map(\.kbps).min()!) - 0.05, log10(all.map(\.kbps).max()!) + 0.05)
    let (y0, y1) = ((all.map(\.psnr).min()! - 0.5).rounded(.down), (all.map(\.psnr).max()! + 0.5).rounded(.up))
    func px(_ kbps: Double) -> Int { left + Int(Double(w - left - right) * (log10(kbps) - x0) / (x1 - x0)) }
    func py(_ psnr: Double) -> Int { h - bottom - Int(Double(h - top - bottom) * (psnr - y0) / (y1 - y0)) }
    func dot(_ x: Int, _ y: Int, _ color: [Float], radius: Int) {
        for dy in -radius...radius { for dx in -radius...radius where (0..<w).contains(x + dx) && (0..<h).contains(y + dy) {
            for c in 0..<3 { out.data[(c * h + y + dy) * w + x + dx] = color[c] }
        }}
    }
    func line(_ a: (Int, Int), _ b: (Int, Int), _ color: [Float], radius: Int = 1) {
        let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for k in 0...steps { dot(a.0 + (b.0 - a.0) * k / steps, a.1 + (b.1 - a.1) * k / steps, color, radius: radius) }
    }
    let (ink, grid): ([Float], [Float]) = ([0.1, 0.1, 0.1], [0.88, 0.88, 0.88])
    for decade in Int(x0.rounded(.down))...Int(x1.rounded(.up)) {
        for m in [1.0, 2.0, 5.0] {
            let kbps = m * pow(10, Double(decade))
            guard (x0...x1).contains(log10(kbps)) else { continue }
            line((px(kbps), top), (px(kbps), h - bottom), grid, radius: 0)
            let label = kbps >= 1 ? String(format: "%.0f", kbps) : String(format: "%.1f", kbps)
            draw(label, on: out, x: px(kbps) - label.count * 6, y: h - bottom + 10, size: 2, color: ink)
        }
    }
    for db in stride(from: y0, through: y1, by: (y1 - y0) > 12 ? 2 : 1) {
        line((left, py(db)), (w - right, py(db)), grid, radius: 0)
        let label = String(format: "%.0f", db)
        draw(label, on: out, x: left - 12 - label.count * 12, y: py(db) - 7, size: 2, color: ink)
    }
    line((left, top), (left, h - bottom), ink, radius: 0)
    line((left, h - bottom), (w - right, h - bottom), ink, radius: 0)
    draw("kbit/s", on: out, x: (w - 72) / 2, y: h - 30, size: 2, color: ink)
    draw("Y-PSNR dB", on: out, x: 8, y: 8, size: 2, color: ink)
    let palette: [[Float]] = [[0.85, 0.2, 0.1], [0.1, 0.4, 0.85], [0.2, 0.65, 0.2], [0.55, 0.3, 0.7], [0.9, 0.6, 0.1]]
    for (n, s) in series.enumerated() {
        let color = palette[n % palette.count]
        let points = s.points.sorted { $0.kbps < $1.kbps }.map { (px($0.kbps), py($0.psnr)) }
        for (a, b) in zip(points, points.dropFirst()) { line(a, b, color) }
        for p in points { dot(p.0, p.1, color, radius: 4) }
        let y = h - bottom - 30 - 24 * (series.count - 1 - n)
        line((w - right - 330, y + 7), (w - right - 300, y + 7), color, radius: 2)
        draw(s.label, on: out, x: w - right - 290, y: y, size: 2, color: color)
    }
    return out
}

/// A width×height window of a [1, 3, h, w] image.
public func region(_ t: Tensor, x: Int, y: Int, width: Int, height: Int) -> Tensor {
    let (channels, h, w) = (t.shape[1], t.shape[2], t.shape[3])
    let out = Tensor(shape: [1, channels, height, width])
    for c in 0..<channels { for r in 0..<height {
        (out.data + (c * height + r) * width).update(from: t.data + (c * h + y + r) * w + x, count: width)
    }}
    return out
}

/// Top-left corner of the side×side window (on a half-window grid) with the
/// largest sum of absolute green-channel differences: where edges, and so
/// halos and lost detail, are.
public func busiestWindow(_ image: Tensor, side: Int) -> (x: Int, y: Int) {
    let (h, w) = (image.shape[2], image.shape[3])
    let g = image.data + h * w
    var best = (score: -1.0, x: 0, y: 0)
    let step = max(1, side / 2)
    for y in Swift.stride(from: 0, through: h - side, by: step) {
        for x in Swift.stride(from: 0, through: w - side, by: step) {
            var score = 0.0
            for r in y..<(y + side - 1) { for q in x..<(x + side - 1) {
                score += Double(abs(g[r * w + q + 1] - g[r * w + q]) + abs(g[(r + 1) * w + q] - g[r * w + q]))
            }}
            if score > best.score { best = (score, x, y) }
        }
    }
    return (best.x, best.y)
}
