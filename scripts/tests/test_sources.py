"""The photo sources: file-name rules, Tux Paint descriptions, the rcc reader (against
files this test writes), GCompris README and board parsing, the photo/drawing test, and
one real inventory when build/sources has been fetched."""

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightcap.sources import gcompris, inventory, scratch, tuxpaint  # noqa: E402
from lightcap.sources.items import Item, label_of_name, label_of_sentence, words_of_name  # noqa: E402
from lightcap.sources.photo import measure  # noqa: E402
from lightcap.sources.rcc import Rcc, RccError  # noqa: E402

SOURCES = Path(__file__).resolve().parents[2] / "build" / "sources"

# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("name, words", [
    ("boy4-walking", ["boy", "walking"]),
    ("hay_field", ["hay", "field"]),
    ("BeachMalibu2", ["beach", "malibu"]),
    ("measuringTape6", ["measuring", "tape"]),
    ("025quarter", ["quarter"]),
    ("001", []),
])
def test_words_of_name(name, words):
    assert words_of_name(name) == words


def test_label_of_name_drops_words_about_the_file():
    assert label_of_name("Candy_cane_photo") == "candy cane"
    assert label_of_name("bedroom1") == "bedroom"


@pytest.mark.parametrize("sentence, label", [
    ("A coral trout.", "coral trout"),
    ("An otter.", "otter"),
    ("A happy lion!", "happy lion"),
    ("A US 25 cent piece ($.25) called a quarter.", None),  # says more than it names
    ("Jupiter—the largest planet in our solar system!", None),
])
def test_label_of_sentence(sentence, label):
    assert label_of_sentence(sentence) == label


@pytest.mark.parametrize("stem, caption, label", [
    ("cassy-dancing-1", "a woman dancing", "woman"),
    ("boy4-walking-a", "a boy walking", "boy"),
    ("breakdancer1", "a breakdancer", "breakdancer"),
    ("cassy-phone-1", "a woman on the phone", "woman"),
    ("hay_field", "a hay field", "hay field"),
    ("elephant", "an elephant", "elephant"),
    ("train-tracks1", "train tracks", "train tracks"),
    ("beach-malibu", "a beach in Malibu", "beach"),
])
def test_scratch_names(stem, caption, label):
    assert scratch.describe(stem) == (caption, label)


def test_scratch_groups_keep_one_person_and_one_costume_together():
    assert scratch.group_of("cassy-dancing-1") == scratch.group_of("cassy-sitting-1") == "cassy"
    assert scratch.group_of("giraffe1-a") == scratch.group_of("giraffe1-b") == "giraffe"
    assert scratch.group_of("brick-wall1") == scratch.group_of("brick-wall2")
    assert scratch.group_of("girl5") != scratch.group_of("cassy-chillin")


def test_item_rejects_unknown_kind_and_empty_label():
    with pytest.raises(ValueError):
        Item("s", "drawing", "p", "t", "l", "g", "CC0-1.0")
    with pytest.raises(ValueError):
        Item("s", "photo", "p", "t", "", "g", "CC0-1.0")

# ----------------------------------------------------------------------------- Tux Paint


def test_tuxpaint_description_is_the_first_line(tmp_path):
    path = tmp_path / "cat.txt"
    path.write_text("A  lion.\nach.utf8=Labwor.\naf.utf8='n Leeu\n", encoding="utf-8")
    assert tuxpaint.read_description(path) == "A lion."


def test_tuxpaint_description_with_bom_and_without_english(tmp_path):
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffA rubber duck.\nde.utf8=Eine Gummiente.\n".encode("utf-8"))
    assert tuxpaint.read_description(bom) == "A rubber duck."
    only_translations = tmp_path / "none.txt"
    only_translations.write_text("de.utf8=Eine Gummiente.\n", encoding="utf-8")
    assert tuxpaint.read_description(only_translations) is None
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert tuxpaint.read_description(empty) is None


def test_tuxpaint_label_falls_back_to_name_then_folder():
    assert tuxpaint.stamp_label("A coral trout.", Path("animals/fish/coraltrout.png")) == "coral trout"
    assert tuxpaint.stamp_label("A US 25 cent piece ($.25) called a quarter.",
                                Path("money/us/coins/025quarter.png")) == "quarter"
    assert tuxpaint.stamp_label("A European coin of 1 euro (1 €).", Path("money/euro/coins/001.png")) == "coin"

# ----------------------------------------------------------------------------- rcc


