"""Turns the evaluation photos that scripts/fetch-eval-photos.sh unpacks, but that are
not stored as plain image files, into PNG files beside them:

    PYTHONPATH=scripts .venv/bin/python -m lightcap.photo_eval.outside --root build/eval-sources

- scipy 1.9.3 `scipy/misc/face.dat` (a bz2-compressed 768x1024x3 uint8 raccoon photo)
  and `scipy/misc/ascent.dat` (a pickled 512x512 greyscale photo of a staircase) ->
  `scipy/converted/face.png`, `scipy/converted/ascent.png`;
- Debian `jigzo-data` puzzles (`usr/share/games/jigzo/puzzles/*/*.pzl`): each holds its
  photo inside a texture atlas, next to the cut-out pieces -> the photo alone,
  `jigzo-data/converted/<puzzle name without the "-CxR" grid>.png`.

A missing package is skipped; a PNG already written is left alone. The photos and
their labels are listed in outside.tsv beside this file.
"""

from __future__ import annotations

import argparse
import bz2
import io
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_ROOT = Path("build/eval-sources")
FACE_SHAPE = (768, 1024, 3)  # rows, columns, RGB: scipy.misc.face()'s array


def scipy_face(dat: Path) -> Image.Image:
    """scipy.misc.face's raccoon: raw RGB bytes, bz2-compressed."""
    pixels = np.frombuffer(bz2.decompress(dat.read_bytes()), dtype=np.uint8)
    return Image.fromarray(pixels.reshape(FACE_SHAPE), "RGB")


def scipy_ascent(dat: Path) -> Image.Image:
    """scipy.misc.ascent's staircase: a pickled 2-D array of grey levels 0-255."""
    with dat.open("rb") as stream:
        grey = np.asarray(pickle.load(stream))  # scipy's own data file, as scipy loads it
    return Image.fromarray(grey.astype(np.uint8), "L")


def pzl_members(data: bytes) -> dict[str, bytes]:
    """The files inside a jigzo .pzl: after a 4-line header ("PzlF", format version, name,
    URL) come entries of a name line, a byte-count line and that many bytes."""
    lines = data.split(b"\n", 4)
    if lines[0] != b"PzlF" or len(lines) < 5:
        raise ValueError("not a jigzo puzzle")
    members: dict[str, bytes] = {}
    rest = lines[4]
    while rest:
        name, size, rest = rest.split(b"\n", 2)
        count = int(size)
        members[name.decode()] = rest[:count]
        rest = rest[count:]
    return members


def jigzo_photo(pzl: Path) -> Image.Image:
    """The whole photo of a jigzo puzzle: the "image X Y W H" rectangle of its .map,
    cut from its texture (<name>.jpg; <name>-t.jpg is the small preview, <name>.png the
    pieces' outlines). <name> is not always the file's name (bird-2x3.pzl holds
    05AMWABR.*)."""
    members = pzl_members(pzl.read_bytes())
    (name,) = [member[:-4] for member in members if member.endswith(".map")]
    texture_map = members[f"{name}.map"].decode()
    found = re.search(r"^image (\d+) (\d+) (\d+) (\d+)", texture_map, re.MULTILINE)
    if found is None:
        raise ValueError(f"{pzl}: no image rectangle in its map")
    left, top, width, height = (int(value) for value in found.groups())
    texture = Image.open(io.BytesIO(members[f"{name}.jpg"]))
    return texture.convert("RGB").crop((left, top, left + width, top + height))


def photo_name(pzl: Path) -> str:
    """bike-3x4.pzl -> bike: the puzzle's grid is no part of what the photo shows."""
    return re.sub(r"-\d+x\d+$", "", pzl.stem)


def conversions(root: Path) -> list[tuple[Path, Callable[[], Image.Image]]]:
    """(PNG to write, function giving its image) for each photo whose package is here."""
    jobs: list[tuple[Path, Callable[[], Image.Image]]] = []
    misc = root / "scipy" / "scipy" / "misc"
    if misc.is_dir():
        out = root / "scipy" / "converted"
        jobs.append((out / "face.png", lambda: scipy_face(misc / "face.dat")))
        jobs.append((out / "ascent.png", lambda: scipy_ascent(misc / "ascent.dat")))
    puzzles = root / "jigzo-data" / "usr" / "share" / "games" / "jigzo" / "puzzles"
    for pzl in sorted(puzzles.glob("*/*.pzl")):
        out = root / "jigzo-data" / "converted" / f"{photo_name(pzl)}.png"
        jobs.append((out, lambda pzl=pzl: jigzo_photo(pzl)))
    return jobs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help="where fetch-eval-photos.sh unpacked the packages")
    args = parser.parse_args(argv)
    written = 0
    for png, make in conversions(args.root):
        if png.is_file():
            continue
        png.parent.mkdir(parents=True, exist_ok=True)
        partial = png.with_suffix(".partial.png")
        make().save(partial)
        partial.replace(png)
        written += 1
    print(f"wrote {written} PNG file(s) under {args.root}")


if __name__ == "__main__":
    main()
