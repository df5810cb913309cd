import Foundation
import Jobs
import Networks
import Quality
import Training

#if FUZZING
/// libFuzzer's driver (compiler-rt's FuzzerInterface.h). Its arguments are
/// pointers and integers, passed alike by the Swift and C conventions.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzer(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// HONE_FUZZ_TARGET (checkpoint, config, grid, ncnn, delivery, degrade, presets) names the parser.
let target = UntrustedInput(rawValue: ProcessInfo.processInfo.environment["HONE_FUZZ_TARGET"] ?? "") ?? .checkpoint

/// The executable's entry under `make fuzz` (SwiftPM links `main` to it): hands control to libFuzzer.
@_cdecl("hone_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var (count, vector) = (argc, argv)
    return runFuzzer(&count, &vector) { bytes, size in
        target.parse(bytes.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    }
}
#else
/// Without libFuzzer: `hone-fuzz TARGET FILE…` runs files through a parser, as the fuzzer would.
@main
enum Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = UntrustedInput(rawValue: name) else {
            print("usage: hone-fuzz \(UntrustedInput.allCases.map(\.rawValue).joined(separator: "|")) FILE…")
            exit(64)
        }
        for file in arguments.dropFirst() {
            let accepted = FileManager.default.contents(atPath: file).map(target.parse) ?? false
            print("\(file): \(accepted ? "accepted" : "refused")")
        }
    }
}
#endif
