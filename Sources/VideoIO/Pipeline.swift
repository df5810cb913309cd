import Autograd
import CFFmpeg
import Foundation

/// What a finished run did.
public struct PipelineReport: Sendable {
    public let frames: Int
    /// Wall time of the whole run, and the part of it spent in `enhance`.
    public let seconds: Double, enhanceSeconds: Double
    public let warnings: [String]
}

/// A second video written beside the output, of the same size, timing and
/// streams: each frame composed from the decoded input frame and its enhanced
/// version ([1, 3, h, w] and [1, 3, h·scale, w·scale] in [0, 1]), e.g. a split view.
public struct SecondView {
    public let path: String
    public let compose: (_ original: Tensor, _ enhanced: Tensor) throws -> Tensor
    public init(path: String, compose: @escaping (_ original: Tensor, _ enhanced: Tensor) throws -> Tensor) {
        (self.path, self.compose) = (path, compose)
    }
}

/// The path of every frame: decode → RGB tensor → `enhance` → RGB tensor →
/// encode, at the size `resize` gives (`outputSize`), while the input's audio and subtitles pass through. The three
/// stages run at once on their own threads — decoding ahead and encoding
/// behind the caller's thread, which runs `enhance` — joined by short queues,
/// so only a few frames are ever in memory. `secondView` is composed and
/// encoded on the encoding thread. Nothing appears under either name unless
/// the whole run succeeds; `progress` may throw (e.g. on Ctrl-C) to stop it cleanly.
/// With a `segment`, only its frames are written, video alone, tagged for
/// `joinSegments` (`method` names what enhanced them, so segments of other runs are refused).
/// With a `resume` plan, the frames go into its parts, starting after those an
/// earlier run finished, and the parts are then put together into `output`.
/// `enhance` sees each frame with up to `radius` frames either side (a multi-frame
/// model's window): frames are enhanced `radius` frames behind decoding, and only
/// the window's frames are kept.
/// - Throws: `VideoIOError` naming the file that failed, or what `enhance` or `progress` threw.
public func enhanceVideo(input: String, output: String, resize: ResizeFactor, settings: EncoderSettings = EncoderSettings(),
                         decoding: DecodingOptions = DecodingOptions(), secondView: SecondView? = nil,
                         segment: (part: VideoSegment, index: FrameIndex, method: String)? = nil, resume: ResumePlan? = nil, radius: Int = 0,
                         enhance: (FrameWindow) throws -> Tensor,
                         progress: (_ done: Int, _ total: Int) throws -> Void) throws -> PipelineReport {
    let start = Date()
    if let resume, resume.reused == resume.parts.count {
        let warnings = try assemble(resume, input: input, output: output, resize: resize, settings: settings, decoding: decoding)
        return PipelineReport(frames: 0, seconds: Date().timeIntervalSince(start), enhanceSeconds: 0, warnings: warnings)
    }
    var options = decoding
    options.span = segment?.part.span ?? resume?.span(radius: radius)
    let reader = try VideoReader(input, options: options)
    let (w, h) = outputSize(width: reader.info.width, height: reader.info.height, resize)
    // Frames decoded before the first to run, for its window only (a resumed multi-frame run).
    var context = resume?.start(radius: radius).context ?? 0
    let expected = resume.map { $0.index.count - $0.start(radius: radius).first } ?? reader.expectedFrames
    // The first frame is decoded before the outputs exist: its colour and HDR metadata
    // decide their encoder. Packets of other streams read on the way wait with it.
    var early: [Item] = []
    defer { early.forEach { $0.free() } }
    guard let first = try reader.next(other: { packet in
        guard let copy = av_packet_clone(packet) else { throw VideoIOError.failed(input, "out of memory") }
        early.append(.packet(copy))
    }) else { throw VideoIOError.failed(input, "has no video frames that can be decoded") }
    early.append(.frame(first, original: first.image))
    let color = resume?.color ?? reader.pictureColor
    let tags = segment.map { SegmentTag.tags(for: $0.part, source: input, index: $0.index, method: $0.method, decoding: decoding) } ?? [:]
    let out: FrameSink
    if let resume {
        // The output is checked now: a whole run is not spent on parts it cannot take.
        let (target, _) = try MediaOutput.check(output, frames: resume.index.count, width: w, height: h, codec: settings.codec(for: color))
        // Each part's pixels are turned as the output's will be; its rotation tag is the output's own.
        let turnsPixels = !MediaOutput.holdsRotation(target.formatName)
        out = PartWriter(resume) { [input = reader.input] path, tags in
            try MediaOutput(path, input: input, width: w, height: h, settings: settings, color: color, videoOnly: true,
                            turnsPixels: turnsPixels, tags: tags)
        }
    } else {
        out = try MediaOutput(output, input: reader.input, width: w, height: h, settings: settings, color: color,
                              videoOnly: segment != nil, turnsPixels: segment == nil, tags: tags)
    }
    let compare = try secondView.map { try MediaOutput($0.path, input: reader.input, width: w, height: h, settings: settings, color: color) }
    // Up to 4 frames wait between stages, fewer when large: one 3840×2160
    // Float32 frame is 100 MB, and x264 needs about 1 GB beside them.
    func capacity(_ width: Int, _ height: Int) -> Int { max(1, min(4, (128 << 20) / (width * height * 3 * 4))) }
    let decoded = Channel<Item>(capacity: capacity(reader.info.width, reader.info.height))
    let enhanced = Channel<Item>(capacity: capacity(w, h))
    let failure = FirstError()
    func stop(_ error: Error) { failure.record(error); decoded.cancel(); enhanced.cancel() }

    let decoder = Stage {
        do {
            while let item = early.first {
                early.removeFirst()
                guard decoded.put(item) else { item.free(); return }
            }
            while let frame = try reader.next(other: { packet in
                guard let copy = av_packet_clone(packet) else { throw VideoIOError.failed(input, "out of memory") }
                guard decoded.put(.packet(copy)) else { var p: UnsafeMutablePointer<AVPacket>? = copy; av_packet_free(&p); return }
            }) {
                guard decoded.put(.frame(frame, original: frame.image)) else { return }
            }
            decoded.close()
        } catch { stop(error) }
    }
    let encoder = Stage {
        do {
            while let item = enhanced.take() {
                switch item {
                case .packet(let packet):
                    defer { var p: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&p) }
                    try out.pass(packet)
                    try compare?.pass(packet)
                case .frame(let frame, let original):
                    try out.write(frame.image, alpha: frame.alpha, pts: frame.pts, duration: frame.duration)
                    if let compare, let secondView {
                        try compare.write(try secondView.compose(original, frame.image), pts: frame.pts, duration: frame.duration)
                    }
                }
            }
        } catch { stop(error) }
    }

    var frames = 0, enhanceSeconds = 0.0
    // The decoded frames a window still needs: up to `radius` enhanced ones, then `waiting` ones not yet enhanced.
    var held: [Frame] = [], waiting = 0
    /// Enhances the oldest waiting frame; false when the encoder has stopped.
    func enhanceNext() throws -> Bool {
        let centre = held.count - waiting
        let frame = held[centre]
        let t = Date()
        let result = try enhance(FrameWindow(frames: held[..<min(held.count, centre + radius + 1)].map(\.image), centre: centre))
        enhanceSeconds += Date().timeIntervalSince(t)
        waiting -= 1
        held.removeFirst(max(0, held.count - waiting - radius))
        // Opacity is not the model's to guess: it is enlarged by the classical kernel (a reduced video is H.264, without it).
        let alpha = try frame.alpha.flatMap { alpha in try resize.isUp ? resizeBicubic(alpha, resize) : nil }
        guard enhanced.put(.frame(Frame(pts: frame.pts, duration: frame.duration, image: result, alpha: alpha), original: frame.image)) else { return false }
        frames += 1
        try progress(frames, max(frames, expected))
        return true
    }
    do {
        var open = true
        while open, let item = decoded.take() {
            guard case .frame(let frame, _) = item else { open = enhanced.put(item); continue }
            held.append(frame)
            if context > 0 { context -= 1; continue }
            waiting += 1
            if waiting > radius { open = try enhanceNext() }
        }
        // The last frames, whose windows end with the stream.
        while open, waiting > 0 { open = try enhanceNext() }
        enhanced.close()
    } catch { stop(error) }
    decoder.join()
    encoder.join()
    decoded.drain { $0.free() }
    enhanced.drain { $0.free() }
    do {
        if let error = failure.error { throw error }
        guard frames > 0 else { throw VideoIOError.failed(input, "has no video frames that can be decoded") }
        try out.finish()
        try compare?.finish()
    } catch {
        out.abort()
        compare?.abort()
        throw error
    }
    let warnings = try resume.map { try assemble($0, input: input, output: output, resize: resize, settings: settings, decoding: decoding) }
    return PipelineReport(frames: frames, seconds: Date().timeIntervalSince(start), enhanceSeconds: enhanceSeconds,
                          warnings: reader.notes + [reader.damage].compactMap { $0 } + (warnings ?? out.warnings))
}