def write_rcc(files: dict[str, bytes], version: int = 3, compress: set[str] = frozenset()) -> bytes:
    """A Qt binary resource file holding `files` ("a/b.txt" -> bytes), laid out as the
    reader expects: header, data, names, tree. Directory children are stored contiguously
    and sorted by name."""
    tree: dict = {}
    for path, data in files.items():
        node = tree
        *folders, leaf = path.split("/")
        for folder in folders:
            node = node.setdefault(folder, {})
        node[leaf] = data

    names, name_offsets = bytearray(), {}

    def name_offset(name: str) -> int:
        if name not in name_offsets:
            name_offsets[name] = len(names)
            encoded = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(encoded) // 2, 0) + encoded)
        return name_offsets[name]

    data_blob = bytearray()
    nodes: list[bytes] = []
    # Breadth-first: node 0 is the root, each directory's children follow as one run.
    order: list[tuple[str, object, str]] = [("", tree, "")]
    for name, value, path in order:  # grows while it is walked
        if isinstance(value, dict):
            order += [(child, value[child], f"{path}/{child}" if path else child) for child in sorted(value)]
    # A directory's first child is the next unused index when its turn comes.
    first_child, position = {}, 1
    for i, (name, value, path) in enumerate(order):
        if isinstance(value, dict):
            first_child[i] = position
            position += len(value)
    for i, (name, value, path) in enumerate(order):
        offset = name_offset(name) if i else 0
        if isinstance(value, dict):
            node = struct.pack(">IHII", offset, 2, len(value), first_child[i])
        else:
            payload = value
            flags = 0
            if path in compress:
                payload = struct.pack(">I", len(value)) + zlib.compress(value)
                flags = 1
            node = struct.pack(">IHHHI", offset, flags, 0, 0, len(data_blob))
            data_blob.extend(struct.pack(">I", len(payload)) + payload)
        if version >= 2:
            node += struct.pack(">Q", 0)
        nodes.append(node)

    header_size = 24 if version >= 3 else 20
    data_at = header_size
    names_at = data_at + len(data_blob)
    tree_at = names_at + len(names)
    header = b"qres" + struct.pack(">IIII", version, tree_at, data_at, names_at)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + bytes(data_blob) + bytes(names) + b"".join(nodes)


FILES = {
    "gcompris/src/activities/x/resource/README": b"License: CC0-1.0\nFiles: a.webp\n",
    "gcompris/src/activities/x/resource/a.webp": b"\x00\x01 photo bytes " * 40,
    "gcompris/src/activities/x/Board.qml": "title: qsTr(\"Ch\u00e9ri\")".encode(),
    "top.txt": b"",
}


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_reads_back_what_was_written(version):
    blob = write_rcc(FILES, version=version, compress={"gcompris/src/activities/x/resource/a.webp"})
    rcc = Rcc(blob)
    assert rcc.version == version
    assert rcc.files() == FILES
    compressed = [e for e in rcc.entries() if e.flags & 1]
    assert [e.path for e in compressed] == ["gcompris/src/activities/x/resource/a.webp"]


def test_rcc_unicode_names_and_nesting():
    files = {"d\u00e9j\u00e0/vu/\u65e5\u672c.txt": b"x", "a.txt": b"y"}
    assert Rcc(write_rcc(files)).files() == files


def test_rcc_rejects_bad_files():
    with pytest.raises(RccError):
        Rcc(b"PK\x03\x04" + bytes(40))
    blob = bytearray(write_rcc(FILES))
    struct.pack_into(">I", blob, 4, 9)  # unknown version
    with pytest.raises(RccError):
        Rcc(bytes(blob))
    truncated = write_rcc(FILES)[:-30]  # the last tree node is cut off
    with pytest.raises(RccError):
        Rcc(truncated).files()


def test_rcc_detects_a_wrong_uncompressed_size():
    path = "top.txt"
    files = {path: b"hello hello hello"}
    blob = bytearray(write_rcc(files, compress={path}))
    struct.pack_into(">I", blob, 24 + 4, 999)  # the entry's stated uncompressed size
    with pytest.raises(RccError):
        Rcc(bytes(blob)).files()

# ----------------------------------------------------------------------------- GCompris


