#!/usr/bin/env bash
# Coverage-guided fuzzing of the SDK's untrusted inputs with cargo-fuzz (libFuzzer and
# AddressSanitizer on nightly Rust). Targets (fuzz/fuzz_targets, harnesses in
# fuzz/src/lib.rs):
#   image  encoded image bytes of any format, and raw frames with any geometry
#   pack   one file of a model pack (manifest, vision graph, tokenizer, concept list)
#          replaced, re-signed so the parsers meet the damage, then a caption
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 600, image pack)
#
# Seeds: the format fixtures (tests/images/formats) and the tiny pack's files. The
# corpus grows in build/fuzz/corpus/<target>; crashes land in fuzz/artifacts/<target>/
# (copy each into fuzz/regressions/<target>/ once fixed: `cargo test` replays them).
# Prints, and writes to build/fuzz/summary.md, executions, speed and crashes.
# Needs nightly Rust and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz --version 0.13.2 --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image pack)
out=build/fuzz
mkdir -p "$out/seeds/pack"

# Pack seeds: each replaceable file unchanged behind its selector byte (the order of
# PACK_FILES in fuzz/src/lib.rs).
selector=0
for name in manifest.json vision.onnx tokenizer.json concepts.txt; do
    { printf "\\x0$selector"; cat "tests/packs/tiny/$name"; } >"$out/seeds/pack/$name"
    selector=$((selector + 1))
done
declare -A seeds=([image]=tests/images/formats [pack]=$out/seeds/pack)
# Inputs up to the largest seed (the tokenizer, ~0.5 MB) plus room to grow.
declare -A max_len=([image]=262144 [pack]=600000)

summary="$out/summary.md"
{
    echo "| target | seconds run | executions | per second | new corpus inputs | crashes |"
    echo "|---|---|---|---|---|---|"
} >"$summary"
status=0
for target in "${targets[@]}"; do
    corpus="$out/corpus/$target"
    mkdir -p "$corpus"
    log="$out/$target.log"
    echo "== fuzzing $target for ${seconds}s (log: $log)"
    started=$(date +%s)
    set +e
    # An impossible allocation returns null, as in a release build (where tract then
    # panics and the core turns that into an error), instead of stopping ASan.
    ASAN_OPTIONS=allocator_may_return_null=1 cargo +nightly fuzz run "$target" --features libfuzzer "$corpus" "${seeds[$target]}" -- \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len="${max_len[$target]}" \
        -print_final_stats=1 >"$log" 2>&1
    code=$?
    set -e
    # libFuzzer stops at the first crash, so the time run can be less than asked for.
    ran=$(($(date +%s) - started))
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    grown=$(grep -o 'stat::new_units_added: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    crashes=$(ls "fuzz/artifacts/$target" 2>/dev/null | wc -l)
    echo "| $target | $ran of $seconds | $executions | $speed | $grown | $crashes |" >>"$summary"
    if [ "$code" -ne 0 ]; then
        echo "$target: libFuzzer exited with $code; the end of its log:"
        tail -n 40 "$log"
        status=1
    fi
done
cat "$summary"
exit "$status"
