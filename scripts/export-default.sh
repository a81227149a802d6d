#!/usr/bin/env bash
# Writes the packs of a default-model training run (scripts/train-default.sh):
#   RUN_DIR/pack-f32   float32, for evaluation
#   models/default     weight-only int8, the bundled pack, with its parity golden file
#                      (tests/golden/default) computed from the int8-rounded PyTorch model,
#                      and the pre-optimised form of its graphs (*.nnef.tar, which the
#                      mobile libraries load), written by the Rust CLI
#
#   scripts/export-default.sh [RUN_DIR]       (default build/default-run)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-build/default-run}
scripts/setup-python.sh
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
py=.venv/bin/python
version=0.3.0
about="EfficientNet-Lite0 (ImageNet, frozen) + LightCap fusion model, trained on photos, photo composites, clip art, emoji and procedural scenes, everyday concepts from the ImageNet classifier and MiniLM (scripts/train-default.sh)"

"$py" -m lightcap.export --checkpoint "$run/student.pt" --out "$run/pack-f32" --version "$version" \
    --name lightcap-effnet --description "$about; float32"
rm -rf models/default
"$py" -m lightcap.export --checkpoint "$run/student.pt" --int8 --out models/default --version "$version" \
    --name lightcap-effnet-int8 --description "$about; weight-only int8" \
    --golden tests/golden/default --golden-images tests/images/*.png
cargo build --release --quiet -p lightcap-cli
"$py" -m lightcap.nnef_form models/default --cli target/release/lightcap
du -sh "$run/pack-f32" models/default