def test_gcompris_readme_licences():
    readme = """Copyright: Timothée Giet, 2020
License: CC-BY-SA 4.0
Files:
cat.svg
cow.svg

Copyright: Loliloli
License: Public Domain
Source: https://commons.wikimedia.org/wiki/File:X.JPG
Files:
cat.webp

Copyright: aussiegall
Source: https://commons.wikimedia.org/wiki/File:Y.jpg
License: CC-BY-2.0
Comments: cropping, sharpening
Files: bee.webp
"""
    assert gcompris.parse_readme(readme) == {
        "cat.svg": "CC-BY-SA-4.0", "cow.svg": "CC-BY-SA-4.0", "cat.webp": "PD", "bee.webp": "CC-BY-2.0"}


def test_gcompris_board_entries():
    board = r'''
    tab : [
        {
            "image": "qrc:/a/horse.svg",
            "title": qsTr("Horse"),
            "text": qsTr("The horse goes 'neigh'. It says \"hi\"."),
            "image2": "qrc:/a/horse.webp",
            "text2": qsTr("This animal has hooves."),
        },
        {
            "title": qsTr("Sheep"),
            "text": qsTr("The sheep goes 'baa'."),
            "image2": "qrc:/a/sheep.webp",
        }
    ]
    property var levels: [ { "text": qsTr("Click on the animal.") } ]
    '''
    entries = gcompris.parse_board(board)
    assert [(e["title"], e["image2"]) for e in entries] == [("Horse", "qrc:/a/horse.webp"),
                                                            ("Sheep", "qrc:/a/sheep.webp")]
    assert entries[0]["text"] == "The horse goes 'neigh'. It says \"hi\"."
    assert entries[1]["text"] == "The sheep goes 'baa'."  # not the level instruction after it


def test_gcompris_name_labels():
    assert gcompris.name_label("measuringTape6") == "measuring tape"
    assert gcompris.name_label("fish20") == "fish"
    assert gcompris.name_label("burj") == "burj khalifa"

# ----------------------------------------------------------------------------- photo test


def cutout(pixels: np.ndarray) -> Image.Image:
    """An RGB array on a transparent square, with a transparent margin."""
    h, w, _ = pixels.shape
    rgba = np.zeros((h + 20, w + 20, 4), np.uint8)
    rgba[10:-10, 10:-10, :3] = pixels
    rgba[10:-10, 10:-10, 3] = 255
    return Image.fromarray(rgba)


def test_flat_drawing_is_not_a_photo():
    drawing = np.zeros((120, 120, 3), np.uint8)
    drawing[:, :60] = (200, 30, 30)
    drawing[:, 60:] = (30, 30, 200)
    assert not measure(cutout(drawing)).is_photo


def test_smooth_gradient_is_not_a_photo():
    ramp = np.linspace(0, 255, 120).astype(np.uint8)
    gradient = np.stack([np.tile(ramp, (120, 1))] * 3, axis=-1)
    assert not measure(cutout(gradient)).is_photo


def test_textured_image_is_a_photo():
    rng = np.random.default_rng(0)
    base = np.linspace(60, 190, 120)[None, :, None] + rng.normal(0, 12, (120, 120, 3))
    assert measure(cutout(np.clip(base, 0, 255).astype(np.uint8))).is_photo


def test_tiny_stamp_is_not_judged():
    rng = np.random.default_rng(0)
    assert not measure(cutout(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))).is_photo

# ----------------------------------------------------------------------------- real data


@pytest.mark.skipif(not (SOURCES / "gcompris-qt-data").is_dir(),
                    reason="needs scripts/fetch-photo-sources.sh to have run")
def test_real_inventory(tmp_path):
    out = tmp_path / "inventory.json"
    inventory.main(["--root", str(SOURCES), "--out", str(out)])
    items = json.loads(out.read_text())
    by_source: dict[str, list] = {}
    for item in items:
        by_source.setdefault(item["source"], []).append(item)
        assert Path(item["path"]).is_file()
        assert item["text"] and item["label"] and item["licence"]
    # Counts as of the Debian 12 packages, with slack for small upstream changes.
    assert 300 <= len(by_source["tuxpaint"]) <= 400
    assert 130 <= len(by_source["scratch"]) <= 170
    assert 240 <= len(by_source["gcompris"]) <= 270
    assert 45 <= len(by_source["wallpapers"]) <= 65
    explore = [i for i in by_source["gcompris"] if "/explore_" in i["path"]]
    assert len(explore) >= 80 and all(len(i["text"].split()) > 5 for i in explore)
    labels = {i["label"] for i in items}
    assert {"otter", "colosseum", "hay field", "woman", "lighthouse"} <= labels
    with Image.open(next(i["path"] for i in explore)) as image:
        assert min(image.size) >= 200
