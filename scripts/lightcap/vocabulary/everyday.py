"""Everyday concepts, the ImageNet class -> concept map, and names_object.

Reads the curated table of concepts.py, the ImageNet class list of imagenet.py
and the WordNet noun database (wordnet.py). Writes nothing; build.py turns the
result into concept_map.json.

A concept is a word people say about a photograph ('cat', 'coffee',
'building') standing for one or more WordNet synsets, its anchors. An
ImageNet class implies every concept one of whose anchors lies on a hypernym
chain above the class (instance hypernyms included), most specific first:
'tabby' -> cat, animal. Three small tables patch WordNet where its hierarchy
does not give the word people say: OVERRIDES adds concepts (a moped is a
'minibike' there, which people call a scooter; WORN_BY_PEOPLE adds 'person' to the
garments ImageNet photographs on people), REPLACE swaps them where
ImageNet took an odd sense (its 'cup' is a punch), and CUT_EDGES drops links
nobody means (a wheeled vehicle is a 'container' in WordNet).

When a caption names a labelled object (names_object): a caption word counts
when one of its main senses is

  * a sense of the label itself or a synonym (a lemma of the same synset);
  * a hyponym, anything below the label ('kitten', 'tabby' name a cat);
  * a hypernym of the label that is still an everyday concept or lies below
    one: 'feline', 'mammal' and 'animal' name a cat, 'organism', 'object' and
    'entity' do not, because no everyday concept lies at or above them.

A word's main senses are its first sense and any other WordNet's tagged
texts (cntlist) saw at least half as often, at most three; for a word that
is itself a concept, its anchors count too. This keeps rare senses out: 'toy'
(a toy dog) does not name a dog, 'queen' (a female cat) does not name a cat,
'star' (a performer) does not name a person.
A label that is a concept stands for its anchors; any other label for its
main senses, plus the override concepts where it is an ImageNet class ('a
scooter' names a moped). EXTRA_WORDS adds the few words WordNet files apart
('kitten' is a 'young mammal' there, not a cat). Plurals are folded through WordNet's noun.exc and the regular
English endings; of overlapping phrases the longest wins ('hot dog' is not a
dog).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import imagenet, wordnet
from .concepts import ALL_SENSES, SECTION_LEXFILES, SECTIONS

# A caption word means its first sense, or another tagged at least this
# fraction as often in WordNet's concordances (cntlist), at most three: 'star'
# the performer (3 tags against 8) and 'queen' the cat (4 against 16) stay out.
MAIN_SENSE_RATIO = 0.5
MAX_MAIN_SENSES = 3
MAX_PHRASE_WORDS = 4

# Concepts WordNet's hypernyms do not give, by ImageNet wnid. Kept small: each
# entry is a place where the word people say is not a WordNet ancestor.
OVERRIDES: dict[str, tuple[str, ...]] = {
    "n01514668": ("rooster", "chicken"),  # cock: ImageNet took 'adult male bird'; its photos are chickens
    "n01514859": ("hen", "chicken"),  # hen: likewise 'adult female bird'
    "n03785016": ("scooter",),  # moped: a minibike (so a motorcycle) in WordNet; looks like a scooter
    "n03791053": ("motorcycle",),  # motor scooter: only a 'wheeled vehicle' in WordNet
    "n02825657": ("church", "tower"),  # bell cote: a shelter for bells on a church roof
    "n03045698": ("clothing",),  # cloak: filed as a plain covering
    "n03047690": ("shoe",),  # clog: footwear, which the table leaves general
    "n03837869": ("monument",),  # obelisk: a column
    "n07248320": ("book",),  # book jacket: a wrapping
    "n03637318": ("lamp",),  # lampshade: a shade
    "n04589890": ("window",),  # window screen
    "n04590129": ("window",),  # window shade
    "n04264628": ("keyboard",),  # space bar: a key
    "n09399592": ("coast", "cliff"),  # promontory: a natural elevation
    "n09421951": ("beach",),  # sandbar: a ridge
    "n12620546": ("fruit",),  # hip: a botanical fruit, not an 'edible fruit' in WordNet
    "n01871265": ("elephant",),  # tusker: any animal with tusks; the photos are elephants
    "n11879895": ("field", "flower"),  # rapeseed: a seed in WordNet; the photos are flowering fields
    "n09332890": ("lake",),  # lakeside: a shore
    "n04562935": ("tower",),  # water tower: a reservoir
    "n04447861": ("toilet",),  # toilet seat: a seat
    "n04553703": ("sink",),  # washbasin: a basin
    "n04346328": ("temple",),  # stupa: a shrine
}

# Garments ImageNet photographs on the people wearing them: each also implies 'person',
# so that a portrait of a man in a suit is a person before it is clothing. Only the
# class map uses this (a caption "a person" does not name a suit).
WORN_BY_PEOPLE: frozenset[str] = frozenset({
    "n03763968", "n04350905", "n02883205", "n04591157", "n03595614", "n04370456",  # uniform, suit, ties, jersey, sweatshirt
    "n03630383", "n02669723", "n02963159", "n02837789", "n04371430", "n03770439",  # lab coat, gown, cardigan, bikini, trunks, miniskirt
    "n02667093", "n03617480", "n03787032", "n04584207", "n03877472", "n02730930",  # abaya, kimono, mortarboard, wig, pajama, apron
    "n03710637", "n03710721", "n03404251", "n04479046", "n03980874", "n04136333",  # maillots, fur coat, trench coat, poncho, sarong
    "n04532106", "n04325704", "n03325584", "n03534580", "n03866082", "n03450230",  # vestment, stole, boa, hoopskirt, overskirt, gown
    "n03124170", "n04259630", "n02869837", "n03594734", "n03045698",  # cowboy hat, sombrero, bonnet, jean, cloak
})

# Classes whose WordNet synset is not what their photos show: these concepts
# replace WordNet's instead of adding to them.
REPLACE: dict[str, tuple[str, ...]] = {
    "n07930864": ("cup",),  # cup: ImageNet took the punch served in a 'cup'; its photos are cups
    "n07565083": (),  # menu: 'fare' (food) in WordNet; the photos are printed menus
}

# Hypernym links the concept map does not follow, as (child, parent) specs:
# WordNet files a wheeled vehicle under 'container' and a musical instrument
# under 'device', which nobody means by those words.
CUT_EDGES: tuple[tuple[str, str], ...] = (
    ("wheeled_vehicle#1", "container#1"),
    ("musical_instrument#1", "device#1"),
    ("candle#1", "lamp#1"),
    ("spoon#1", "container#1"),
)

# Words that name a concept although WordNet files them elsewhere: a kitten
# and a puppy are 'young mammals' there, 'people' is a group.
EXTRA_WORDS: dict[str, tuple[str, ...]] = {
    "cat": ("kitten", "kitty"),
    "dog": ("pup",),
    "person": ("people", "folk"),
}


@dataclass(frozen=True)
class Concept:
    name: str
    section: str
    anchors: tuple[int, ...]  # WordNet noun offsets


class VocabularyError(ValueError):
    """The curated table names a lemma or sense WordNet does not have."""


def parse_section(text: str) -> list[tuple[str, list[str]]]:
    """Lines 'concept = spec spec' (or a bare 'concept') as (concept, specs)."""
    rows = []
    for raw in text.strip().splitlines():
        line = raw.split("  #", 1)[0].strip()
        if not line:
            continue
        name, eq, rhs = line.partition("=")
        name = name.strip()
        specs = rhs.split() if eq else [name.replace(" ", "_")]
        rows.append((name, specs))
    return rows


def resolve_spec(wn: wordnet.WordNet, spec: str, lexfiles: frozenset[int], all_senses: bool = False) -> list[int]:
    """The synset offsets a 'lemma' or 'lemma#n' spec stands for."""
    lemma, hash_, number = spec.partition("#")
    senses = wn.senses(lemma)
    if not senses:
        raise VocabularyError(f"{lemma!r} is not a WordNet noun")
    if hash_:
        n = int(number)
        if not 1 <= n <= len(senses):
            raise VocabularyError(f"{lemma!r} has {len(senses)} senses, not {n}")
        return [senses[n - 1]]
    matching = [o for o in senses if wn.synset(o).lex_filenum in lexfiles]
    if matching:
        return matching if all_senses else matching[:1]
    raise VocabularyError(f"no sense of {lemma!r} in lexicographer files {sorted(lexfiles)}")


class Vocabulary:
    """The everyday concepts resolved against one WordNet."""

    def __init__(self, wn: wordnet.WordNet | None = None):
        self.wn = wn or wordnet.load()
        merged: dict[str, Concept] = {}
        for section, text in SECTIONS.items():
            for name, specs in parse_section(text):
                anchors: tuple[int, ...] = ()
                for spec in specs:
                    for a in resolve_spec(self.wn, spec, SECTION_LEXFILES[section], section in ALL_SENSES):
                        if a not in anchors:
                            anchors += (a,)
                if name in merged:
                    # A concept listed in two sections ('mouse': rodent and
                    # computer mouse) stands for the senses of both.
                    old = merged[name]
                    anchors = old.anchors + tuple(a for a in anchors if a not in old.anchors)
                    merged[name] = Concept(name, old.section, anchors)
                else:
                    merged[name] = Concept(name, section, anchors)
        self.concepts = merged
        self.blocked = frozenset(
            (resolve_spec(self.wn, c, frozenset())[0], resolve_spec(self.wn, p, frozenset())[0]) for c, p in CUT_EDGES
        )
        self._accepted: dict[tuple[str, bool], frozenset[int]] = {}
        self._by_anchor: dict[int, list[str]] = {}
        for c in merged.values():
            for a in c.anchors:
                self._by_anchor.setdefault(a, []).append(c.name)

    # -- synsets -> concepts ----------------------------------------------

    def ancestors(self, offset: int) -> dict[int, int]:
        return self.wn.ancestors(offset, self.blocked)

    def descendants(self, offset: int) -> set[int]:
        return self.wn.descendants(offset, self.blocked)

    def concepts_of_synset(self, offset: int) -> list[str]:
        """Concepts implied by a synset: anchors at or above it, most specific
        first (deepest anchor in the hierarchy; 'bird' before 'animal' even
        where a shorter path reaches 'animal' through 'game')."""
        depth: dict[str, int] = {}
        for ancestor in self.ancestors(offset):
            for name in self._by_anchor.get(ancestor, ()):
                depth[name] = max(depth.get(name, -1), self.wn.depth(ancestor))
        return sorted(depth, key=lambda n: (-depth[n], n))

    def concept_depth(self, name: str) -> int:
        return max(self.wn.depth(a) for a in self.concepts[name].anchors)

    def concepts_of_class(self, index: int) -> list[str]:
        """Concepts implied by ImageNet class `index`: WordNet's and the
        overrides (or the replacement), most specific first."""
        cls = imagenet.classes()[index]
        if cls.wnid in REPLACE:
            found, extra = [], REPLACE[cls.wnid]
        else:
            found, extra = self.concepts_of_synset(cls.offset), OVERRIDES.get(cls.wnid, ())
        if cls.wnid in WORN_BY_PEOPLE:
            extra = (*extra, "person")
        for name in extra:
            if name not in self.concepts:
                raise VocabularyError(f"override for {cls.wnid} names unknown concept {name!r}")
            if name not in found:
                found.append(name)
        # Python's sort is stable: WordNet's own order breaks depth ties.
        return sorted(found, key=lambda n: -self.concept_depth(n))

    # -- words -> senses --------------------------------------------------

    def main_senses(self, lemma: str) -> list[int]:
        """The senses of `lemma` a caption most likely means (see module doc)."""
        senses = self.wn.senses(lemma)
        counts = self.wn.sense_counts(lemma)
        found = senses[:1] + [
            s for s, c in zip(senses[1:], counts[1:]) if counts[0] and c >= MAIN_SENSE_RATIO * counts[0]
        ]
        found = found[:MAX_MAIN_SENSES]
        concept = self.concepts.get(lemma.replace("_", " "))
        if concept:
            found += [a for a in concept.anchors if a not in found]
        return found

    def word_senses(self, word: str) -> list[int]:
        """Main senses of a caption word or phrase, through its base forms."""
        found: list[int] = []
        key = word.lower()
        for concept, extras in EXTRA_WORDS.items():
            if key in extras or any(b in extras for b in self.wn.base_forms(key)):
                found += [a for a in self.concepts[concept].anchors if a not in found]
        for base in self.wn.base_forms(key):
            found += [s for s in self.main_senses(base) if s not in found]
        return found

    def label_senses(self, label: str) -> list[int]:
        concept = self.concepts.get(label.strip().lower())
        if concept:
            return list(concept.anchors)
        senses = self.word_senses(label.strip().lower())
        if not senses:
            raise KeyError(f"{label!r} is neither a concept nor a WordNet noun")
        return senses

    # -- what names a label -----------------------------------------------

    def _under_some_concept(self, offset: int) -> bool:
        return any(a in self._by_anchor for a in self.ancestors(offset))

    def accepted_synsets(self, label: str, hypernyms: bool = True) -> frozenset[int]:
        """Synsets a caption word may mean and still name `label`."""
        key = (label.strip().lower(), hypernyms)
        if key not in self._accepted:
            self._accepted[key] = frozenset(self._accepted_synsets(label, hypernyms))
        return self._accepted[key]

    def _accepted_synsets(self, label: str, hypernyms: bool) -> set[int]:
        senses = self.label_senses(label)
        # A label that is an ImageNet class with an override also stands for
        # the concepts the override gives it: 'a scooter' names a moped.
        for sense in list(senses):
            wnid = f"n{sense:08d}"
            for name in REPLACE.get(wnid, OVERRIDES.get(wnid, ())):
                senses += [a for a in self.concepts[name].anchors if a not in senses]
        accepted: set[int] = set()
        for sense in senses:
            accepted |= self.descendants(sense)
            if hypernyms:
                accepted |= {a for a in self.ancestors(sense) if self._under_some_concept(a)}
        return accepted

    def accepted_words(self, label: str, hypernyms: bool = True) -> set[str]:
        """Words (singular and plural) a caption may use to name `label`:
        lemmas of accepted synsets whose main senses include that synset."""
        accepted = self.accepted_synsets(label, hypernyms)
        words: set[str] = set()
        for offset in accepted:
            for lemma in self.wn.synset(offset).lemmas:
                if set(self.main_senses(lemma)) & accepted:
                    words.add(lemma)
        for concept, extras in EXTRA_WORDS.items():
            if set(self.concepts[concept].anchors) & accepted:
                words.update(extras)
        return words | {p for w in words for p in plurals(self.wn, w)}

    def caption_phrases(self, caption: str) -> list[str]:
        """The nouns and noun collocations WordNet knows in a caption, left to
        right, the longest match first ('hot dog', then not 'dog')."""
        tokens = re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", caption.lower())
        phrases = []
        i = 0
        while i < len(tokens):
            for n in range(min(MAX_PHRASE_WORDS, len(tokens) - i), 0, -1):
                phrase = " ".join(tokens[i : i + n])
                if (n > 1 or phrase not in FUNCTION_WORDS) and self.word_senses(phrase):
                    phrases.append(phrase)
                    i += n
                    break
            else:
                i += 1
        return phrases

    def names_object(self, caption: str, label: str, hypernyms: bool = True) -> bool:
        """Does `caption` name `label` (see the module doc for the rule)?"""
        accepted = self.accepted_synsets(label, hypernyms)
        return any(not accepted.isdisjoint(self.word_senses(p)) for p in self.caption_phrases(caption))


# Words WordNet also files as nouns ('a' the vitamin, 'in' the inch) that in a
# caption are never the object. Colour words are adjectives in captions ("a white
# background"), though WordNet's main noun sense of some is a person.
FUNCTION_WORDS = frozenset(
    "a an the in on at of to by for with and or is are be it its his her their this that there "
    "he she we they i near over under up down "
    "white black red brown yellow green blue grey gray pink purple".split()
)


# Words in -man whose plural is regular.
_REGULAR_MAN = frozenset({"human", "german", "roman", "shaman", "talisman", "caiman", "cayman", "ottoman"})


def plurals(wn: wordnet.WordNet, word: str) -> list[str]:
    """Plural forms of a noun: noun.exc's irregular ones ('mice'), and the
    regular English plural of the last word unless noun.exc gives a truly
    irregular one (it lists spelling variants such as 'busses' too)."""
    irregular = wn.irregular_forms(word)
    if irregular and not all(f.endswith("s") for f in irregular):
        return irregular
    head, sep, last = word.rpartition(" ")
    if last.endswith("man") and last not in _REGULAR_MAN:
        last = last[:-3] + "men"
    elif re.search(r"(s|x|z|ch|sh)$", last):
        last += "es"
    elif re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    else:
        last += "s"
    regular = head + sep + last
    return irregular + ([regular] if regular not in irregular else [])


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return Vocabulary()


def names_object(caption: str, label: str) -> bool:
    """Does `caption` name the labelled object: the word, a synonym, a hyponym,
    or a hypernym that is still an everyday concept (see the module doc)?"""
    return vocabulary().names_object(caption, label)


def accepted_words(label: str) -> set[str]:
    return vocabulary().accepted_words(label)