/// Puts the finished parts of `plan` together into `output` with the input's
/// other streams, then deletes them; returns what could not be carried over.
private func assemble(_ plan: ResumePlan, input: String, output: String, resize: ResizeFactor, settings: EncoderSettings,
                      decoding: DecodingOptions) throws -> [String] {
    let source = try MediaInput(input, frameRate: decoding.frameRate)
    let (w, h) = outputSize(width: source.info.width, height: source.info.height, resize)
    let out = try MediaOutput(output, input: source, width: w, height: h, settings: settings, color: plan.color)
    do {
        try joinParts(plan, source: source, output: out)
        try out.finish()
    } catch {
        out.abort()
        throw error
    }
    plan.removeParts()
    return out.warnings
}

/// A frame with the decoded frames around it, oldest first: up to the
/// window's radius either side, fewer at the stream's ends.
public struct FrameWindow {
    /// [1, 3, h, w] each, in [0, 1].
    public let frames: [Tensor]
    /// Where the frame itself is in `frames`.
    public let centre: Int
    public var image: Tensor { frames[centre] }

    public init(frames: [Tensor], centre: Int) { (self.frames, self.centre) = (frames, centre) }
    /// A picture alone.
    public init(_ image: Tensor) { self.init(frames: [image], centre: 0) }
    /// The window of `radius` around picture `index` of `count`, read by `frame`.
    public init(around index: Int, count: Int, radius: Int, frame: (Int) throws -> Tensor) rethrows {
        let range = max(0, index - radius)..<min(count, index + radius + 1)
        self.init(frames: try range.map(frame), centre: index - range.lowerBound)
    }
}

