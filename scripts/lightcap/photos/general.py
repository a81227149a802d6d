"""General names for photo subjects: "an emperor tamarin" -> "a monkey", "a red apple"
-> "an apple", "two blackbirds" -> "two birds".

Why: the photo sources name each object once, often finely ("a holm oak", "a crowned
crane"), and the test split holds objects the model never saw. Trained on the fine
names alone, the captioner says the fine name of some training object that looks alike
("a great blue heron" for a crow): wrong, and said as if sure. Some of each photo's
captions use the everyday word instead (the most specific everyday concept above the
noun's head word in WordNet), so for an unseen bird the probability mass of all bird
captions lands on "bird". Vague concepts ("device", "equipment") are never used: "a
photo of a device" names a pair of pliers in WordNet, but tells a listener nothing.

Reads the everyday vocabulary (`lightcap.vocabulary.everyday`, WordNet); writes nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..vocabulary.wordnet import (NOUN_ANIMAL, NOUN_ARTIFACT, NOUN_FOOD, NOUN_LOCATION, NOUN_OBJECT, NOUN_PERSON,
                                  NOUN_PLANT, NOUN_TOPS)
from .phrasing import is_plural, plural, with_article

# Concepts too vague to say on their own.
VAGUE = frozenset({"device", "equipment", "machine", "container", "appliance", "object", "tool", "food",
                   "clothing", "structure", "toy", "weapon", "plant"})
# "a pair of cherries" is cherries, "a bunch of grapes" grapes: the head is after "of".
MEASURE_WORDS = frozenset({"pair", "bunch", "head", "ear", "string", "bowl", "slice", "plate", "box", "bag",
                           "piece", "cup", "glass", "basket"})
# Which kind of sense a photo's object most likely is, by WordNet lexicographer file, most
# likely first: animals, food, artifacts, plants, natural objects, places, people, top words.
LEXFILE_PREFERENCE = {lexfile: rank for rank, lexfile in enumerate(
    (NOUN_ANIMAL, NOUN_FOOD, NOUN_ARTIFACT, NOUN_PLANT, NOUN_OBJECT, NOUN_LOCATION, NOUN_PERSON, NOUN_TOPS))}
PERSON, PLANT = NOUN_PERSON, NOUN_PLANT
FOOD = frozenset({NOUN_FOOD})
LIVING = frozenset({NOUN_ANIMAL, NOUN_FOOD, NOUN_PLANT})
# Instances (named things) of these files are people and places, not what a photo shows.
NAMED_SKIPPED = frozenset({NOUN_PERSON, NOUN_LOCATION})
# The head noun is the last noun before one of these ("walnut in its shell": walnut).
_CUT = re.compile(r"\s+(?:in|on|with|at|by|from|for|of)\s+")


def _vocabulary():
    from ..vocabulary import everyday

    return everyday.vocabulary()


def head_word(noun: str, vocabulary=None) -> str | None:
    """The phrase of `noun` that says what it is: "sumatran tiger" -> "tiger", "pair of
    cherries" -> "cherries", "walnut in its shell" -> "walnut"; None if WordNet knows none."""
    v = vocabulary or _vocabulary()
    noun = noun.lower().strip()
    first, sep, rest = noun.partition(" of ")
    if sep and first.split()[-1] in MEASURE_WORDS:
        noun = rest
    noun = _CUT.split(noun, maxsplit=1)[0]
    if noun in v.concepts or v.word_senses(noun):
        return noun
    phrases = v.caption_phrases(noun)
    return phrases[-1] if phrases else None


def _concepts_of_word(word: str, v) -> list[str]:
    """The concepts of the sense of `word` a photo most likely shows. Among its main
    senses a thing beats a person ('pitcher' the jug, not the player), and named people
    and places (Heron of Alexandria, the city of Tyre) are skipped, named buildings not.
    Where only a person is left, a living thing among its other senses wins: WordNet's
    first 'cuckoo', 'badger' and 'chameleon' are people, the photos' are animals."""
    best = _best_sense(v, v.word_senses(word))
    others = [s for base in v.wn.base_forms(word.lower()) for s in v.wn.senses(base)]
    if best is None or best[0] == PERSON:
        best = _best_sense(v, others, LIVING) or best
    elif best[0] == PLANT:  # an apricot in a photo is the fruit, not the tree
        best = _best_sense(v, others, FOOD) or best
    return best[1] if best else []


def _best_sense(v, senses, lexfiles: frozenset[int] | None = None) -> tuple[int, list[str]] | None:
    """(lexicographer file, concepts) of the most photo-like sense that has concepts."""
    ranked = []
    for order, sense in enumerate(senses):
        synset = v.wn.synset(sense)
        if lexfiles is not None and synset.lex_filenum not in lexfiles:
            continue
        if synset.lex_filenum in NAMED_SKIPPED and any(p.symbol == "@i" for p in synset.pointers):
            continue
        concepts = v.concepts_of_synset(sense)
        if concepts:
            rank = LEXFILE_PREFERENCE.get(synset.lex_filenum, len(LEXFILE_PREFERENCE))
            ranked.append((rank, order, synset.lex_filenum, concepts))
    if not ranked:
        return None
    _, _, lexfile, concepts = min(ranked)
    return lexfile, concepts


@lru_cache(maxsize=4096)
def general_noun(noun: str) -> str | None:
    """The everyday word for `noun` where it differs from `noun` and says something, else None."""
    v = _vocabulary()
    if re.match(r"(?:two|three|four|five|some)\b", noun):
        return None  # "two flowers" says how many: a general word would lose it
    head = head_word(noun, v)
    if head is None:
        return None
    if head in v.concepts:
        general = head
    else:
        concepts = _concepts_of_word(head, v)
        if not concepts:
            return None
        general = concepts[0]
        if is_plural(head):
            general = plural(general)  # "cherries" -> "fruits": keep the head's number
    if general in VAGUE or general.rstrip("s") in VAGUE or general == noun.lower().strip():
        return None
    return general


def generalise(caption: str, nouns: list[str]) -> str:
    """`caption` with each of `nouns` (and its plural, and its article) replaced by its
    general word; nouns without one are left as they are."""
    out = caption
    for noun in sorted(set(nouns), key=len, reverse=True):
        general = general_noun(noun)
        if general is None:
            continue
        many = plural(noun)
        out = re.sub(rf"\b{re.escape(many)}\b", plural(general), out) if many != noun else out
        out = re.sub(rf"\b(?:(?:an?|the)\s+)?{re.escape(noun)}\b", with_article(general), out)
    return out


def with_general_captions(captions: list[str], nouns: list[str]) -> list[str]:
    """Every second caption (the 2nd, 4th, ...) in its general form: the first keeps the
    source's own words. Same count, so training time does not change."""
    out = [generalise(c, nouns) if i % 2 == 1 else c for i, c in enumerate(captions)]
    return list(dict.fromkeys(out))
