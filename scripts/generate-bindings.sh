#!/usr/bin/env bash
# Generate the Kotlin and Swift sources of the uniffi bindings.
#
#   scripts/generate-bindings.sh [OUT_DIR]        (default: build/bindings)
#
# Writes OUT_DIR/kotlin/dev/lightcap/lightcap.kt and OUT_DIR/swift/{LightCap.swift,
# LightCapFFI.h, LightCapFFI.modulemap}. The interface is read from the compiled host
# library (uniffi "library mode"), so it is the same for every target; names come
# from bindings/ffi/uniffi.toml. The output is not committed: run this instead.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/bindings}"

# Built together so both see one feature set (the one `cargo test --workspace` uses).
cargo build --quiet -p lightcap-ffi -p uniffi-bindgen
case "$(uname -s)" in
    Darwin) lib=target/debug/liblightcap_ffi.dylib ;;
    *) lib=target/debug/liblightcap_ffi.so ;;
esac

rm -rf "$out/kotlin" "$out/swift"
for language in kotlin swift; do
    target/debug/uniffi-bindgen generate --library "$lib" --language "$language" \
        --out-dir "$out/$language" --no-format >/dev/null
done
echo "generated: $(cd "$out" && find kotlin swift -type f | sort | tr '\n' ' ')"
