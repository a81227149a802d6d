#!/usr/bin/env bash
# The performance comparison: lightcap (tract) against onnxruntime and PyTorch on the same
# graphs, one thread each, for the paper-sized lightcap-rn50 pack (random weights, exported
# here if missing) and the bundled default pack. Prints the tables and writes
# build/bench/{lightcap-rn50,default}.json.
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
"$py" -m lightcap.bench --pack build/packs/lightcap-rn50 --torch-config lightcap-rn50 --lightcap "$lightcap" \
    --runs "$runs" --images "${images[@]}" --json build/bench/lightcap-rn50.json
echo
# The default pack's PyTorch model is not in the repository: pass DEFAULT_CHECKPOINT=RUN/student.pt to add it.
"$py" -m lightcap.bench --pack models/default ${DEFAULT_CHECKPOINT:+--checkpoint "$DEFAULT_CHECKPOINT"} \
    --lightcap "$lightcap" --runs "$runs" --images "${images[@]}" --json build/bench/default.json
