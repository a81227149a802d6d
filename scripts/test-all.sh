#!/usr/bin/env bash
# Every test of the project, as CI runs it (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
py=.venv/bin/python

echo "== Python environment, binding toolchain"
scripts/setup-python.sh
scripts/setup-toolchain.sh

echo "== Rust: format, lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== Rust: unit, integration, parity (tiny and default packs), image formats, CLI"
cargo test --workspace --quiet
echo "== Rust: one captioner shared by 8 threads, 100 captions each, equals serial"
cargo test --workspace --quiet -- --ignored eight_threads_captioning_a_hundred_images_each_match_serial

echo "== Bindings: Kotlin on the JVM, Swift header and syntax"
scripts/test-bindings.sh

echo "== Python: model, export, training, evaluation"
"$py" -m pytest -q scripts/tests

echo "== Parity at paper size: lightcap-rn50 (random weights) exported, then run by the Rust core"
"$py" -m lightcap.export --config lightcap-rn50 --seed 0 --out build/packs/lightcap-rn50 \
    --golden build/golden/lightcap-rn50 --golden-images tests/images/*.png
# --workspace keeps the feature set of the run above, so nothing is rebuilt.
cargo test --workspace --quiet -- --ignored rn50_pack_matches_pytorch

echo "== Android: library module type-checked and tested on the JVM, sources parse, Gradle consistent"
android/scripts/check.sh

echo "== iOS: device library, XCFramework slice, Swift syntax, package consistency"
ios/scripts/check.sh

echo "== Core tests on aarch64 Linux under qemu (tract's ARM kernels)"
scripts/test-aarch64.sh
