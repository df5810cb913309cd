import Autograd

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
    "-": [".....", ".....", ".....", ".###.", ".....", ".....", "....."],
]

/// White text with a dark shadow, `size` image pixels per glyph pixel.
private func draw(_ text: String, on image: Tensor, x: Int, y: Int, size k: Int) {
    let (h, w) = (image.shape[2], image.shape[3])
    for (shadow, value) in [(k, Float(0)), (0, Float(1))] {
        for (i, ch) in text.uppercased().enumerated() {
            guard let rows = glyphs[ch] else { continue }
            for (r, row) in rows.enumerated() {
                for (q, bit) in row.enumerated() where bit == "#" {
                    for dy in 0..<k { for dx in 0..<k {
                        let (py, px) = (y + r * k + dy + shadow, x + (i * 6 + q) * k + dx + shadow)
                        guard py < h, px < w, px >= 0 else { continue }
                        for c in 0..<3 { image.data[(c * h + py) * w + px] = value }
                    }}
                }
            }
        }
    }
}

/// A width×height window of a [1, 3, h, w] image.
public func region(_ t: Tensor, x: Int, y: Int, width: Int, height: Int) -> Tensor {
    let (h, w) = (t.shape[2], t.shape[3])
    let out = Tensor(shape: [1, 3, height, width])
    for c in 0..<3 { for r in 0..<height {
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
