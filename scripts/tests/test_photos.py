"""Photo examples and composites: phrasing, splits by source object, captions that name
what was pasted, determinism. Cut-outs and backgrounds are drawn by the tests; one test
uses the unpacked packages and skips without them."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lightcap import build_dataset as bd
from lightcap.photos import SPLIT_KEY, composites, frames, general, phrasing
from lightcap.photos import build as photo_build
from lightcap.photos.places import Subject, place_of, subject_of
from lightcap.sources.items import Item
from lightcap.vocabulary import wordnet

SOURCES_ROOT = Path(__file__).resolve().parents[2] / "build" / "sources"


@pytest.mark.parametrize("noun, count, phrase", [
    ("dog", 1, "a dog"), ("apple", 1, "an apple"), ("dog", 2, "two dogs"), ("man", 2, "two men"),
    ("woman", 3, "three women"), ("sheep", 2, "two sheep"), ("bus", 2, "two buses"),
    ("bunch of grapes", 2, "two bunches of grapes"), ("strawberry", 2, "two strawberries"),
    ("flowers", 1, "flowers"), ("pair of binoculars", 1, "a pair of binoculars"),
])
def test_counted_noun_phrases(noun, count, phrase):
    assert phrasing.counted(noun, count) == phrase


def test_descriptions_are_kept_only_when_they_read_as_one():
    assert phrasing.description_clause("a crocodile", "The crocodile is a large amphibious reptile. It lives.") \
        == "a crocodile, a large amphibious reptile"
    assert phrasing.description_clause("the taj mahal", "The Taj Mahal is a white marble mausoleum located on "
                                       "the bank.") == "the taj mahal, a white marble mausoleum"
    assert phrasing.description_clause("a duck", "The duck goes 'quack'. Ducks swim.") is None
    assert phrasing.description_clause("drums", "Drumming is a part of life in Africa.") is None
    assert phrasing.landmark_phrase("Taj Mahal, India", "The Taj Mahal is ...") == "the taj mahal"
    assert phrasing.landmark_phrase("Rocamadour", "Rocamadour clings to a cliff.") == "rocamadour"


def _cutout_file(tmp: Path, name: str, colour) -> str:
    image = Image.new("RGBA", (80, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((5, 5, 75, 115), fill=(*colour, 255))
    path = tmp / f"{name}.png"
    image.save(path)
    return str(path)


def _background_file(tmp: Path, name: str, colour) -> str:
    rng = np.random.default_rng(len(name))
    pixels = np.clip(np.array(colour) + rng.normal(0, 20, (300, 400, 3)), 0, 255).astype(np.uint8)
    path = tmp / f"{name}.jpg"
    Image.fromarray(pixels).save(path)
    return str(path)


@pytest.fixture
def synthetic_items(tmp_path: Path) -> list[Item]:
    """Scratch-style cut-outs of 30 named objects and backgrounds of every place kind."""
    items = []
    for i, animal in enumerate(["dog", "horse", "cat", "woman dancing", "red car", "goat"] * 5):
        noun = animal.split()[0] if animal == "woman dancing" else animal
        items.append(Item("scratch", "cutout", _cutout_file(tmp_path, f"c{i}", (40 * (i % 6), 90, 160)),
                          f"a {animal}", noun, f"scratch:cutout:{animal}{i}", "CC-BY-SA-3.0"))
    for i, place in enumerate(["beach", "forest", "kitchen", "lake", "hay field", "village", "castle", "hill",
                               "canyon", "pool", "driveway", "playground"] * 3):
        items.append(Item("scratch", "background", _background_file(tmp_path, f"b{i}", (60 + 10 * i, 120, 90)),
                          f"a {place}", place, f"scratch:background:{place}", "CC-BY-SA-3.0"))
    items.append(Item("gcompris", "photo", _background_file(tmp_path, "windmill", (90, 90, 200)), "windmill",
                      "windmill", "gcompris:windmill", "CC0-1.0"))
    return items


def _pools(items, seed=0):
    report = Counter()
    cutouts, backgrounds = photo_build.composite_pools(items, seed, report)
    return cutouts, backgrounds, report


def test_composite_splits_use_only_their_own_cutouts_and_backgrounds(synthetic_items, tmp_path):
    cutouts, backgrounds, _ = _pools(synthetic_items)
    for split in cutouts:
        expected = {i.group for i in synthetic_items if bd.split_of(0, SPLIT_KEY, i.group) == split}
        assert {c.group for c in cutouts[split]} <= expected
        assert {b.group for b in backgrounds.get(split, [])} <= expected
    groups = {split: {c.group for c in pool} for split, pool in cutouts.items()}
    splits = list(groups)
    assert all(not (groups[a] & groups[b]) for a in splits for b in splits if a != b)


def test_captions_name_every_pasted_subject(synthetic_items):
    cutouts, backgrounds, _ = _pools(synthetic_items)
    pool = cutouts["train"]
    for index in range(40):
        rng = np.random.default_rng(index)
        chosen = [pool[i] for i in rng.choice(len(pool), size=1 + index % 3, replace=False)]
        image, placed = composites.compose(chosen, backgrounds["train"][index % len(backgrounds["train"])], rng)
        assert image.size == (224, 224) and len(placed) == len(chosen)
        captions = composites.captions_for(placed, backgrounds["train"][0], rng)
        assert 3 <= len(captions) <= 5 and len(set(captions)) == len(captions)
        for caption in captions:
            for cutout in chosen:
                names = [n for n in (cutout.subject.noun, general.general_noun(cutout.subject.noun)) if n]
                assert any(n in caption or phrasing.plural(n) in caption for n in names), (caption, names)


needs_wordnet = pytest.mark.skipif(not wordnet.available(), reason="WordNet 3.0 not installed (wordnet-base)")


@needs_wordnet
@pytest.mark.parametrize("noun, word", [
    ("blackbird", "bird"), ("emperor tamarin", "monkey"), ("red apple", "apple"), ("pair of cherries", "fruits"),
    ("walnut in its shell", "nut"), ("cuckoo", "bird"), ("heron", "bird"), ("apricot", "fruit"),
    ("sumatran tiger", "tiger"), ("dog", None), ("two flowers", None), ("measuring tape", None),
])
def test_general_words_are_everyday_and_never_vague(noun, word):
    # A cuckoo is first a silly person and Heron a Greek engineer in WordNet; a measuring
    # tape is only a 'device', which names nothing to a listener.
    assert general.general_noun(noun) == word


@needs_wordnet
def test_general_captions_replace_nouns_with_their_articles_and_plurals():
    assert general.generalise("two blackbirds and a red apple in a field", ["blackbird", "red apple"]) == \
        "two birds and an apple in a field"
    assert general.generalise("the sumatran tiger at night", ["sumatran tiger"]) == "a tiger at night"
    captions = ["a blackbird on a beach", "a photo of a blackbird", "a blackbird", "a picture of a blackbird"]
    assert general.with_general_captions(captions, ["blackbird"]) == \
        ["a blackbird on a beach", "a photo of a bird", "a blackbird", "a picture of a bird"]


def test_a_repeated_cutout_is_counted():
    background = composites.Background("a field", ("in a field",), Image.new("RGB", (300, 300), "green"), "g")
    cutout = composites.Cutout(Subject("horse"), Image.new("RGBA", (40, 60), (120, 80, 40, 255)), "h")
    image, placed = composites.compose([cutout, cutout], background, np.random.default_rng(0))
    captions = composites.captions_for(placed, background, np.random.default_rng(0))
    assert captions[0] == "two horses in a field"
    assert all("two horses" in c for c in captions)


def test_composites_are_the_same_for_a_seed_whatever_the_workers(synthetic_items, tmp_path):
    cutouts, backgrounds, _ = _pools(synthetic_items)
    runs = []
    for name, workers in (("one", 1), ("two", 2)):
        out = tmp_path / name
        out.mkdir()
        entries = composites.build(out, 20, 0, cutouts, backgrounds, workers)
        pixels = [np.asarray(Image.open(out / e["name"])).tobytes() for e in entries]
        runs.append((entries, pixels))
    assert runs[0] == runs[1]
    other = tmp_path / "seed1"
    other.mkdir()
    assert composites.build(other, 20, 1, cutouts, backgrounds, 1) != runs[0][0]


def test_frames_keep_their_item_split_and_caption_the_label(synthetic_items, tmp_path):
    photos = [i for i in synthetic_items if i.kind in ("photo", "background")]
    pairs = photo_build.split_items(photos, 0)
    entries = frames.build(tmp_path, pairs, 0, crops=2, workers=2)
    by_group = {}
    for entry in entries:
        by_group.setdefault(entry["group"], set()).add(entry["split"])
        assert Image.open(tmp_path / entry["name"]).size == (224, 224)
    assert all(len(splits) == 1 for splits in by_group.values())
    windmill = [e for e in entries if e["group"] == "gcompris:windmill"]
    assert windmill[0]["captions"][0] == "a windmill"
    assert any(c.startswith(("a photo of", "a picture of", "a photograph of", "an image of")) or c.endswith("in a photo")
               for c in windmill[0]["captions"])
    assert len(windmill) == (3 if bd.split_of(0, SPLIT_KEY, "gcompris:windmill") == "train" else 1)


@pytest.mark.skipif(not SOURCES_ROOT.is_dir(), reason="needs build/sources (scripts/fetch-photo-sources.sh)")
def test_real_sources_have_places_subjects_and_disjoint_splits():
    from lightcap.sources.inventory import collect

    items = collect(SOURCES_ROOT)
    backgrounds = [i for i in items if i.kind == "background"]
    assert sum(place_of(i) is not None for i in backgrounds) > 60
    subjects = [subject_of(i) for i in items if i.kind == "cutout"]
    assert sum(s is not None for s in subjects) > 350
    split = {i.group: bd.split_of(0, SPLIT_KEY, i.group) for i in items}
    assert {"train", "val", "test"} <= set(split.values())
    for i in items:  # one group, one split: the split is a function of the group alone
        assert split[i.group] == bd.split_of(0, SPLIT_KEY, i.group)
    assert json.dumps(sorted(set(split.values())))
