#!/usr/bin/env bash
# Leak check through the binding layer: the memory test of bindings/ffi (engines
# created, used for captions, streamed captions and refused inputs, then closed) run
# under valgrind's memcheck, which fails on any definitely or indirectly lost block and
# on any invalid access (two false reports inside tract are suppressed: see
# scripts/valgrind.supp). Shorter than the plain test's loop: memcheck runs it
# ~50 times slower. Run by scripts/test-all.sh.
#
#   scripts/check-leaks.sh [ENGINES] [CALLS_PER_ENGINE]      (default 3 x 12)
set -euo pipefail
cd "$(dirname "$0")/.."
engines=${1:-3}
calls=${2:-12}

# --workspace: the same feature set as the other test runs, so nothing is rebuilt.
binary=$(cargo test --workspace --no-run --quiet --message-format=json |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "memory" and m.get("executable"):
        print(m["executable"])')
[ -n "$binary" ] || { echo "no test binary named memory" >&2; exit 1; }

LIGHTCAP_MEMORY_ENGINES=$engines LIGHTCAP_MEMORY_CALLS_PER_ENGINE=$calls \
    valgrind --quiet --error-exitcode=1 --suppressions=scripts/valgrind.supp --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    "$binary" --test-threads=1 --nocapture
echo "memcheck: no leaks and no invalid accesses over $engines engines x $calls calls"
