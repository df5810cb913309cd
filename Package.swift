// swift-tools-version:6.0
import PackageDescription

// The engine is built with -Ounchecked in release: its hot loops index raw
// buffers whose bounds the ops check once, up front.
let engineFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo", "-target-cpu", "native"], .when(configuration: .release))]

let package = Package(
    name: "Hone",
    products: [
        .executable(name: "hone", targets: ["hone"]),
        .library(name: "Autograd", targets: ["Autograd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavfilter-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]),
        // glibc's mallopt: hone runs with one malloc arena.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // OpenCV's DIS optical flow behind one C function, for aligning neighbouring frames (Debian's libopencv-video-dev).
        .target(name: "COpticalFlow", cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4"])],
                linkerSettings: [.linkedLibrary("opencv_video"), .linkedLibrary("opencv_core")]),
        .target(name: "Autograd", dependencies: ["COpenBLAS"], swiftSettings: engineFlags),
        .target(name: "VideoIO", dependencies: ["CFFmpeg", "Autograd"], swiftSettings: engineFlags),
        // Imports point down only: Jobs → Training → Quality → Networks → Autograd, VideoIO.
        // The networks, their files (checkpoints, ncnn imports, named models) and tiled inference.
        .target(name: "Networks", dependencies: ["Autograd", "VideoIO", "COpticalFlow"], swiftSettings: engineFlags),
        // Measures of pictures and videos: metrics, LPIPS, overshoot, flicker, damage estimates, rate-distortion.
        .target(name: "Quality", dependencies: ["Autograd", "VideoIO", "Networks"], swiftSettings: engineFlags),
        // Configs, damage, the frame cache, losses, the trainer and its runs.
        .target(name: "Training", dependencies: ["Autograd", "VideoIO", "Networks", "Quality", "Yams"], swiftSettings: engineFlags),
        // One job per command, with its options and report; pictures for people; delivery.
        .target(name: "Jobs", dependencies: ["Autograd", "VideoIO", "Networks", "Quality", "Training", "Yams"], swiftSettings: engineFlags),
        .target(name: "Benchmarks", dependencies: ["Autograd", "COpenBLAS", "Networks", "Quality", "Training"], swiftSettings: engineFlags),
        // `hone serve`: the web page and JSON API over the job layer, with a job queue in SQLite.
        .target(name: "HoneServer", dependencies: [
            "Autograd", "VideoIO", "Networks", "Quality", "Training", "Jobs",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .executableTarget(
            name: "hone",
            dependencies: ["Autograd", "VideoIO", "Networks", "Quality", "Training", "Jobs", "Benchmarks", "HoneServer", "CMalloc",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // libFuzzer targets for the parsers of untrusted files (`make fuzz`); a plain build replays inputs.
        .executableTarget(name: "hone-fuzz", dependencies: ["Networks", "Training", "Jobs"], path: "Fuzz"),
        .target(name: "TestSupport", dependencies: ["Autograd", "Training"], path: "Tests/TestSupport"),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "Autograd", "TestSupport"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "Quality", "Training", "Jobs", "VideoIO", "Autograd", "TestSupport"]),
        .testTarget(name: "QualityTests", dependencies: ["Networks", "Quality", "Training", "Jobs", "VideoIO", "Autograd", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Networks", "Quality", "Training", "Jobs", "VideoIO", "Autograd", "TestSupport"]),
        .testTarget(name: "JobsTests", dependencies: ["Networks", "Quality", "Training", "Jobs", "VideoIO", "Autograd", "TestSupport"]),
        .testTarget(name: "HoneTests", dependencies: ["hone", "TestSupport", "Yams"]),
    ]
)
