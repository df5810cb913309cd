import CFFmpeg

/// A value in [0, 1] as an 8-bit picture stores it, in levels 0…255.
@inlinable @inline(__always) public func eightBit(_ v: Float) -> Float { (min(max(v, 0), 1) * 255).rounded() }

/// A YUV↔RGB matrix and range, as tagged in a stream or chosen for one.
public struct ColorSpace: Equatable, Sendable, CustomStringConvertible {
    public enum Matrix: String, Sendable { case bt601, bt709, bt2020 }
    public var matrix: Matrix
    public var fullRange: Bool

    public init(matrix: Matrix, fullRange: Bool) { (self.matrix, self.fullRange) = (matrix, fullRange) }

    public var description: String { "\(matrix.rawValue) \(fullRange ? "full" : "limited") range" }

    /// What players assume for untagged video: BT.709 from 720 lines up, BT.601 below.
    public static func standard(height: Int) -> ColorSpace {
        ColorSpace(matrix: height >= 720 ? .bt709 : .bt601, fullRange: false)
    }

    var swsCoefficients: UnsafePointer<Int32> {
        let table = switch matrix {
        case .bt601: SWS_CS_ITU601
        case .bt709: SWS_CS_ITU709
        case .bt2020: SWS_CS_BT2020
        }
        return sws_getCoefficients(table)
    }

    var tag: AVColorSpace {
        switch matrix {
        case .bt601: AVCOL_SPC_SMPTE170M
        case .bt709: AVCOL_SPC_BT709
        case .bt2020: AVCOL_SPC_BT2020_NCL
        }
    }
}

/// The colour primaries and transfer characteristic a stream is tagged with
/// (FFmpeg's AVColorPrimaries and AVColorTransferCharacteristic values).
public struct ColorTags: Equatable, Sendable, CustomStringConvertible {
    public let primaries: AVColorPrimaries
    public let transfer: AVColorTransferCharacteristic

    /// High dynamic range: PQ (SMPTE ST 2084, HDR10) or HLG (ARIB STD-B67).
    public var isHDR: Bool { transfer == AVCOL_TRC_SMPTE2084 || transfer == AVCOL_TRC_ARIB_STD_B67 }
    /// Primaries beyond BT.709's (BT.2020, P3).
    public var isWideGamut: Bool { [AVCOL_PRI_BT2020, AVCOL_PRI_SMPTE431, AVCOL_PRI_SMPTE432].contains(primaries) }

    public var description: String {
        func name(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "unknown" }
        return "primaries \(name(av_color_primaries_name(primaries))), transfer \(name(av_color_transfer_name(transfer)))"
            + (isHDR ? " (HDR)" : "")
    }
}

/// HDR10's static metadata: the mastering display's colour volume (SMPTE ST
/// 2086) and the content light levels (CTA-861.3), as FFmpeg reads them.
public struct HDRMetadata: Sendable {
    var mastering: AVMasteringDisplayMetadata?
    var light: AVContentLightMetadata?

    /// Found in the stream's side data, or else in a decoded frame's.
    init?(stream: UnsafeMutablePointer<AVStream>, frame: UnsafePointer<AVFrame>?) {
        func side<T>(_ streamType: AVPacketSideDataType, _ frameType: AVFrameSideDataType, as: T.Type) -> T? {
            if let data = av_stream_get_side_data(stream, streamType, nil) {
                return UnsafeRawPointer(data).loadUnaligned(as: T.self)
            }
            guard let frame, let found = av_frame_get_side_data(frame, frameType) else { return nil }
            return UnsafeRawPointer(found.pointee.data).loadUnaligned(as: T.self)
        }
        mastering = side(AV_PKT_DATA_MASTERING_DISPLAY_METADATA, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA, as: AVMasteringDisplayMetadata.self)
        light = side(AV_PKT_DATA_CONTENT_LIGHT_LEVEL, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL, as: AVContentLightMetadata.self)
        if mastering.map({ $0.has_primaries == 0 && $0.has_luminance == 0 }) ?? true { mastering = nil }
        guard mastering != nil || light != nil else { return nil }
    }

    /// The same, as x265's `master-display` and `max-cll` parameters (chromaticities
    /// in units of 0.00002, luminance in 0.0001 cd/m², as HEVC's SEI carries them).
    var x265Parameters: String {
        var parts: [String] = []
        if let m = mastering, m.has_primaries != 0, m.has_luminance != 0 {
            func q(_ r: AVRational, _ unit: Double) -> Int { Int((av_q2d(r) * unit).rounded()) }
            let (r, g, b) = (m.display_primaries.0, m.display_primaries.1, m.display_primaries.2)
            parts.append("master-display=G(\(q(g.0, 50000)),\(q(g.1, 50000)))B(\(q(b.0, 50000)),\(q(b.1, 50000)))R(\(q(r.0, 50000)),\(q(r.1, 50000)))"
                         + "WP(\(q(m.white_point.0, 50000)),\(q(m.white_point.1, 50000)))L(\(q(m.max_luminance, 10000)),\(q(m.min_luminance, 10000)))")
        }
        if let l = light { parts.append("max-cll=\(l.MaxCLL),\(l.MaxFALL)") }
        return parts.joined(separator: ":")
    }

    /// Adds the metadata to an output stream, for containers that carry it (Matroska, MP4).
    func attach(to stream: UnsafeMutablePointer<AVStream>) {
        if var m = mastering, let data = av_stream_new_side_data(stream, AV_PKT_DATA_MASTERING_DISPLAY_METADATA, MemoryLayout<AVMasteringDisplayMetadata>.size) {
            withUnsafeBytes(of: &m) { UnsafeMutableRawPointer(data).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        if var l = light, let data = av_stream_new_side_data(stream, AV_PKT_DATA_CONTENT_LIGHT_LEVEL, MemoryLayout<AVContentLightMetadata>.size) {
            withUnsafeBytes(of: &l) { UnsafeMutableRawPointer(data).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
    }
}

/// The colour of decoded pictures, as an output should tag them: the
/// stream's, or SDR BT.709 once tone-mapped.
public struct PictureColor: Sendable {
    public var space: ColorSpace
    public var tags: ColorTags
    public var hdr: HDRMetadata?
}
