#!/usr/bin/env bash
# Installs what the binding, cross-compilation and dataset checks need, where missing: Debian
# packages (clang and LLVM tools, JNA, JUnit 4, qemu-user, the aarch64 C toolchain, valgrind; the
# default dataset's sources: clip art, emoji font, SVG renderer, English word list; WordNet for the concept map),
# Rust targets, and the pinned npm tools in scripts/toolchain (kotlinc, tree-sitter).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang llvm libjna-java junit4 qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross valgrind
    librsvg2-bin openclipart-svg fonts-noto-color-emoji wamerican wordnet-base)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    sudo_if_needed=()
    [[ $(id -u) -ne 0 ]] && sudo_if_needed=(sudo)
    "${sudo_if_needed[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup target add aarch64-linux-android x86_64-linux-android aarch64-apple-ios \
    aarch64-unknown-linux-gnu >/dev/null 2>&1

# Installed from the lock file only when it changed; install scripts stay off
# (tree-sitter-cli's would download a binary).
stamp=scripts/toolchain/node_modules/.installed-lock
if ! cmp -s scripts/toolchain/package-lock.json "$stamp" 2>/dev/null; then
    (cd scripts/toolchain && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    # tree-sitter-kotlin ships no prebuilt binary: compile it with npm's own node-gyp
    # against the headers of the Node.js that runs it (no download).
    node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
    node_prefix=$(node -p "require('path').resolve(process.execPath, '../..')")
    (cd scripts/toolchain/node_modules/tree-sitter-kotlin &&
        node "$node_gyp" rebuild --nodedir="$node_prefix" --loglevel=error >/dev/null)
    cp scripts/toolchain/package-lock.json "$stamp"
fi
