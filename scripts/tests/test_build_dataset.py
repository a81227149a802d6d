"""The default dataset's builder: text cleaning rules, splits, and a small real build."""

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from lightcap import build_dataset as bd

needs_sources = pytest.mark.skipif(
    not (bd.CLIPART_ROOT.is_dir() and bd.EMOJI_FONT.is_file() and bd.ENGLISH_WORDS.is_file()
         and shutil.which("rsvg-convert")),
    reason="needs Debian openclipart-svg, fonts-noto-color-emoji, wamerican, librsvg2-bin",
)

ENGLISH = {"piggy", "bank", "guitar", "acoustic", "dog", "drawn", "with", "straight", "lines", "hamburger",
           "a", "teapot", "jigsaw", "red", "cloud", "flag", "of", "brazil"}


@pytest.mark.parametrize(
    "raw, caption",
    [
        ("Clipart by Nicu Buculei - jigsaw_red_10", "jigsaw red"),
        ("guitar2", "guitar"),
        ("Dog 01 Drawn With Straight Lines", "dog drawn with straight lines"),
        ("Hamburger (B and W)", "hamburger"),
        ("A teapot. Drawn with Inkscape by someone", "a teapot"),
        ("w_cloud", "cloud"),
        ("flag_of_Brazil.svg flag of brazil", "flag of brazil"),
        ("acoustic guitar http://example.org/guitar", "acoustic guitar"),
    ],
)
def test_titles_are_cleaned_into_captions(raw, caption):
    assert bd.clean_clipart_text(raw, ENGLISH) == (caption, "kept")


@pytest.mark.parametrize(
    "raw, rule",
    [
        ("", "empty"),
        ("jean.victor.balin@example.com", "only an e-mail address"),
        ("Lemon SVG theme", "names a collection"),
        ("Part of the Flat Icon Collection (Wed Aug 25 23:29:46 2004)", "names a collection"),
        ("Ruota dentata grigia", "a word not in the English dictionary"),
        ("EX", "no word of 3 letters or more"),
        ("dog " * 13, "over 12 words"),
    ],
)
def test_junk_titles_are_dropped_with_their_rule(raw, rule):
    assert bd.clean_clipart_text(raw, ENGLISH) == (None, rule)


def test_splits_are_fixed_by_seed_and_group():
    groups = [f"caption {i}" for i in range(2000)]
    splits = [bd.split_of(0, "clipart", g) for g in groups]
    assert splits == [bd.split_of(0, "clipart", g) for g in groups]
    share = {name: splits.count(name) / len(splits) for name in ("train", "val", "test")}
    assert 0.76 < share["train"] < 0.84 and 0.07 < share["val"] < 0.13 and 0.07 < share["test"] < 0.13
    assert splits != [bd.split_of(1, "clipart", g) for g in groups]


@needs_sources
def test_a_small_build_writes_images_captions_and_a_report(tmp_path: Path):
    path = bd.build(tmp_path, seed=0, scenes=12, limit=20, workers=2)
    data = json.loads(path.read_text())
    sources = {image["source"] for image in data["images"]}
    assert sources == {"clipart", "emoji", "scenes"}
    for image in data["images"]:
        with Image.open(tmp_path / image["filepath"] / image["filename"]) as picture:
            assert picture.size == (224, 224)
        assert image["sentences"] and all(s["raw"].strip() for s in image["sentences"])
        assert image["split"] in ("train", "val", "test")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["clipart title: names a collection"] > 100
    # The same seed gives the same dataset.
    again = bd.build(tmp_path / "again", seed=0, scenes=12, limit=20, workers=2)
    assert json.loads(again.read_text()) == data
