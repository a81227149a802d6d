#!/usr/bin/env bash
# The performance comparison: lightcap (tract) against onnxruntime and PyTorch on the same
# graphs, one thread each, for the paper-sized lightcap-rn50 pack (random weights, exported
# here if missing) and the bundled default pack; then the default pack on a gallery photo as
# a phone stores it (12 MP JPEG, lightcap.bench_photo; its source package is unpacked by
# scripts/fetch-photo-sources.sh if missing). Prints the tables and writes
# build/bench/{lightcap-rn50,default,photo-12mp}.json; the bundled pack's figures go to
# docs/figures.json.
#
#   scripts/bench.sh [--runs N] [IMAGE...]      (default: 3 runs of tests/images/*.png)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
if [ "${1:-}" = "--runs" ]; then runs=$2; shift 2; fi
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(tests/images/*.png)
scripts/setup-python.sh
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
py=.venv/bin/python
# The release profile: what apps ship (fat LTO, one codegen unit; see Cargo.toml).
cargo build --release --quiet -p lightcap-cli
lightcap=target/release/lightcap
mkdir -p build/bench
if [ ! -f build/packs/lightcap-rn50/manifest.json ]; then
    "$py" -m lightcap.export --config lightcap-rn50 --seed 0 --out build/packs/lightcap-rn50
fi
# Both packs are timed loading their pre-optimised graphs and, for comparison, their ONNX graphs.
grep -q '"nnef"' build/packs/lightcap-rn50/manifest.json ||
    "$py" -m lightcap.nnef_form build/packs/lightcap-rn50 --cli "$lightcap"
"$py" -m lightcap.bench --pack build/packs/lightcap-rn50 --torch-config lightcap-rn50 --lightcap "$lightcap" \
    --runs "$runs" --images "${images[@]}" --json build/bench/lightcap-rn50.json
"$py" -m lightcap.figures bench build/bench/lightcap-rn50.json --prefix bench.rn50 --no-pack
echo
# The default pack's PyTorch model and its float32 twin are rebuilt from the pack itself
# (lightcap.from_pack: the int8 weights dequantized, the numbers an onnxruntime user of the
# same model would ship), so both columns are always there. DEFAULT_CHECKPOINT=RUN/student.pt
# (and DEFAULT_F32_PACK) use a training run's instead.
if [ -z "${DEFAULT_CHECKPOINT:-}" ]; then
    twin=build/packs/default-f32
    if [ ! -f "$twin/manifest.json" ] || [ models/default/manifest.json -nt "$twin/manifest.json" ]; then
        weights=$("$py" -c 'from lightcap.weights import lite0_weights_path; print(lite0_weights_path())')
        "$py" -m lightcap.from_pack models/default --backbone-weights "$weights" --out build/packs/default-rebuilt.pt
        "$py" -m lightcap.export --checkpoint build/packs/default-rebuilt.pt --out "$twin" \
            --name lightcap-effnet-f32-twin --description "models/default with its int8 weights dequantized"
    fi
    DEFAULT_CHECKPOINT=build/packs/default-rebuilt.pt
    DEFAULT_F32_PACK=${DEFAULT_F32_PACK:-$twin}
fi
f32_pack=${DEFAULT_F32_PACK:-$(dirname "$DEFAULT_CHECKPOINT")/pack-f32}
[ -f "$f32_pack/manifest.json" ] || f32_pack=
"$py" -m lightcap.bench --pack models/default --checkpoint "$DEFAULT_CHECKPOINT" \
    ${f32_pack:+--onnxruntime-f32 "$f32_pack"} \
    --lightcap "$lightcap" --runs "$runs" --images "${images[@]}" --json build/bench/default.json
# The bundled pack's figures the docs quote (docs/figures.json; then python -m lightcap.figures render).
"$py" -m lightcap.figures bench build/bench/default.json
"$py" -m lightcap.figures phone build/bench/default.json
echo
# A 12-megapixel JPEG: decode (at reduced scale), preprocessing and the heap they need.
if [ ! -f build/bench/photo-12mp.jpg ]; then
    [ -d build/sources/lomiri-wallpapers-16.04 ] || scripts/fetch-photo-sources.sh
    "$py" -m lightcap.bench_photo --sources build/sources --out build/bench/photo-12mp.jpg
fi
"$lightcap" bench --pack models/default --beams 1 --runs "$runs" --loads 1 build/bench/photo-12mp.jpg \
    --json build/bench/photo-12mp.json
"$py" -m lightcap.figures cli-bench build/bench/photo-12mp.json --prefix bench.photo12mp \
    --command "lightcap bench --pack models/default --beams 1 build/bench/photo-12mp.jpg (scripts/bench.sh)"
# float16, as phones with ARMv8.2 FP16 run it (emulated where the CPU lacks it: memory is what counts here).
"$lightcap" bench --pack models/default --precision f16 --beams 1 --runs "$runs" --loads 1 "${images[@]}" \
    --json build/bench/default-f16.json
"$py" -m lightcap.figures cli-bench build/bench/default-f16.json --prefix bench.f16 \
    --command "lightcap bench --pack models/default --precision f16 --beams 1 (scripts/bench.sh)"
# Where the vision graph's time goes, per operator kind (lightcap bench --profile).
"$lightcap" bench --pack models/default --profile --beams 1 --runs "$runs" --loads 1 "${images[@]}" \
    --json build/bench/profile-default.json | sed -n '/by operator kind/,$p'
"$py" -m lightcap.figures profile build/bench/profile-default.json --prefix profile
# The same with tract's operators everywhere: what LightCap's own kernels (core/src/kernels) replace.
"$lightcap" bench --pack models/default --profile --tract-kernels --beams 1 --runs "$runs" --loads 1 "${images[@]}" \
    --json build/bench/profile-default-tract.json | sed -n '/by operator kind/,/slowest/p'
"$py" -m lightcap.figures profile build/bench/profile-default-tract.json --prefix profile.tract
"$lightcap" bench --pack build/packs/lightcap-rn50 --profile --beams 1 --runs "$runs" --loads 1 "${images[@]}" \
    --json build/bench/profile-rn50.json | sed -n '/by operator kind/,$p'
"$py" -m lightcap.figures profile build/bench/profile-rn50.json --prefix profile.rn50 --no-pack
