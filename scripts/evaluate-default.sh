#!/usr/bin/env bash
# The default model's evaluation table: test-split captions (greedy, the SDK's default) of
# the teacher, the single-head student and the ensemble student (PyTorch), and of the
# float32 and int8 packs run by the Rust core, scored per source with pycocoevalcap.
#
#   scripts/evaluate-default.sh [RUN_DIR]     (default build/default-run)
#
# Writes RUN_DIR/eval/{*.json,*.jsonl,scores.json,table.md} and the contact sheet of the bundled
# pack's captions, models/examples/contact-sheet.png. Needs Java (METEOR, PTB tokenizer).
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-build/default-run}
out=$run/eval
data=build/dataset/dataset.json
workers=${WORKERS:-$(nproc)}
scripts/setup-python.sh
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
py=.venv/bin/python
mkdir -p "$out"

results=()
if [ -f "$run/teacher.pt" ]; then
    "$py" -m lightcap.evaluate --checkpoint "$run/teacher.pt" --data "$data" --split test --workers "$workers" \
        --no-score --results "$out/teacher.json"
    results+=("teacher=$out/teacher.json")
fi
"$py" -m lightcap.evaluate --checkpoint "$run/student.pt" --data "$data" --split test --workers "$workers" \
    --single-head --no-score --results "$out/student-single-head.json"
"$py" -m lightcap.evaluate --checkpoint "$run/student.pt" --data "$data" --split test --workers "$workers" \
    --no-score --results "$out/student-ensemble.json"
results+=("student, head 0 alone (PyTorch)=$out/student-single-head.json"
          "student, 3-head ensemble (PyTorch)=$out/student-ensemble.json")

cargo build --workspace --quiet
mapfile -t images < <("$py" -c 'import sys, json; d = json.load(open(sys.argv[1]))
for i in d["images"]:
    if i["split"] == "test": print("build/dataset/" + i["filepath"] + "/" + i["filename"])' "$data")
target/debug/lightcap caption --json --pack "$run/pack-f32" "${images[@]}" > "$out/pack-f32.jsonl"
target/debug/lightcap caption --json --pack models/default "${images[@]}" > "$out/pack-int8.jsonl"
results+=("float32 pack (Rust)=$out/pack-f32.jsonl" "int8 pack, bundled (Rust)=$out/pack-int8.jsonl")

"$py" -m lightcap.report --data "$data" --split test --json-out "$out/scores.json" "${results[@]}" \
    2> "$out/report.log" | tee "$out/table.md"
"$py" -m lightcap.contact_sheet --data "$data" --captions "$out/pack-int8.jsonl" --out models/examples/contact-sheet.png
