#!/usr/bin/env bash
# Every test of the project, as CI runs it (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
py=.venv/bin/python

# On CI (CI=true) disk is the scarce thing: show what is left at each stage and drop
# each cross-compiled target tree once it has been checked.
# Each stage's wall time is printed when the next one starts, and all of them at the end,
# so a stage that grows slow shows itself.
timings=()
stage_name=""
stage_start=$SECONDS
run_start=$SECONDS
end_stage() {
    if [ -n "$stage_name" ]; then
        local line
        line=$(printf '%5d s  %s' $((SECONDS - stage_start)) "$stage_name")
        echo "-- $line"
        timings+=("$line")
    fi
}
stage() {
    end_stage
    stage_name="$*"
    stage_start=$SECONDS
    echo "== $*"
    if [ "${CI:-}" = true ]; then df -h . | tail -n 1; fi
}
print_timings() {
    end_stage
    echo "== Stage timings"
    printf '%s\n' "${timings[@]}"
    printf '%5d s  total\n' $((SECONDS - run_start))
}
trap print_timings EXIT
drop_on_ci() {
    if [ "${CI:-}" = true ]; then rm -rf "$@"; fi
}

stage "Python environment, binding toolchain"
scripts/setup-python.sh
scripts/setup-toolchain.sh

stage "Rust: format; the builds below share their compiled dependencies"
cargo fmt --all --check
# The mobile tests and the bindings' generator select other packages than
# `cargo test --workspace`; unless their dependency features match, each compiles tract
# again (minutes). The check reads cargo's unit graphs and builds nothing.
python3 scripts/check-workspace-features.py

# Clippy compiles the workspace's own crates in every build below: cargo runs its driver
# as RUSTC_WORKSPACE_WRAPPER, as `cargo clippy` does, and CLIPPY_ARGS carries what
# `cargo clippy -- -D warnings` would pass. The lints are the same, and every dependency
# is built once for lints and tests alike; `cargo clippy` would compile each of them a
# second time in check mode (5-6 minutes on 2 cores) for lints it does not run on them.
# Every cargo command of this script sees the same two variables, so none rebuilds the
# workspace's crates.
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver)
CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

stage "Rust: lints (clippy -D warnings), unit, integration, parity (tiny and default packs), image formats, fuzz replays, memory, CLI, documentation examples (doc tests, CLI lines)"
cargo test --workspace --quiet
stage "Rust: one captioner shared by 8 threads, 100 captions each, equals serial"
cargo test --workspace --quiet -- --ignored eight_threads_captioning_a_hundred_images_each_match_serial

stage "Rust: the mobile libraries' build (no ONNX front end): lints, unit tests, the bundled pack from its pre-optimised form"
cargo test -p lightcap --no-default-features --quiet --lib --test nnef_form

stage "Leaks: the binding layer's engine and caption loop under valgrind memcheck"
scripts/check-leaks.sh

stage "Bindings: Kotlin on the JVM (the documentation's examples too), Swift header and syntax"
scripts/test-bindings.sh

stage "Python: model, export, training, evaluation; documentation links and Kotlin examples"
"$py" -m pytest -q scripts/tests

stage "COCO-format path: a pack trained from COCO-layout captions (procedural scenes), int8, pre-optimised, calibrated, then loaded by the mobile build"
# The same command as docs/model-builders.md gives for COCO, on 40 images and 2 epochs.
"$py" -m lightcap.coco_fixture --out build/coco-fixture --train 40 --val 12
"$py" -m lightcap.coco_pack --train build/coco-fixture/captions_train.json --train-images build/coco-fixture/images \
    --val build/coco-fixture/captions_val.json --val-images build/coco-fixture/images \
    --backbone lite0 --out build/coco-run --cli target/debug/lightcap --negatives-per-kind 8 \
    -- --without-teacher --student-epochs 2 --batch-size 8
# The mobile build's test binary (built in the stage above): the pack without its ONNX graphs.
LIGHTCAP_TRAINED_RUN="$PWD/build/coco-run" cargo test -p lightcap --no-default-features --quiet --test nnef_form \
    -- --ignored a_pack_trained_from_coco_captions_loads_as_phones_bundle_it
drop_on_ci build/coco-run build/coco-fixture

stage "Parity at paper size: lightcap-rn50 (random weights) exported, then run by the Rust core from ONNX and from the pre-optimised form"
"$py" -m lightcap.export --config lightcap-rn50 --seed 0 --out build/packs/lightcap-rn50 \
    --golden build/golden/lightcap-rn50 --golden-images tests/images/*.png
# --workspace keeps the feature set of the run above, so nothing is rebuilt.
cargo test --workspace --quiet -- --ignored rn50_pack_matches_pytorch
# Again from the pack's pre-optimised form (the debug CLI, built by the tests above).
"$py" -m lightcap.nnef_form build/packs/lightcap-rn50 --cli target/debug/lightcap
cargo test --workspace --quiet -- --ignored rn50_pack_matches_pytorch
drop_on_ci build/packs/lightcap-rn50

stage "Android: library module type-checked and tested on the JVM, sources parse, Gradle consistent"
android/scripts/check.sh
drop_on_ci target/aarch64-linux-android target/x86_64-linux-android

stage "iOS: device library, XCFramework slice, Swift syntax, package consistency"
ios/scripts/check.sh
drop_on_ci target/aarch64-apple-ios

stage "aarch64 Linux under qemu: tract's ARM kernels on small inputs (unit tests, preprocessing, tiny and default pack parity on one image, formats, cancellation)"
scripts/test-aarch64.sh
