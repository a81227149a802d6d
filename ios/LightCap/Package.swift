// swift-tools-version:5.9
// The LightCap Swift package: the Rust core as an XCFramework (built by
// ios/scripts/build-xcframework.sh on a Mac), the uniffi-generated Swift API, and a thin
// Swift layer (async captioning with task cancellation, streams of partial captions,
// pack loading from the bundle, photos decoded by ImageIO, CoreVideo and CoreGraphics
// image sources). iOS only: the XCFramework holds iOS device and simulator slices, so the
// tests run on a simulator (xcodebuild test), not with `swift test` on the Mac itself.
import PackageDescription

let package = Package(
    name: "LightCap",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "LightCap", targets: ["LightCap"])
    ],
    targets: [
        // Static libraries for iOS devices and simulators, with LightCapFFI.h and its module map.
        .binaryTarget(name: "LightCapFFI", path: "LightCapFFI.xcframework"),
        // Sources/LightCap/Generated/LightCap.swift is written by the build script.
        .target(name: "LightCap", dependencies: ["LightCapFFI"], path: "Sources/LightCap"),
        // The test pack and photos are put in Resources by the build script.
        .testTarget(
            name: "LightCapTests", dependencies: ["LightCap"], path: "Tests/LightCapTests",
            resources: [
                .copy("Resources/lightcap-default"),
                .copy("Resources/photo.heic"),
                .copy("Resources/photo-truncated.heic"),
            ]),
    ]
)
