#!/usr/bin/env bash
# Tests of the generated bindings (run by scripts/test-all.sh):
#  - Kotlin: the generated sources plus bindings/kotlin compiled with kotlinc, run on
#    the JVM through JNA against the host library and the bundled pack; captions are
#    compared with the Rust CLI's for the same images.
#  - Swift (no Swift compiler here): the generated C header compiles with clang, the
#    module map names it, and every Swift file parses with tree-sitter.
# Needs what scripts/setup-toolchain.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bindings
pack=tests/packs/tiny
source scripts/kotlin-jvm.sh

scripts/generate-bindings.sh "$out"
# Generation must be reproducible: a second run gives the same bytes.
again=$(mktemp -d)
trap 'rm -rf "$again"' EXIT
scripts/generate-bindings.sh "$again" >/dev/null
diff -r "$out" "$again" --exclude=expected.tsv --exclude=kotlin-tests.jar

echo "== Rust core's captions for the test images (what Kotlin must reproduce)"
expected="$out/expected.tsv"
for beam in 1 3; do
    target/debug/lightcap caption --json --pack "$pack" --beam "$beam" tests/images/*.png |
        python3 scripts/cli-json-to-tsv.py "$beam"
done >"$expected"
echo "$(wc -l <"$expected") results"

echo "== Kotlin bindings on the JVM"
kotlin_compile "$out/kotlin-tests.jar" "$out/kotlin" bindings/kotlin/src/main/kotlin bindings/kotlin/src/test/kotlin
junit_run "$out/kotlin-tests.jar" \
    -Dlightcap.pack="$PWD/$pack" -Dlightcap.images="$PWD/tests/images" -Dlightcap.expected="$PWD/$expected" \
    dev.lightcap.EngineTest

echo "== Swift bindings (no Swift compiler here: header, module map, checksums, syntax)"
python3 scripts/check-swift-ffi.py "$out/swift" target/debug
node scripts/check-syntax.js "$out/swift/LightCap.swift" ios/LightCap/Sources/LightCap/*.swift