/// The size of a video's pictures after `resize`: ×s, or ÷s with each side
/// rounded down to an even number, as 4:2:0 video needs (the frames are cropped
/// at the right and bottom to s times that before shrinking).
public func outputSize(width: Int, height: Int, _ resize: ResizeFactor) -> (width: Int, height: Int) {
    switch resize {
    case .up(let s): (width * s, height * s)
    case .down(let s): (width / (2 * s) * 2, height / (2 * s) * 2)
    }
}

/// What travels between the stages: a video frame (with the decoded original,
/// for the second view), or a packet of another stream, cloned.
private enum Item {
    case frame(Frame, original: Tensor)
    case packet(UnsafeMutablePointer<AVPacket>)

    func free() {
        if case .packet(let packet) = self { var p: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&p) }
    }
}

/// A bounded FIFO between two threads. `close` ends it once drained;
/// `cancel` ends it at once, for errors.
final class Channel<T>: @unchecked Sendable {
    private var items: [T] = []
    private var closed = false, cancelled = false
    private let capacity: Int
    private let condition = NSCondition()

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; false if the channel was cancelled or closed.
    func put(_ item: T) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once the channel is closed and empty.
    func take() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty, !cancelled else { return nil }
        condition.broadcast()
        return items.removeFirst()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the channel at once, leaving what is queued for `drain`.
    func cancel() {
        condition.lock()
        (closed, cancelled) = (true, true)
        condition.broadcast()
        condition.unlock()
    }

    /// Hands over what is left after the threads have stopped.
    func drain(_ body: (T) -> Void) {
        condition.lock()
        let left = items
        items = []
        condition.unlock()
        left.forEach(body)
    }
}

/// The first error any stage raised.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?
    func record(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
}

/// A thread running `body` once; `join` waits for it. The stages share
/// non-Sendable FFmpeg wrappers, each used by one thread only.
private final class Stage: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private struct Body: @unchecked Sendable { let run: () -> Void }
    init(_ body: @escaping () -> Void) {
        let work = Body(run: body)
        let thread = Thread { [done] in work.run(); done.signal() }
        thread.stackSize = 8 << 20
        thread.start()
    }
    func join() { done.wait() }
}
