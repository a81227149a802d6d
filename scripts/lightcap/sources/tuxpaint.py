"""Tux Paint's stamps (Debian `tuxpaint-stamps-default`, GPL-2): each stamp NAME.png or
NAME.svg has a NAME.txt whose first line is an English sentence ("A coral trout.") and
whose later lines are translations (`xx.utf8=...`). About half the PNGs are photographs
cut out on transparency; the rest, and every SVG, are drawings. Only the photographs are
returned, as cut-outs.
"""

from __future__ import annotations

from pathlib import Path

from .items import Item, label_of_name, label_of_sentence
from .photo import measure_file

PACKAGE = "tuxpaint-stamps-default"
STAMPS = Path("usr/share/tuxpaint/stamps")
LICENCE = "GPL-2.0-or-later"
# Folders of drawn stamps. The pixel test misses some of these: road signs and the
# Easter and New Year stamps are flat art saved with noise, which reads as texture.
DRAWING_FOLDERS = {"cartoon", "roadsigns", "easter", "newyears"}


def read_description(path: Path) -> str | None:
    """The English sentence of a stamp's NAME.txt: its first line, unless that line is
    already a translation (`xx.utf8=...`) or empty."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    first = text.splitlines()[0].strip() if text.strip() else ""
    if not first or ".utf8=" in first.split(" ", 1)[0]:
        return None
    return " ".join(first.split())


def stamp_label(description: str, image: Path) -> str:
    """The sentence's object when it is short, else the file name's words, else the
    folder's ("euro/coins/001.png" -> "coin")."""
    folder = label_of_name(image.parent.name)
    folder = folder[:-1] if folder.endswith("s") and not folder.endswith("ss") else folder
    return label_of_sentence(description) or label_of_name(image.stem) or folder


def stamps(root: Path) -> list[tuple[Path, Path]]:
    """(image, description) for every PNG stamp that is not the mirrored copy of another
    and has no SVG original."""
    base = root / PACKAGE / STAMPS
    found = []
    for image in sorted(base.rglob("*.png")):
        if image.stem.endswith("_mirror") or image.with_suffix(".svg").exists():
            continue  # a mirror is the same object; an SVG's PNG is its rendering
        description = image.with_suffix(".txt")
        if description.is_file():
            found.append((image, description))
    return found


def is_drawing_folder(image: Path) -> bool:
    return any(part in DRAWING_FOLDERS for part in image.parent.parts)


def items(root: Path) -> list[Item]:
    base = root / PACKAGE / STAMPS
    out = []
    for image, description_file in stamps(root):
        description = read_description(description_file)
        if description is None or is_drawing_folder(image.relative_to(base)):
            continue
        if not measure_file(image).is_photo:
            continue
        relative = image.relative_to(base).with_suffix("")
        out.append(Item(source="tuxpaint", kind="cutout", path=str(image), text=description,
                        label=stamp_label(description, image), group=f"tuxpaint:{relative}",
                        licence=LICENCE))
    return out


def split_counts(root: Path) -> dict[str, int]:
    """How the stamps divide: SVG drawings, drawing folders, and the pixel test's two sides."""
    base = root / PACKAGE / STAMPS
    counts = {"svg": 0, "drawing_folder": 0, "photo": 0, "drawing": 0}
    for description in base.rglob("*.txt"):
        if description.with_suffix(".svg").exists():
            counts["svg"] += 1
    for image, _ in stamps(root):
        if is_drawing_folder(image.relative_to(base)):
            counts["drawing_folder"] += 1
        else:
            counts["photo" if measure_file(image).is_photo else "drawing"] += 1
    return counts
