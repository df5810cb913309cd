import Autograd

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
