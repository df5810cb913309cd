import Networks
import Quality

extension DamageEstimate {
    /// The degradation a ×1 fine-tune on this video trains with: the video's own
    /// damage made a little worse, so that the network learns to undo that much.
    /// Compression: x264 at a CRF 1–6 above the stream's mean QP (x264's CRF and
    /// QP run close: CRF 23 averages QP 23–26), or 24–34 when the codec exports
    /// no QP; noise: up to twice the estimated σ (at least 1 level); blur: up to σ
    /// 1 pixel when the metric says the video is soft (above 0.45).
    public var fineTuning: DegradationConfig {
        let crf: [Double] = meanQP.map { qp in [min(qp.rounded() + 1, 50), min(qp.rounded() + 6, 51)] } ?? [24, 34]
        return DegradationConfig(blur: blur > 0.45 ? 1 : 0, noise: Float(max(1, 2 * noiseSigma)), x264CRF: crf)
    }

    /// `config` with the degradation a ×1 fine-tune on this video learns from (`fineTuning`); a lens
    /// blur the config asks for (`--lens-sigma`) is kept.
    public func restoring(_ config: HoneConfig) -> HoneConfig {
        var config = config
        let lens = config.degradation.lensBlur
        config.degradation = fineTuning
        config.degradation.lensBlur = lens
        return config
    }
}
