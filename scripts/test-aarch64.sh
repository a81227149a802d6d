#!/usr/bin/env bash
# The core on aarch64 Linux under qemu-user: tract's hand-written ARM (NEON) kernels
# checked against the PyTorch reference, on small inputs because emulation is slow:
#  - the core's unit tests (decoding, dequantization, the preprocessing loops);
#  - preprocessing pixel by pixel on the five golden images;
#  - parity of the tiny pack (every operator, small widths) and of the bundled int8 pack
#    (its real widths) on the images in LIGHTCAP_PARITY_IMAGES: first-step log-probs,
#    concepts, greedy and beam-3 tokens (the default pack's captions there are short);
#  - half precision: the tiny pack in float16 against float32 (tract's ARMv8.2 FP16
#    kernels, which qemu's `-cpu max` implements, on every operator; the bundled pack's
#    check takes over ten minutes emulated, and runs with --all);
#  - the image decoders on every format fixture;
#  - cancellation mid-caption, and the same engine captioning afterwards.
# Everything else (whole-pack parity on every image, errors, damaged inputs, threads,
# fuzz replays, memory) runs natively in scripts/test-all.sh: it is the same Rust code on
# either architecture, and only the kernels differ. (qemu on an x86 host does not
# reproduce ARM's weaker memory ordering, so the thread test would add little here.)
#
#   scripts/test-aarch64.sh            the checks above
#   scripts/test-aarch64.sh --all      every test of the core, whole packs (long: about
#                                      50 minutes on a 2-core machine)
#
# Linker and runner come from .cargo/config.toml; scripts/setup-toolchain.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
run=(cargo test --quiet -p lightcap --target aarch64-unknown-linux-gnu --profile emulated)
# tract looks for FP16 in /proc/cpuinfo, which under qemu-user is the host's: tell it the
# emulated CPU has it (tract's own build switch), so that float16 runs its FP16 kernels and
# `Precision::Auto` picks float16, as on a phone.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS='--cfg feature_cpu="fp16"'

if [[ "${1:-}" == --all ]]; then
    "${run[@]}"
    exit
fi

# The default pack's shortest caption (4 tokens); the tiny pack runs its full 20 there.
export LIGHTCAP_PARITY_IMAGES=${LIGHTCAP_PARITY_IMAGES:-transparent.png}
"${run[@]}" --lib --test parity --test formats
"${run[@]}" --test float16 -- the_tiny_pack auto_is_float16
"${run[@]}" --test errors -- cancellation_stops_the_caption
