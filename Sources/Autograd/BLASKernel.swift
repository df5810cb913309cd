import COpenBLAS
import Foundation

/// OpenBLAS picks its kernels by the core name it recognises, and Debian 12's
/// 0.3.21 does not recognise recent Intel Xeons (Sapphire Rapids: falls back to
/// SSE3 "Prescott"), though they run the SkylakeX kernels: 153 against 32 sgemm
/// GFLOPS per core reported on such a Xeon. (Zen 4 it takes for "Cooperlake",
/// an AVX-512 kernel: 231–237 GFLOPS on one core, against Haswell's 124–126.)
/// OpenBLAS picks when it loads, before main, so the choice has to be in the
/// environment: re-exec once with OPENBLAS_CORETYPE set.
public enum BLASKernel {
    /// What the CPU and OpenBLAS say, for `hone bench` and the choice below.
    public struct Report: Sendable {
        public let cpuModel: String
        /// The SIMD features the choice rests on, of those the CPU has.
        public let features: [String]
        /// The kernel OpenBLAS runs now.
        public let kernel: String
    }

    public static var report: Report {
        let flags = cpuFlags()
        let model = cpuInfoLines().first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
        return Report(cpuModel: model ?? "unknown", features: (avx512 + ["avx2", "fma", "avx"]).filter(flags.contains),
                      kernel: String(cString: openblas_get_corename()))
    }

    /// Call first thing in `main`: may replace the process (execv) with itself.
    /// An OPENBLAS_CORETYPE the user set is kept.
    public static func selectFastest() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let better = choice(reported: String(cString: openblas_get_corename()), flags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the kernels we have.
    }

    /// The best kernel the CPU's `flags` allow when it is better than the one
    /// OpenBLAS `reported`, else nil: SkylakeX with AVX-512 (F, BW, DQ, VL,
    /// CD), Haswell with AVX2 and FMA.
    public static func choice(reported: String, flags: Set<String>) -> String? {
        let best = avx512.allSatisfy(flags.contains) ? 3 : ["avx2", "fma"].allSatisfy(flags.contains) ? 2 : 0
        guard best > 0, best > level(of: reported.lowercased()) else { return nil }
        return best == 3 ? "SKYLAKEX" : "HASWELL"
    }

    private static let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]

    /// The widest SIMD an OpenBLAS x86 kernel uses: 3 AVX-512, 2 AVX2, 1 AVX, 0 SSE (and names it does not know).
    static func level(of core: String) -> Int {
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(core) { return 3 }
        if ["haswell", "zen", "skylake"].contains(core) { return 2 }
        if core == "sandybridge" { return 1 }
        return 0
    }

    private static func cpuInfoLines() -> [Substring] {
        // /proc files report size 0, so read to the end rather than by size.
        guard let data = FileHandle(forReadingAtPath: "/proc/cpuinfo")?.readDataToEndOfFile() else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
    }

    private static func cpuFlags() -> Set<String> {
        guard let line = cpuInfoLines().first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }
}
