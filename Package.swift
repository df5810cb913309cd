// swift-tools-version:6.0
import PackageDescription

// The engine is built with -Ounchecked in release: its hot loops index raw
// buffers whose bounds the ops check once, up front.
let engineFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Hone",
    products: [
        .executable(name: "hone", targets: ["hone"]),
        .library(name: "Autograd", targets: ["Autograd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .target(name: "Autograd", dependencies: ["COpenBLAS"], swiftSettings: engineFlags),
        .executableTarget(
            name: "hone",
            dependencies: ["Autograd", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd"]),
    ]
)
