#!/usr/bin/env bash
# Everything the `lightcap` module needs from Rust, on a machine with the Android NDK:
#   android/lightcap/build/jniLibs/{arm64-v8a,x86_64}/liblightcap_ffi.so   (release, stripped)
#   android/lightcap/build/generated/uniffi/kotlin/                        (uniffi, Android flavour)
# Run it before Gradle, or let Gradle run it (see the Android section of docs/app-developers.md).
#
# Needs: ANDROID_NDK_HOME (NDK version = `ndk` in gradle/libs.versions.toml) and
# `cargo install cargo-ndk --version 4.1.2`. armeabi-v7a is left out: tract's 32-bit ARM
# kernels are not part of what this project tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
module=android/lightcap
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the NDK named in android/gradle/libs.versions.toml}"
min_sdk=$(sed -n 's/^minSdk = "\([0-9]*\)"/\1/p' android/gradle/libs.versions.toml)

rustup target add aarch64-linux-android x86_64-linux-android
cargo ndk --platform "$min_sdk" -t arm64-v8a -t x86_64 -o "$module/build/jniLibs" \
    build --release -p lightcap-ffi
for abi in arm64-v8a x86_64; do
    "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin/llvm-strip "$module/build/jniLibs/$abi/liblightcap_ffi.so"
done

scripts/generate-bindings.sh build/bindings >/dev/null
rm -rf "$module/build/generated/uniffi/kotlin"
mkdir -p "$module/build/generated/uniffi"
cp -R build/bindings/kotlin-android "$module/build/generated/uniffi/kotlin"
ls -l "$module"/build/jniLibs/*/liblightcap_ffi.so
