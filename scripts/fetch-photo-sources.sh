#!/usr/bin/env bash
# Downloads the Debian packages that carry the real photographs of lightcap.sources
# into build/sources/debs and unpacks each into build/sources/<package>/. Needs no
# root: `apt-get download` only fetches the .deb and `dpkg-deb -x` only unpacks it.
# Idempotent: a package already downloaded or unpacked is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=build/sources
packages=(
    tuxpaint-stamps-default
    tuxpaint-data
    scratch
    gcompris-qt-data
    plasma-workspace-wallpapers
    mate-backgrounds
    lomiri-wallpapers-16.04
    lomiri-wallpapers-20.04
)
mkdir -p "$root/debs"
for package in "${packages[@]}"; do
    dest="$root/$package"
    if [ -f "$dest/.unpacked" ]; then
        continue
    fi
    # apt-get download names the file <package>_<version>_<arch>.deb
    deb=$(ls "$root/debs/${package}"_*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        (cd "$root/debs" && apt-get download "$package")
        deb=$(ls "$root/debs/${package}"_*.deb | head -n1)
    fi
    # Unpack into a scratch folder first so an interrupted run never looks complete.
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial"
    dpkg-deb -x "$deb" "$dest.partial"
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
    basename "$deb" > "$dest/.unpacked"
    echo "unpacked $package"
done
