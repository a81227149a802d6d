"""Scratch 1.4's media library (Debian `scratch`, media CC-BY-SA-3.0): costumes (GIF
and PNG sprites on transparency) and stage backgrounds (mostly JPEG photographs). Many
people costumes are photographs of people in poses named by the file ("cassy-dancing-1",
"boy4-walking-a"); the animal, fantasy and most object costumes are drawings. Photos are
told from drawings by `lightcap.sources.photo`, and captions are made from file names.
"""

from __future__ import annotations

from pathlib import Path

from .items import Item, words_of_name
from .photo import measure_file

PACKAGE = "scratch"
MEDIA = Path("usr/share/scratch/Media")
LICENCE = "CC-BY-SA-3.0"
COSTUME_FOLDERS = ("People", "Animals", "Things", "Transportation", "Fantasy")
BACKGROUND_FOLDERS = ("Indoors", "Nature", "Outdoors", "Sports")
IMAGE_SUFFIXES = {".gif", ".png", ".jpg"}

# The people in Scratch's photo costumes go by first name; what each picture shows,
# looked at one by one. Unsure ones are "person".
PEOPLE = {
    "amon": "man", "anjuli": "girl", "anna": "girl", "boy": "boy", "calvrett": "boy",
    "cassy": "woman", "chamak": "woman", "dan": "boy", "ed": "man", "girl": "girl",
    "jay": "man", "jodi": "girl", "lee": "woman", "mako": "man", "marissa": "girl",
    "nathan": "boy", "nina": "girl", "paul": "man", "sam": "boy",
}
# Pose words as file names spell them, and how a caption says them.
POSES = {"chillin": "relaxing", "phone": "on the phone", "stop": "signalling stop", "fan": "with a fan",
         "run": "running", "stand": "standing"}
# Names the rules above would get wrong.
FIXED = {
    "football-run": ("a football player running", "football player"),
    "football-stand": ("a football player standing", "football player"),
    "bird-flying": ("a bird flying", "bird"),
    "cheesy-puffs": ("a bowl of cheese puffs", "cheese puffs"),
    "street-cleaner-mit": ("a street sweeper", "street sweeper"),
    "marble-building": ("a marble building", "marble building"),
    "car-blue": ("a blue car", "car"),
    "car-bug": ("a beetle car", "car"),
    "car-cow": ("a car painted like a cow", "car"),
    "hair1": ("a red wig", "wig"),
    "hair2": ("a black afro wig", "wig"),
    "beach-malibu": ("a beach in Malibu", "beach"),
    "building-at-mit": ("a building at MIT", "building"),
    "city-with-water": ("a city by the water", "city"),
    "city-with-water2": ("a city by the water", "city"),
    "route66": ("route 66", "road"),
    "the-movies": ("a cinema", "cinema"),
    "the-movies-inside": ("inside a cinema", "cinema"),
    "hallway_outdoors": ("an outdoor hallway", "hallway"),
    "bench-with-view": ("a bench with a view", "bench"),
    "building-fireproof": ("a brick building", "building"),
    "mural-faro": ("a mural", "mural"),
    "all-sports-mural": ("a sports mural", "mural"),
    "berkeley-mural": ("a mural in Berkeley", "mural"),
    "atom-playground": ("a playground", "playground"),
    "garden-rock": ("a rock in a garden", "rock"),
    "graffiti": ("graffiti on a wall", "graffiti"),
    "lego": ("a lego brick", "lego brick"),
    "palmtree": ("a palm tree", "palm tree"),
    "tennisball": ("a tennis ball", "tennis ball"),
    "sail-boat": ("a sailing boat", "sailing boat"),
    "tug-boat": ("a tugboat", "tugboat"),
    "moon": ("the surface of the moon", "moon"),
    "brick-wall-and-stairs": ("a brick wall and stairs", "brick wall"),
    "woods-and-bench": ("a bench in the woods", "bench"),
    "water-and-rocks": ("water and rocks", "rocks"),
}
# Drawings the pixel test takes for photographs (shaded cartoons), looked at one by one.
DRAWINGS = {"sun", "monkeyking", "monkey1", "skull1", "girl3-basketball", "girl3-running"}


def article(phrase: str) -> str:
    if phrase.endswith("s") and not phrase.endswith("ss"):
        return phrase  # a plural: "flowers", "train tracks"
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def describe(stem: str) -> tuple[str, str]:
    """(caption, label) from a costume or background file name."""
    if stem in FIXED:
        return FIXED[stem]
    words = [w for w in words_of_name(stem) if len(w) > 1 or w in ("a",)]
    # Trailing single letters are frame letters ("boy4-walking-a").
    while words and len(words[-1]) == 1:
        words.pop()
    if words and words[0] in PEOPLE:
        person = PEOPLE[words[0]]
        poses = [POSES.get(w, w) for w in words[1:]]
        return " ".join([article(person), *poses]), person
    label = " ".join(words)
    return article(label), label


def group_of(stem: str) -> str:
    """The split key: all poses of one named person ("cassy-*") share one, and so does
    everything with one label (frames "giraffe1-a" and "-b", "brick-wall1" and "2"):
    likely the same object or place photographed again."""
    words = words_of_name(stem)
    if words and words[0] in PEOPLE and words[0] not in ("boy", "girl"):
        return words[0]
    return describe(stem)[1]


def items(root: Path) -> list[Item]:
    base = root / PACKAGE / MEDIA
    out = []
    for folder, kind in [*((f"Costumes/{f}", "cutout") for f in COSTUME_FOLDERS),
                         *((f"Backgrounds/{f}", "background") for f in BACKGROUND_FOLDERS)]:
        for image in sorted((base / folder).glob("*")):
            if image.suffix.lower() not in IMAGE_SUFFIXES or image.stem in DRAWINGS:
                continue
            if not measure_file(image).is_photo:
                continue
            text, label = describe(image.stem)
            out.append(Item(source="scratch", kind=kind, path=str(image), text=text, label=label,
                            group=f"scratch:{kind}:{group_of(image.stem)}", licence=LICENCE))
    return out
