#!/usr/bin/env bash
# Creates .venv with the pinned Python requirements; does nothing when they are
# already installed (the requirements file's hash is remembered).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=scripts/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r "$requirements"
echo "$want" > "$stamp"
