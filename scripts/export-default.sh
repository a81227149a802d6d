#!/usr/bin/env bash
# Writes the packs of a default-model training run (scripts/train-default.sh) from its
# model with the hedged concept head (RUN_DIR/hedged.pt):
#   RUN_DIR/pack-f32   float32, for evaluation
#   models/default     weight-only int8, the bundled pack, with its parity golden file
#                      (tests/golden/default) computed from the int8-rounded PyTorch model,
#                      the pre-optimised form of its graphs (*.nnef.tar, which the
#                      mobile libraries load), written by the Rust CLI, and its confidence
#                      calibration (python -m lightcap.calibrate: held-out dataset photos
#                      and the labelled source photos, judged by whether the caption
#                      names their label, against drawn non-photos; up to 15% of
#                      the photos flagged unsure)
#
#   scripts/export-default.sh [RUN_DIR]       (default build/default-run)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-build/default-run}
scripts/setup-python.sh
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
py=.venv/bin/python
version=0.4.0
about="EfficientNet-Lite0 (ImageNet, frozen) + LightCap fusion model, trained on photos, photo composites, clip art, emoji and procedural scenes; concepts from the ImageNet head through a fixed WordNet map, hedged, with a learned head for people, places and what the map lacks; captions grounded in the concepts (scripts/train-default.sh)"

"$py" -m lightcap.export --checkpoint "$run/hedged.pt" --out "$run/pack-f32" --version "$version" \
    --name lightcap-effnet --description "$about; float32"
rm -rf models/default
"$py" -m lightcap.export --checkpoint "$run/hedged.pt" --int8 --out models/default --version "$version" \
    --name lightcap-effnet-int8 --description "$about; weight-only int8" \
    --golden tests/golden/default --golden-images tests/images/*.png
cargo build --release --quiet -p lightcap-cli
"$py" -m lightcap.nnef_form models/default --cli target/release/lightcap
"$py" -m lightcap.calibrate --pack models/default --dataset build/dataset/dataset.json \
    --labelled-sources build/sources --judge-captions --photo-unsure 0.15 \
    --cli target/release/lightcap --report "$run/calibration.json" --write
du -sh "$run/pack-f32" models/default
