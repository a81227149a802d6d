#!/usr/bin/env bash
# The core's tests on aarch64 Linux under qemu-user: the same parity and error tests
# as on x86_64, now through tract's hand-written ARM (NEON) kernels. Slow (emulated),
# but it is the check that a phone's CPU computes what the PyTorch reference does.
# Linker and runner come from .cargo/config.toml; scripts/setup-toolchain.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --quiet -p lightcap --target aarch64-unknown-linux-gnu "$@"
