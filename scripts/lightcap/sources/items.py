"""What every source module returns, and the file-name rules they share."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

KINDS = ("cutout", "background", "photo")


@dataclass(frozen=True)
class Item:
    source: str  # the module's name, or module:package where one module reads several
    kind: str  # cutout (photo on transparency), background (scene, no subject), photo
    path: str  # an image file on disk (extracted into a cache where it came from an archive)
    text: str  # the English caption or label the source gives
    label: str  # a short noun phrase for the main object or scene: "cat", "hay field"
    group: str  # split key: items of one object or photo share it, so no split sees it twice
    licence: str  # SPDX identifier where there is one

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {KINDS}")
        if not self.label:
            raise ValueError(f"empty label for {self.path}")

    def to_dict(self) -> dict:
        return asdict(self)


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SEPARATORS = re.compile(r"[-_.\s]+")
_DIGITS = re.compile(r"\d+")
# Words in file names that say how the picture was made or which copy it is, not what
# it shows.
_NOISE_WORDS = {"photo", "img", "image", "pic", "new", "old", "copy", "small", "large", "big", "hd", "hq", "alt"}


def words_of_name(name: str) -> list[str]:
    """The words of a file or folder name: split on -, _, . and camelCase, digits dropped,
    lower case. "boy4-walking" -> ["boy", "walking"], "BeachMalibu2" -> ["beach", "malibu"]."""
    spaced = _DIGITS.sub(" ", _CAMEL.sub(" ", name))
    return [word.lower() for word in _SEPARATORS.split(spaced) if word]


def label_of_name(name: str) -> str:
    words = [w for w in words_of_name(name) if w not in _NOISE_WORDS]
    return " ".join(words)


_ARTICLE = re.compile(r"^(a|an|the|some)\s+", re.I)


def label_of_sentence(sentence: str, max_words: int = 4) -> str | None:
    """The object of a short sentence such as "A coral trout." ("coral trout"), or None
    when the sentence says more than it names."""
    core = _ARTICLE.sub("", sentence.strip()).rstrip(".!?").strip()
    if not core or len(core.split()) > max_words or re.search(r"[^\w\s'’-]", core):
        return None
    return core.lower()
