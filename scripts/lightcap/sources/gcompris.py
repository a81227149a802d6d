"""Photographs in GCompris's activities (Debian `gcompris-qt-data`), read out of the Qt
resource files (`usr/share/gcompris-qt/rcc/*.rcc`) with `lightcap.sources.rcc` and
written to a cache folder:

- the explore activities (`explore_monuments`, `explore_world_animals`,
  `explore_farm_animals`, `explore_world_music`): each board (resource/board/*.qml) lists
  entries with a `title`, a paragraph `text` and the photo `image2`; the caption is the
  title and the paragraph;
- `categorization` (resource/images/<category>/) and `erase` (resource/): photos labelled
  by file name ("measuringTape6.webp" -> "measuring tape").

Each folder's README gives every file's author, source and licence (public domain, CC0,
CC-BY, CC-BY-SA); the licence is kept per item.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .items import Item, label_of_name
from .rcc import Rcc

PACKAGE = "gcompris-qt-data"
RCC_DIR = Path("usr/share/gcompris-qt/rcc")
EXPLORE = ("explore_monuments", "explore_world_animals", "explore_farm_animals", "explore_world_music")
LABELLED = ("categorization", "erase")
PHOTO_SUFFIXES = (".webp", ".jpg", ".jpeg", ".png")
# Category folders of pictures that are not photographs of things: icons of letters and digits.
SKIP_FOLDERS = {"alphabets", "numbers"}
# File names whose words do not say what the photo shows, or say it oddly.
NAMES = {
    "burj": "burj khalifa", "bayterek": "bayterek tower", "leMusee": "louvre museum",
    "zimniPalace": "winter palace", "jucheTower": "juche tower", "usCapitol": "united states capitol",
    "IndiaGate": "india gate", "kutubMinar": "qutub minar", "operaHouse": "sydney opera house",
    "empireState": "empire state building", "monument": "monument",
    "solar": "solar panels", "geothermal": "geothermal power station",
    "blackslate": "blackboard", "buffetset": "buffet set", "erasers": "erasers", "weighingMachine": "weighing scale",
    "sideCutter": "side cutter", "screwDriver": "screwdriver", "plier": "pliers", "tweezer": "tweezers",
    "cuttingTool": "cutting tool", "nailCutter": "nail clipper", "spray": "spray bottle",
    "long_nosed_monkey": "proboscis monkey", "chamaeleon": "chameleon", "flying_fox": "flying fox",
}
# explore_world_music titles are regions; what each photo shows, looked at one by one.
MUSIC = {
    "australia": "didgeridoo player", "africa": "drums", "middleeast": "lute", "japan": "drummers",
    "ireland": "folk musicians", "italy": "opera singers", "orchestra": "orchestra",
    "mexico": "mariachi band", "america": "drum kit and guitar",
}
# Licence names as the READMEs write them, and their SPDX identifiers.
LICENCES = {"public domain": "PD", "gplv3": "GPL-3.0-or-later", "gplv2+": "GPL-2.0-or-later"}
# Quiz boards reuse the photos with an instruction instead of a description.
_INSTRUCTION = re.compile(r"^(click|find|select|drag|place)\b", re.I)

_QSTR = r'qsTr\("((?:[^"\\]|\\.)*)"\)'
_FIELD = re.compile(r'"(title|text|image2)"\s*:\s*(?:' + _QSTR + r'|"([^"]*)")')


def licence_id(name: str) -> str:
    name = " ".join(name.split())
    return LICENCES.get(name.lower()) or re.sub(r"\s+", "-", name)


def parse_readme(text: str) -> dict[str, str]:
    """File name -> licence, from a README of blocks separated by blank lines, each with a
    `License:` line and a `Files:` list (on the same line or the lines after it)."""
    out: dict[str, str] = {}
    for block in re.split(r"\n\s*\n", text):
        licence, files, in_files = None, [], False
        for line in block.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("license", "licence") and value.strip():
                licence, in_files = licence_id(value.strip()), False
            elif key.strip().lower() == "files":
                in_files = True
                files += value.split()
            elif in_files and line.strip() and ":" not in line:
                files += line.split()
            else:
                in_files = False
        for name in files:
            if licence:
                out[name] = licence
    return out


def parse_board(text: str) -> list[dict[str, str]]:
    """The entries of an explore board: dicts with title, text and image2 (a qrc: path)."""
    entries, current = [], {}
    for match in _FIELD.finditer(text):
        key = match.group(1)
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if key == "title" and current:
            entries.append(current)
            current = {}
        # First value wins: after the last entry, level settings repeat keys ("text").
        current.setdefault(key, value.replace('\\"', '"').replace("\\'", "'"))
    if current:
        entries.append(current)
    return [e for e in entries if {"title", "text", "image2"} <= e.keys()]


def name_label(stem: str) -> str:
    base = re.sub(r"\d+$", "", stem)
    return NAMES.get(base) or NAMES.get(stem) or label_of_name(base)


def _licences(files: dict[str, bytes]) -> dict[str, str]:
    """(folder, file name) -> licence for every README in one rcc, keyed by full path."""
    out: dict[str, str] = {}
    for path, data in files.items():
        if path.rsplit("/", 1)[-1] == "README":
            folder = path.rsplit("/", 1)[0]
            for name, licence in parse_readme(data.decode("utf-8", errors="replace")).items():
                out[f"{folder}/{name}"] = licence
    return out


def _write(cache: Path, path: str, data: bytes) -> Path:
    out = cache / path
    if not out.is_file() or out.stat().st_size != len(data):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return out


def items(root: Path, cache: Path | None = None) -> list[Item]:
    rcc_dir = root / PACKAGE / RCC_DIR
    cache = cache or root / "cache" / "gcompris"
    out: list[Item] = []
    seen: set[str] = set()  # photo digests: categorization reuses some explore photos

    def add(path: str, data: bytes, text: str, label: str, licences: dict[str, str]):
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen or path not in licences:
            return  # a copy, or a file no README licenses (two in 3.1)
        seen.add(digest)
        # The file's own name: explore boards and categorization show some of the same
        # monuments and animals ("colosseum.webp") as different files.
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        out.append(Item(source="gcompris", kind="photo", path=str(_write(cache, path, data)), text=text,
                        label=label, group=f"gcompris:{stem}",
                        licence=licences[path]))

    for activity in EXPLORE:
        files = Rcc.open(rcc_dir / f"{activity}.rcc").files()
        licences = _licences(files)
        for path in sorted(p for p in files if "/resource/board/" in p and p.endswith(".qml")):
            for entry in parse_board(files[path].decode("utf-8")):
                image = entry["image2"].removeprefix("qrc:/")
                if image not in files or _INSTRUCTION.match(entry["text"]):
                    continue
                title = " ".join(entry["title"].split())
                paragraph = " ".join(entry["text"].split())
                stem = image.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                label = MUSIC.get(stem, title.lower()) if activity == "explore_world_music" \
                    else title.split(",")[0].lower()  # "Taj Mahal, India"
                add(image, files[image], f"{title}. {paragraph}", label, licences)

    for activity in LABELLED:
        files = Rcc.open(rcc_dir / f"{activity}.rcc").files()
        licences = _licences(files)
        for path in sorted(files):
            folder = path.rsplit("/", 2)[-2]
            if not path.lower().endswith(PHOTO_SUFFIXES) or folder in SKIP_FOLDERS:
                continue
            label = name_label(path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
            add(path, files[path], label, label, licences)
    return out
