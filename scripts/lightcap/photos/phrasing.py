"""Words for photo captions: articles, plurals, counts, "a photo of ..." variants, and the
cleaning of GCompris's title-and-paragraph texts into short one-line captions. Reads and
writes nothing; every random choice takes a numpy Generator so callers stay seeded.
"""

from __future__ import annotations

import re

import numpy as np

# Nouns that end in -s but are one thing, so they take "a" and a real plural.
SINGULAR_S = {"bus", "hippopotamus", "iris", "cactus", "octopus", "glass", "grass", "moss", "dress", "cross",
              "compass", "walrus", "platypus", "lotus", "hibiscus", "asparagus", "circus", "canvas"}
# Nouns with no article ("fire", "moss") or with the same form in the plural.
MASS = {"fire", "moss", "grass", "water", "sand", "wood", "thyme", "lavender", "ginger", "broccoli", "garlic"}
SAME_PLURAL = {"sheep", "deer", "fish", "bison", "moose", "yak", "wapiti", "caribou", "aircraft", "trout",
               "salmon", "butterflyfish", "clownfish", "lionfish", "dolphinfish"}
IRREGULAR = {"man": "men", "woman": "women", "child": "children", "person": "people", "mouse": "mice",
             "goose": "geese", "foot": "feet", "tooth": "teeth", "knife": "knives", "leaf": "leaves",
             "wolf": "wolves", "loaf": "loaves", "calf": "calves", "shelf": "shelves", "louse": "lice",
             "woodlouse": "woodlice", "ox": "oxen", "cactus": "cacti", "hippopotamus": "hippopotamuses",
             "fireman": "firemen", "policeman": "policemen", "mango": "mangoes", "potato": "potatoes",
             "tomato": "tomatoes", "volcano": "volcanoes", "domino": "dominoes"}
NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}
_ARTICLES = ("a ", "an ", "the ", "some ", "two ", "three ", "four ", "five ")


def is_plural(noun: str) -> bool:
    head = noun.split(" of ")[0].split()[-1] if noun else ""
    return (head.endswith("s") and not head.endswith("ss") and head not in SINGULAR_S) or head in IRREGULAR.values()


def with_article(noun: str) -> str:
    """"apple" -> "an apple", "flowers" -> "flowers", "fire" -> "fire"; phrases that
    already start with an article or a count are left alone."""
    if not noun or noun.startswith(_ARTICLES):
        return noun
    head = noun.split(" of ")[0].split()[-1]
    if is_plural(noun) or head in MASS:
        return noun
    return ("an " if re.match(r"[aeiou]", noun) and not noun.startswith(("uni", "euro", "one"))
            else "a ") + noun


def plural_word(word: str) -> str:
    if word in IRREGULAR:
        return IRREGULAR[word]
    for singular, plural in IRREGULAR.items():
        if word.endswith(singular) and len(singular) >= 3 and singular in ("man", "woman", "mouse", "leaf"):
            return word[: -len(singular)] + plural
    if word in SAME_PLURAL or word.endswith("fish") or word in MASS:
        return word
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def plural(noun: str) -> str:
    """"green apple" -> "green apples", "bunch of grapes" -> "bunches of grapes"."""
    if is_plural(noun):
        return noun
    head, sep, rest = noun.partition(" of ")
    words = head.split()
    words[-1] = plural_word(words[-1])
    return " ".join(words) + (sep + rest if sep else "")


def counted(noun: str, count: int) -> str:
    """"dog", 1 -> "a dog"; "dog", 2 -> "two dogs"."""
    if count == 1:
        return with_article(noun)
    return f"{NUMBERS.get(count, str(count))} {plural(noun)}"


PHOTO_TEMPLATES = ("{np}", "a photo of {np}", "a picture of {np}", "a photograph of {np}",
                   "{np} in a photo", "an image of {np}")


def photo_phrasings(np_: str, rng: np.random.Generator, count: int = 2) -> list[str]:
    """`count` different ways to say a photo shows `np_` ("a windmill"): the bare phrase
    is always one of them, so the model also learns to caption without a frame."""
    others = list(rng.choice(len(PHOTO_TEMPLATES) - 1, size=min(count - 1, len(PHOTO_TEMPLATES) - 1), replace=False) + 1)
    return [PHOTO_TEMPLATES[i].format(np=np_) for i in [0, *others]]


# ----------------------------------------------------------------------------- GCompris texts

MAX_DESCRIPTION_WORDS = 16
# Words that end the noun phrase of "X is a <noun phrase> located in ...".
_PHRASE_END = {"located", "situated", "in", "on", "at", "that", "which", "who", "where", "built", "dedicated",
               "found", "with", "from", "and", "near", "of", "made", "used", "known", "designed", "for", "by"}
# Heads that take "the" as landmarks: "the eiffel tower", "the lincoln memorial".
LANDMARK_HEADS = {"tower", "gate", "memorial", "temple", "pyramid", "palace", "bridge", "museum", "fort", "house",
                  "building", "capitol", "wall", "statue", "colosseum", "sphinx", "mosque", "basilica", "opera"}


def clean_line(text: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", text)
    text = text.replace("’", "'").replace("“", "").replace("”", "").replace('"', "")
    return " ".join(text.split()).strip(" .,;:!").lower()


def split_title(text: str) -> tuple[str, str]:
    """GCompris explore texts are "Title. Paragraph"; (title, paragraph)."""
    title, _, paragraph = text.partition(". ")
    return title.strip(), paragraph.strip()


def landmark_phrase(title: str, paragraph: str) -> str:
    """The title as a landmark's noun phrase: "the taj mahal" where the paragraph says "The
    Taj Mahal" or the name ends in a landmark word, else the bare name ("rocamadour")."""
    name = clean_line(title.split(",")[0])
    if name.startswith("the "):
        return name
    if re.search(r"\bthe " + re.escape(name) + r"\b", paragraph.lower()) or name.split()[-1] in LANDMARK_HEADS:
        return "the " + name
    return name


def description_clause(subject_np: str, paragraph: str) -> str | None:
    """A short descriptive caption from a paragraph's first sentence, or None when it does
    not read as a description of the picture. Only "<subject> is a/an <noun phrase> ..."
    counts, cut where the noun phrase ends: "The crocodile is a large amphibious reptile."
    -> "a crocodile, a large amphibious reptile"."""
    first = re.split(r"(?<=[a-z)])[.!?](\s|$)", paragraph, maxsplit=1)[0]
    first = clean_line(first)
    match = re.match(r"^(?:the |an? )?([\w' -]{2,40}?) is (an? [\w' -]+)$", first)
    if not match or len(match.group(1).split()) > 5:
        return None
    words = []
    for word in match.group(2).replace(",", " , ").split():
        if word in ("and", "of", "or"):
            return None  # the noun phrase goes on ("a part of", "a historical and ..."): too long
        if word == "," or (words and word in _PHRASE_END):
            break
        words.append(word)
    if len(words) < 2 or any(ch.isdigit() for ch in " ".join(words)):
        return None
    caption = f"{subject_np}, {' '.join(words)}"
    return caption if len(caption.split()) <= MAX_DESCRIPTION_WORDS else None
