#!/usr/bin/env bash
# Generate the Kotlin and Swift sources of the uniffi bindings.
#
#   scripts/generate-bindings.sh [OUT_DIR]        (default: build/bindings)
#
# Writes OUT_DIR/kotlin/dev/lightcap/lightcap.kt (JVM), OUT_DIR/kotlin-android/ (the same
# API for Android: bindings/ffi/uniffi-android.toml) and OUT_DIR/swift/{LightCap.swift,
# LightCapFFI.h, LightCapFFI.modulemap}. The interface is read from the compiled host
# library (uniffi "library mode"), so it is the same for every target; names come
# from bindings/ffi/uniffi.toml. The output is not committed: run this instead.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/bindings}"

# The whole workspace: with tests/workspace-features among its members, dependencies get
# the features `cargo test --workspace` gave them, so nothing is compiled again (building
# only some packages would change them and rebuild tract: minutes).
# scripts/check-workspace-features.py checks it.
cargo build --quiet --workspace
case "$(uname -s)" in
    Darwin) lib=target/debug/liblightcap_ffi.dylib ;;
    *) lib=target/debug/liblightcap_ffi.so ;;
esac

rm -rf "$out/kotlin" "$out/kotlin-android" "$out/swift"
generate() { target/debug/uniffi-bindgen generate --library "$lib" --no-format "$@" >/dev/null; }
generate --language kotlin --out-dir "$out/kotlin"
generate --language kotlin --out-dir "$out/kotlin-android" --config bindings/ffi/uniffi-android.toml
generate --language swift --out-dir "$out/swift"
echo "generated: $(cd "$out" && find kotlin kotlin-android swift -type f | sort | tr '\n' ' ')"
