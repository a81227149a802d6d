#!/usr/bin/env bash
# Build the library apps link, for the mobile targets.
#
#   scripts/build-mobile.sh [--profile PROFILE] [--check] [TARGET...]
#
# TARGET defaults to aarch64-linux-android x86_64-linux-android aarch64-apple-ios;
# PROFILE to release (CI uses mobile-check: the same compile, unoptimised).
# Writes build/mobile/TARGET/liblightcap_ffi.a and prints its size, stripped of
# debug info. The library is built without the `onnx` feature: it loads packs through
# their pre-optimised graph form (every bundled pack has one) and links none of tract's
# ONNX front end. With --check nothing is written: `cargo check` proves the crates compile
# for the target and its build scripts assemble tract's kernels for it (about half the
# time of a build; CI uses it for x86_64-linux-android, whose code and exports match
# the host's and aarch64-linux-android's).
#
# Without an Android NDK or Xcode (as on CI) only static libraries can be built:
# the system clang assembles tract's hand-written kernels for each target, and no
# linker is needed. With ANDROID_NDK_HOME set, the NDK's clang is used instead and
# Android also gets liblightcap_ffi.so (what the AAR ships; see docs/app-developers.md).
# On a Mac, Xcode's clang and SDKs are found by the cc crate through xcrun.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
check_only=false
while [[ "${1:-}" == --* ]]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --check) check_only=true; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
targets=("$@")
((${#targets[@]})) || targets=(aarch64-linux-android x86_64-linux-android aarch64-apple-ios)
android_api=24 # Android 7.0: the minSdk of the AAR
ios_version=15.0

ndk_bin=""
if [[ -n "${ANDROID_NDK_HOME:-}" ]]; then
    ndk_bin=$(echo "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin)
fi

# Every function the generated header declares must be defined in the library the
# app links, or the app fails to link (iOS) or to bind (Android) at run time.
header=build/bindings/swift/LightCapFFI.h
check_exports() {
    [[ -f "$header" ]] || scripts/generate-bindings.sh >/dev/null
    local declared defined missing
    declared=$(grep -oE '\b(uniffi|ffi)_lightcap_ffi_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
    # llvm-nm exits 1 on archive members without symbols; a real failure shows as missing.
    defined=$({ llvm-nm --defined-only -g "$1" 2>/dev/null || true; } | awk '$2 == "T" { sub(/^_/, "", $3); print $3 }' | sort -u)
    missing=$(comm -23 <(echo "$declared") <(echo "$defined"))
    if [[ -n "$missing" ]]; then
        echo "$1 lacks functions the header declares:" $missing >&2
        return 1
    fi
    echo "   exports: all $(echo "$declared" | wc -l) functions of the header"
}

for target in "${targets[@]}"; do
    var=${target//-/_}
    crate_types=(staticlib)
    case "$target" in
        *-linux-android)
            clang_target="${target}${android_api}"
            if [[ -n "$ndk_bin" ]]; then
                export "CC_$var=$ndk_bin/${clang_target}-clang"
                export "AR_$var=$ndk_bin/llvm-ar"
                export "CARGO_TARGET_${var^^}_LINKER=$ndk_bin/${clang_target}-clang"
                crate_types+=(cdylib)
            else
                export "CC_$var=clang" "CFLAGS_$var=--target=$clang_target" "AR_$var=llvm-ar"
            fi
            ;;
        *-apple-ios*)
            if [[ "$(uname -s)" != Darwin ]]; then
                # Assembly needs no SDK; an empty one keeps cc from asking xcrun.
                sdk=$(mktemp -d)
                export "CC_$var=clang" "AR_$var=llvm-ar" SDKROOT="$sdk"
                export "CFLAGS_$var=--target=arm64-apple-ios$ios_version"
            fi
            export IPHONEOS_DEPLOYMENT_TARGET="$ios_version"
            ;;
    esac
    if $check_only; then
        echo "== $target ($profile, cargo check)"
        cargo check --quiet -p lightcap-ffi --lib --no-default-features --target "$target" --profile "$profile"
        continue
    fi
    for crate_type in "${crate_types[@]}"; do
        echo "== $target ($profile, $crate_type)"
        cargo rustc --quiet -p lightcap-ffi --lib --no-default-features --crate-type "$crate_type" \
            --target "$target" --profile "$profile"
    done
    dir="target/$target/$profile"
    [[ "$profile" == dev ]] && dir="target/$target/debug"
    mkdir -p "build/mobile/$target"
    llvm-strip --strip-debug -o "build/mobile/$target/liblightcap_ffi.a" "$dir/liblightcap_ffi.a"
    [[ -f "$dir/liblightcap_ffi.so" ]] && llvm-strip -o "build/mobile/$target/liblightcap_ffi.so" "$dir/liblightcap_ffi.so"
    check_exports "build/mobile/$target/liblightcap_ffi.a"
    ls -l "build/mobile/$target" | awk 'NR > 1 { printf "   %s: %.1f MB\n", $NF, $5 / 1e6 }'
done
