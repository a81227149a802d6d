#!/usr/bin/env bash
# The benchmark binary built for aarch64 Linux and run under qemu-user: a check that
# tract's ARM kernels give the same captions as x86, not a timing (emulation is ~50x
# slower). Also prints the stripped size of the aarch64 release library, the closest
# this machine gets to the Android .so (linking that needs the NDK). For timings on a
# phone, see docs/performance.md ("On a phone, and on ARM here").
#
#   scripts/bench-aarch64.sh [IMAGE...]        (default: tests/images/*.png)
set -euo pipefail
cd "$(dirname "$0")/.."
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(tests/images/*.png)
target=aarch64-unknown-linux-gnu
out=build/bench
mkdir -p "$out"

cargo build --release --quiet -p lightcap-cli --target "$target"
# The library as phones get it: without the ONNX front end (see scripts/build-mobile.sh).
cargo build --release --quiet -p lightcap-ffi --no-default-features --target "$target"
cargo build --workspace --quiet
arm=target/$target/release/lightcap
aarch64-linux-gnu-strip -o "$out/liblightcap_ffi-aarch64.so" "target/$target/release/liblightcap_ffi.so"
echo "aarch64 release library (no ONNX front end): $(du -k --apparent-size "target/$target/release/liblightcap_ffi.so" | cut -f1) KiB," \
    "stripped $(du -k --apparent-size "$out/liblightcap_ffi-aarch64.so" | cut -f1) KiB"
# The closest this machine gets to the Android .so: a figure the docs quote (docs/figures.json).
PYTHONPATH=scripts .venv/bin/python -m lightcap.figures library "$out/liblightcap_ffi-aarch64.so" \
    --key library.aarch64 --command "scripts/bench-aarch64.sh (release, no ONNX front end, stripped)"

run_arm() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm" "$@"; }
# Image and caption words only: scores differ in the last digits between the two
# architectures' kernels (summation order), the chosen words must not.
captions() { python3 -c 'import json, os, sys
for line in sys.stdin:
    r = json.loads(line)
    print(os.path.basename(r["image"]), r["caption"], sep="\t")'; }
for beam in 1 5; do
    run_arm caption --pack models/default --beam "$beam" --json "${images[@]}" | captions >"$out/aarch64-beam$beam.tsv"
    target/debug/lightcap caption --pack models/default --beam "$beam" --json "${images[@]}" | captions >"$out/x86-beam$beam.tsv"
    if ! diff -u "$out/x86-beam$beam.tsv" "$out/aarch64-beam$beam.tsv"; then
        echo "aarch64 captions differ from x86 at beam $beam" >&2
        exit 1
    fi
    echo "beam $beam: the same ${#images[@]} captions on aarch64 (qemu) and x86"
done
echo "lightcap bench under qemu (emulated: the figures say it runs, not how fast):"
run_arm bench --pack models/default --runs 1 --loads 1 "${images[@]}"
