"""Desktop wallpapers and drawing-program backgrounds that are photographs, as
backgrounds with short captions:

- Debian `plasma-workspace-wallpapers` (usr/share/wallpapers/<Name>/): licence from
  each wallpaper's metadata.json (LGPL-3.0 or CC-BY-SA-4.0);
- Debian `mate-backgrounds`, the `nature/` folder (GPL-2+);
- Debian `lomiri-wallpapers-16.04` and `-20.04` (usr/share/backgrounds/): licence per
  file from the packages' machine-readable copyright files (CC0, CC-BY, CC-BY-SA);
- Debian `tuxpaint-data`, the photo templates (usr/share/tuxpaint/templates/, GPL-2+).

Plasma and Lomiri wallpapers are named for moods and authors ("ColdRipple",
"life_by_Aitzol_Berasategi"), and half of them are abstract art, so the photographs and
their captions are listed below, written by looking at each one; MATE and Tux Paint
file names say what the photo shows and are captioned from the names.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from .items import Item, label_of_name

# Wallpaper folder -> (caption, label). Not listed: abstract art and paintings (Altai,
# Autumn, Canopee, Cascade, Cluster, ColorfulCups, Elarun, Flow, FlyingKonqui, Honeywave,
# IceCold, Kay, Kite, Kokkini, MilkyWay, Opal, PastelHills, Patak, SafeLanding, Shell).
PLASMA = {
    "BytheWater": ("wooden boards by a lake", "lake"),
    "ColdRipple": ("a wooden pier on a misty lake", "pier"),
    "DarkestHour": ("a lake in fog at dusk", "lake"),
    "EveningGlow": ("rowing boats on a lake shore at sunset", "rowing boat"),
    "FallenLeaf": ("a fallen autumn leaf on the ground", "leaf"),
    "Grey": ("the curved metal front of a building", "building"),
    "OneStandsOut": ("moss seen from above", "moss"),
    "Path": ("a path through a pine forest", "forest path"),
    "Volna": ("a wave on a sandy beach seen from above", "beach"),
    "summer_1am": ("a calm lake under a pink evening sky", "lake"),
}
# File stem -> (caption, label). Not listed: analogpattern, umang, Fossa, Infinite-Sea,
# Painting-Colors (abstract art).
LOMIRI = {
    "Bridge_by_Sander_Klootwijk": ("the cables of a bridge against the sky", "bridge"),
    "Dragonfly_by_Bolly": ("the leaves of a tree against a blue sky", "tree"),
    "Picture_0B_by_freespace": ("a halved fig in a red bowl", "fig"),
    "Picture_1A_by_freespace": ("paint brushes in a jar", "paint brush"),
    "Wine_by_Jakkub_Mede": ("a room with a drum, a table and a bottle of wine", "room"),
    "aitzgorri_by_Aitzol_Berasategi": ("a green meadow below mountains in autumn", "meadow"),
    "free_by_Peter_Nerlich": ("a small bird flying under round lamps", "bird"),
    "friends_by_Aitzol_Berasategi": ("two dogs looking out of a wooden door", "dog"),
    "greentock_by_Peter_Nerlich": ("the face of a clock close up", "clock"),
    "life_by_Aitzol_Berasategi": ("a stream running over rocks in a forest", "stream"),
    "picosdeeuropa_by_Aitzol_Berasategi": ("a path through a meadow below rocky mountains", "mountain"),
    "seeding_by_Clements_Engelhardt": ("dandelion clocks in a field at sunset", "dandelion"),
    "sunset_by_Aitzol_Berasategi": ("the sun setting over hills", "sunset"),
    "Kleiber_by_Lukas_Baubkus": ("a nuthatch on a tree trunk", "nuthatch"),
}
# MATE nature file stems whose names are moods, not things.
MATE = {
    "Aqua": ("a drop of water splashing", "water drop"),
    "Blinds": ("a green leaf close up", "leaf"),
    "Dune": ("dune grass by the sea", "dune grass"),
    "FreshFlower": ("an orange flower close up", "flower"),
    "Garden": ("a red marigold flower", "marigold"),
    "GreenMeadow": ("green grass close up", "grass"),
    "LadyBird": ("a ladybird on a stem among blue flowers", "ladybird"),
    "RainDrops": ("raindrops on green leaves", "leaf"),
    "Storm": ("storm clouds over a road", "storm cloud"),
    "TwoWings": ("dandelion seeds in front of orange flowers", "dandelion seed"),
    "Wood": ("pale wooden planks close up", "wood"),
    "YellowFlower": ("a yellow flower close up", "flower"),
}
# Tux Paint template names that read badly as captions.
TUXPAINT = {
    "redwoods_above": ("redwood trees seen from below", "redwood tree"),
    "trees_above": ("trees seen from below", "tree"),
    "spiders_web": ("a spider's web", "spider web"),
    "sheep": ("sheep grazing in a green field", "sheep"),
    "wool_mill_machine": ("the gears of a machine in a wool mill", "machine"),
    "burnt_bark": ("burnt tree bark close up", "tree bark"),
    "mossy_bark": ("mossy tree bark close up", "tree bark"),
    "mudstone": ("mudstone rock close up", "rock"),
    "ocean_splash": ("sea water splashing", "splash"),
    "sun_behind_clouds": ("the sun behind clouds", "sun"),
    "sun_behind_leaves": ("the sun behind leaves", "sun"),
    "trees_at_dusk": ("bare trees at dusk", "tree"),
    "corn_maze": ("a maze in a corn field", "corn maze"),
}
SPDX = {"lgplv3": "LGPL-3.0", "gpl-2+": "GPL-2.0-or-later"}


def spdx(name: str) -> str:
    return SPDX.get(name.strip().lower(), name.strip())


def caption_of_name(stem: str) -> tuple[str, str]:
    """("a lighthouse", "lighthouse") from "lighthouse"; plurals and mass nouns go without
    an article when the name ends in -s ("rocks")."""
    label = label_of_name(stem)
    if label.endswith("s") and not label.endswith("ss"):
        return label, label
    return ("an " if label[:1] in "aeiou" else "a ") + label, label


def read_copyright(path: Path) -> dict[str, str]:
    """File base name -> licence, from a Debian machine-readable copyright file."""
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    out: dict[str, str] = {}
    for paragraph in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", paragraph, re.M)
        licence = re.search(r"^License:\s*(\S+)", paragraph, re.M)
        if files and licence:
            for name in files.group(1).split():
                out[name.rsplit("/", 1)[-1]] = spdx(licence.group(1))
    return out


def _plasma_image(folder: Path) -> Path | None:
    """The landscape image nearest 1920 wide: the sizes are one photo at many resolutions."""
    best = None
    for image in (folder / "contents" / "images").glob("*"):
        size = re.match(r"(\d+)x(\d+)$", image.stem)
        if size and int(size.group(1)) > int(size.group(2)):
            distance = abs(int(size.group(1)) - 1920)
            if best is None or distance < best[0]:
                best = (distance, image)
    return best[1] if best else None


def items(root: Path) -> list[Item]:
    out: list[Item] = []

    def add(package: str, image: Path, caption: str, label: str, licence: str):
        out.append(Item(source="wallpapers", kind="background", path=str(image), text=caption,
                        label=label, group=f"wallpapers:{package}/{image.parent.name}/{image.stem}",
                        licence=licence))

    plasma = root / "plasma-workspace-wallpapers" / "usr/share/wallpapers"
    for name, (caption, label) in PLASMA.items():
        image = _plasma_image(plasma / name)
        if image is None:
            continue
        metadata = json.loads((plasma / name / "metadata.json").read_text())
        out_licence = spdx(metadata.get("KPlugin", {}).get("License", "unknown"))
        out.append(Item(source="wallpapers", kind="background", path=str(image), text=caption, label=label,
                        group=f"wallpapers:plasma/{name}", licence=out_licence))

    mate = root / "mate-backgrounds" / "usr/share/backgrounds/mate/nature"
    for image in sorted(mate.glob("*.jpg")):
        caption, label = MATE.get(image.stem) or caption_of_name(image.stem)
        add("mate", image, caption, label, "GPL-2.0-or-later")

    for package in ("lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04"):
        base = root / package
        copyright_files = list((base / "usr/share/doc" / package).glob("copyright*"))
        licences = read_copyright(copyright_files[0]) if copyright_files else {}
        for image in sorted((base / "usr/share/backgrounds").glob("*.jpg")):
            if image.stem in LOMIRI and image.name in licences:
                add("lomiri", image, *LOMIRI[image.stem], licences[image.name])

    templates = root / "tuxpaint-data" / "usr/share/tuxpaint/templates"
    for image in sorted(templates.glob("*.jpg")):
        caption, label = TUXPAINT.get(image.stem) or caption_of_name(image.stem)
        add("tuxpaint", image, caption, label, "GPL-2.0-or-later")
    return out
