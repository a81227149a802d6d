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
pack=models/default
tools=scripts/toolchain/node_modules
kotlin_lib="$tools/kotlin-compiler/lib"

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
classpath="/usr/share/java/jna.jar:$kotlin_lib/kotlinx-coroutines-core-jvm.jar:/usr/share/java/junit4.jar"
classpath="$classpath:/usr/share/java/hamcrest.jar:$kotlin_lib/kotlin-test.jar:$kotlin_lib/kotlin-test-junit.jar"
"$tools/kotlin-compiler/bin/kotlinc" -nowarn -cp "$classpath" -d "$out/kotlin-tests.jar" \
    "$out/kotlin" bindings/kotlin/src/main/kotlin bindings/kotlin/src/test/kotlin
java -cp "$out/kotlin-tests.jar:$classpath:$kotlin_lib/kotlin-stdlib.jar" \
    -Djna.library.path="$PWD/target/debug" \
    -Dlightcap.pack="$PWD/$pack" -Dlightcap.images="$PWD/tests/images" -Dlightcap.expected="$PWD/$expected" \
    org.junit.runner.JUnitCore dev.lightcap.EngineTest

echo "== Swift bindings (no Swift compiler here: header, module map, checksums, syntax)"
python3 scripts/check-swift-ffi.py "$out/swift" target/debug
node scripts/check-syntax.js "$out/swift/LightCap.swift" ios/LightCap/Sources/LightCap/*.swift
