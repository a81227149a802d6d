#!/usr/bin/env bash
# The core on aarch64 Linux under qemu-user: tract's hand-written ARM (NEON) kernels
# checked against the PyTorch reference, on small inputs because emulation is slow:
#  - the core's unit tests (decoding, dequantization, the preprocessing loops);
#  - preprocessing pixel by pixel on the five golden images;
#  - parity of the tiny pack (every operator, small widths) and of the bundled int8 pack
#    (its real widths) on the images in LIGHTCAP_PARITY_IMAGES: first-step log-probs,
#    concepts, greedy and beam-3 tokens (the default pack's captions there are short);
#  - the image decoders on every format fixture;
#  - one captioner shared by 8 threads against the serial results, and cancellation.
# Everything else (whole-pack parity on every image, errors, damaged inputs, fuzz
# replays, memory) runs natively in scripts/test-all.sh: it is the same Rust code on
# either architecture, and only the kernels differ.
#
#   scripts/test-aarch64.sh            the checks above
#   scripts/test-aarch64.sh --all      every test of the core, whole packs (long: about
#                                      50 minutes on a 2-core machine)
#
# Linker and runner come from .cargo/config.toml; scripts/setup-toolchain.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
run=(cargo test --quiet -p lightcap --target aarch64-unknown-linux-gnu)

if [[ "${1:-}" == --all ]]; then
    "${run[@]}"
    exit
fi

# Two images: the default pack's shortest caption, and a wide one with 11-token captions.
export LIGHTCAP_PARITY_IMAGES=${LIGHTCAP_PARITY_IMAGES:-transparent.png,scene_wide.png}
"${run[@]}" --lib --test parity --test formats
"${run[@]}" --test errors -- threads_sharing_one_captioner cancellation_stops_the_caption
