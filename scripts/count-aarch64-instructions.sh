#!/usr/bin/env bash
# Instructions EfficientNet-Lite0's depthwise layers (16) and 1x1 convolutions (17 shapes),
# in float32 and in float16, with their ReLU6, take on aarch64 in LightCap's kernels (NEON and FP16, core/src/kernels/)
# and in tract's operators, and the bundled pack's first step (vision graph and one decoder
# step) in float16, as a phone runs it: counted under qemu-user by a small TCG plugin
# (scripts/qemu-count/insn_count.c), since emulated wall time says nothing about a phone.
# The core's tests `efficientnet_lite0_*_layers_*` and
# `our_float16_kernels_agree_with_tracts_float16_operators` build the layers or load the pack
# (and check the two sides agree), then run one side N more times; the count of N runs less
# that of none, over N, is one pass. Both kernels are compiled at
# opt-level 3 without debug assertions or overflow checks, as in a release build; the rest as
# for the other emulated checks (scripts/test-aarch64.sh), FP16 included: tract's float16
# operators take their FP16 paths, as on a phone.
#
#   scripts/count-aarch64-instructions.sh [RUNS]      (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-4}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS='--cfg feature_cpu="fp16"'
mkdir -p build/qemu-count
gcc -shared -fPIC -O2 -Wall -o build/qemu-count/insn_count.so scripts/qemu-count/insn_count.c
# The kernels as optimised as in a release build: ours (lightcap) and tract's (tract-core).
# (Its own target folder, so the other emulated checks' build is left as it is.)
build=(cargo test --quiet -p lightcap --target aarch64-unknown-linux-gnu --profile emulated --lib --test float16
    --target-dir target/qemu-count
    --config 'profile.emulated.package.lightcap.opt-level=3'
    --config 'profile.emulated.package.tract-core.opt-level=3'
    --config 'profile.emulated.debug-assertions=false' --config 'profile.emulated.overflow-checks=false')
# The core's unit tests and its float16 tests, one executable each.
binaries=$("${build[@]}" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        if m["target"]["kind"] == ["lib"] or m["target"]["name"] == "float16":
            print(m["target"]["name"], m["executable"])')
unit_tests=$(awk '$1 != "float16" {print $2}' <<<"$binaries")
float16_tests=$(awk '$1 == "float16" {print $2}' <<<"$binaries")
count() { # BINARY TEST KERNELS RUNS -> instructions the whole test process executed
    LIGHTCAP_PROBE_KERNELS=$3 LIGHTCAP_PROBE_RUNS=$4 qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu \
        -plugin build/qemu-count/insn_count.so "$1" --exact --test-threads 1 "$2" 2>&1 >/dev/null |
        sed -n 's/^guest instructions executed: //p'
}
for layers in depthwise float16_depthwise pointwise float16_pointwise float16_first_step; do
    binary=$unit_tests
    case $layers in
        depthwise) what="EfficientNet-Lite0's 16 depthwise layers + ReLU6" module=depthwise ;;
        float16_depthwise) what="the same 16 layers in float16 (FP16 arithmetic)" module=depthwise ;;
        pointwise) what="EfficientNet-Lite0's 17 1x1 convolution shapes + bias + ReLU6" module=product ;;
        float16_pointwise) what="the same 1x1 shapes in float16 (FP16 arithmetic)" module=half_product ;;
        float16_first_step) what="the bundled pack's vision graph and first decoder step in float16" ;;
    esac
    if [ "$layers" = float16_first_step ]; then
        binary=$float16_tests test_name=our_float16_kernels_agree_with_tracts_float16_operators
    else
        test_name="kernels::tests::$module::efficientnet_lite0_${layers}_layers_match_tracts"
    fi
    echo "$what, one pass, aarch64 instructions (qemu, $runs runs):"
    declare -A per_pass
    for kernels in lightcap tract; do
        base=$(count "$binary" "$test_name" "$kernels" 0)
        more=$(count "$binary" "$test_name" "$kernels" "$runs")
        per_pass[$kernels]=$(( (more - base) / runs ))
        if [ "${per_pass[$kernels]}" -le 0 ]; then
            echo "the layers did not run (is $test_name still the test's name?)" >&2
            exit 1
        fi
        printf '  %-9s %15s\n' "$kernels" "${per_pass[$kernels]}"
    done
    python3 -c "print(f'  ratio lightcap / tract: {${per_pass[lightcap]} / ${per_pass[tract]}:.2f}')"
done
