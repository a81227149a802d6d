#!/usr/bin/env bash
# Builds what ios/LightCap needs and puts it in place:
#   ios/LightCap/LightCapFFI.xcframework        static libraries + LightCapFFI.h + module map
#   ios/LightCap/Sources/LightCap/Generated/    the uniffi Swift API
#   ios/LightCap/Tests/LightCapTests/Resources/ the tiny test pack with its pre-optimised graphs
#                                               and the HEIC test photos (tests/images/formats),
#                                               for the package tests
#
#   ios/scripts/build-xcframework.sh            on a Mac with Xcode: device + simulators
#   ios/scripts/build-xcframework.sh --check    anywhere: the device library only (unoptimised),
#                                               staged as the XCFramework would hold it, no xcodebuild
set -euo pipefail
cd "$(dirname "$0")/../.."
package=ios/LightCap
check=false
[[ "${1:-}" == "--check" ]] && check=true

scripts/generate-bindings.sh build/bindings >/dev/null
mkdir -p "$package/Sources/LightCap/Generated"
cp build/bindings/swift/LightCap.swift "$package/Sources/LightCap/Generated/LightCap.swift"

# Headers directory of every slice: the header and a module map named as Xcode expects.
headers=build/ios/headers
rm -rf "$headers" && mkdir -p "$headers"
cp build/bindings/swift/LightCapFFI.h "$headers/"
cp build/bindings/swift/LightCapFFI.modulemap "$headers/module.modulemap"

rm -rf "$package/Tests/LightCapTests/Resources/lightcap-default"
mkdir -p "$package/Tests/LightCapTests/Resources"
cp -R tests/packs/tiny "$package/Tests/LightCapTests/Resources/lightcap-default"
# The device library reads only the pre-optimised graph form (it is built without ONNX
# support, scripts/build-mobile.sh): the test pack gets it, written by the CLI. (The whole
# workspace, as scripts/generate-bindings.sh builds it above: nothing is rebuilt.)
# lightcap.nnef_form needs only Python's standard library: the system python3 will do.
cargo build --quiet --workspace
PYTHONPATH=scripts python3 -m lightcap.nnef_form "$package/Tests/LightCapTests/Resources/lightcap-default" \
    --cli target/debug/lightcap >/dev/null
# The photo helpers' tests: the format fixtures' HEIC (as iPhones store photos; the core
# does not decode it) and the same cut inside its coded pixels (lightcap.format_fixtures).
cp tests/images/formats/heic_photo.heic "$package/Tests/LightCapTests/Resources/photo.heic"
cp tests/images/formats/heic_truncated.heic "$package/Tests/LightCapTests/Resources/photo-truncated.heic"

if $check; then
    scripts/build-mobile.sh --profile mobile-check aarch64-apple-ios
    staged=build/ios/LightCapFFI.xcframework/ios-arm64
    rm -rf build/ios/LightCapFFI.xcframework && mkdir -p "$staged"
    cp build/mobile/aarch64-apple-ios/liblightcap_ffi.a "$staged/"
    cp -R "$headers" "$staged/Headers"
    echo "staged $staged (no xcodebuild here: the simulator slices and Info.plist need a Mac)"
    exit 0
fi

[[ "$(uname -s)" == Darwin ]] || { echo "a full build needs macOS with Xcode; use --check" >&2; exit 1; }
rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
scripts/build-mobile.sh aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# One simulator library for both Mac architectures.
mkdir -p build/ios/simulator
lipo -create build/mobile/aarch64-apple-ios-sim/liblightcap_ffi.a build/mobile/x86_64-apple-ios/liblightcap_ffi.a \
    -output build/ios/simulator/liblightcap_ffi.a
rm -rf "$package/LightCapFFI.xcframework"
xcodebuild -create-xcframework \
    -library build/mobile/aarch64-apple-ios/liblightcap_ffi.a -headers "$headers" \
    -library build/ios/simulator/liblightcap_ffi.a -headers "$headers" \
    -output "$package/LightCapFFI.xcframework"
echo "built $package/LightCapFFI.xcframework"
