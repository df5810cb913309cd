import COpenBLAS
import Foundation

/// Debian 12's OpenBLAS (0.3.21) does not recognise AVX-512 AMD cores (Zen 4)
/// and falls back to its AVX2 "Haswell" kernels; its SkylakeX kernels run
/// there at twice the speed (measured: 204 against 109 sgemm GFLOPS per core).
/// OpenBLAS picks its kernel when it loads, before main, so the choice has to
/// be in the environment: re-exec once with OPENBLAS_CORETYPE set.
public enum BLASKernel {
    /// Call first thing in `main`: may replace the process (execv) with itself.
    public static func selectFastest() {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return }
        let core = String(cString: openblas_get_corename())
        guard ["haswell", "zen"].contains(core.lowercased()), cpuHasAVX512() else { return }
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the kernels we have.
    }

    private static func cpuHasAVX512() -> Bool {
        // /proc files report size 0, so read to the end rather than by size.
        guard let data = FileHandle(forReadingAtPath: "/proc/cpuinfo")?.readDataToEndOfFile(),
              let flags = String(decoding: data, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let have = Set(flags.split(separator: " ").map(String.init))
        return ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(have.contains)
    }
}
