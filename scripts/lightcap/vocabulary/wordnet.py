"""A reader for the noun part of the WordNet 3.0 database files.

Reads `data.noun`, `index.noun`, `noun.exc` and `cntlist.rev` (the last two
optional) from a WordNet dictionary
directory (Debian's `wordnet-base` installs them in /usr/share/wordnet; the
LIGHTCAP_WORDNET_DIR environment variable points elsewhere). Writes nothing.

The file formats are those of wndb(5WN):

  data.noun   synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...]
              p_cnt [ptr...] | gloss
              where w_cnt is two hex digits, lex_id one hex digit, p_cnt three
              decimal digits and each ptr is "symbol offset pos source/target".
  index.noun  lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt
              synset_offset [synset_offset...]   (offsets in sense order)
  noun.exc    inflected_form base_form [base_form...]
  cntlist.rev sense_key sense_number tag_cnt   (cntlist(5WN); a noun's key is
              lemma%1:lex_filenum:lex_id:head_word:head_id)

Lines starting with two spaces are the licence header and are skipped. A
synset's offset is the byte position of its line in data.noun, which the
reader checks: an edited or re-encoded file fails loudly instead of silently
pointing at the wrong synsets.

WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_DIR = Path("/usr/share/wordnet")

# Pointer symbols for nouns (wninput(5WN)) that lead to a more general synset.
# Noun lexicographer file numbers (lexnames(5WN)): the kind of thing a sense is.
NOUN_TOPS = 3  # the top word of each kind (person, animal, plant, food)
NOUN_ANIMAL = 5
NOUN_ARTIFACT = 6
NOUN_FOOD = 13
NOUN_LOCATION = 15
NOUN_OBJECT = 17  # natural objects: mountains, rivers, stones
NOUN_PERSON = 18
NOUN_PLANT = 20

HYPERNYM = "@"
INSTANCE_HYPERNYM = "@i"
HYPERNYM_SYMBOLS = (HYPERNYM, INSTANCE_HYPERNYM)


class WordNetFormatError(ValueError):
    """A line of a WordNet file does not follow wndb(5WN)."""


@dataclass(frozen=True)
class Pointer:
    symbol: str
    offset: int
    pos: str
    source: int  # word number in this synset, 0 for a semantic pointer
    target: int  # word number in the target synset, 0 for a semantic pointer


@dataclass(frozen=True)
class Synset:
    offset: int
    lex_filenum: int
    ss_type: str
    words: tuple[str, ...]  # as the lexicographer wrote them, underscores kept
    pointers: tuple[Pointer, ...]
    gloss: str

    @property
    def wnid(self) -> str:
        """The ImageNet-style id: 'n' plus the 8-digit noun offset."""
        return f"n{self.offset:08d}"

    @property
    def lemmas(self) -> tuple[str, ...]:
        """Lower-case words with spaces, as a caption would spell them."""
        return tuple(w.replace("_", " ").lower() for w in self.words)

    @property
    def name(self) -> str:
        """The first word, readable (spaces, original case)."""
        return self.words[0].replace("_", " ")

    @property
    def hypernyms(self) -> tuple[int, ...]:
        """Offsets of the direct hypernyms, class ('@') and instance ('@i')."""
        return tuple(p.offset for p in self.pointers if p.symbol in HYPERNYM_SYMBOLS and p.pos == "n")


def parse_data_line(line: str) -> Synset:
    """Parses one synset line of data.noun (without its newline)."""
    head, bar, gloss = line.partition(" | ")
    if not bar:
        # A gloss-less line still carries the bar; tolerate a missing space.
        head, bar, gloss = line.partition("|")
        if not bar:
            raise WordNetFormatError(f"no gloss separator: {line[:60]!r}")
    fields = head.split()
    try:
        offset = int(fields[0])
        lex_filenum = int(fields[1])
        ss_type = fields[2]
        w_cnt = int(fields[3], 16)
        pos = 4
        words = []
        for _ in range(w_cnt):
            words.append(fields[pos])
            int(fields[pos + 1], 16)  # lex_id: validated, not needed here
            pos += 2
        p_cnt = int(fields[pos])
        pos += 1
        pointers = []
        for _ in range(p_cnt):
            symbol, target, target_pos, st = fields[pos : pos + 4]
            if len(st) != 4:
                raise WordNetFormatError(f"bad source/target {st!r}")
            pointers.append(Pointer(symbol, int(target), target_pos, int(st[:2], 16), int(st[2:], 16)))
            pos += 4
    except (IndexError, ValueError) as e:
        if isinstance(e, WordNetFormatError):
            raise
        raise WordNetFormatError(f"malformed synset line {line[:60]!r}: {e}") from e
    # Verb frames follow the pointers in data.verb only; a noun line ends here.
    if pos != len(fields):
        raise WordNetFormatError(f"{len(fields) - pos} unexpected fields in synset {offset:08d}")
    return Synset(offset, lex_filenum, ss_type, tuple(words), tuple(pointers), gloss.strip())


def parse_index_line(line: str) -> tuple[str, list[int], int]:
    """Parses one line of index.noun into (lemma, offsets in sense order, tagsense_cnt)."""
    fields = line.split()
    try:
        lemma = fields[0]
        synset_cnt = int(fields[2])
        p_cnt = int(fields[3])
        pos = 4 + p_cnt
        sense_cnt = int(fields[pos])
        tagsense_cnt = int(fields[pos + 1])
        offsets = [int(f) for f in fields[pos + 2 :]]
    except (IndexError, ValueError) as e:
        raise WordNetFormatError(f"malformed index line {line[:60]!r}: {e}") from e
    if len(offsets) != synset_cnt or sense_cnt != synset_cnt:
        raise WordNetFormatError(f"index line for {lemma!r}: {len(offsets)} offsets, synset_cnt {synset_cnt}")
    return lemma, offsets, tagsense_cnt


def _content_lines(path: Path):
    """Yields (byte offset, line) for each non-header line of a WordNet file."""
    offset = 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.startswith(b"  "):
                yield offset, raw.decode("ascii").rstrip("\n")
            offset += len(raw)


# Plural endings and the singular endings they come from, tried in order. The
# exceptions file covers irregular plurals (mice, children, geese...).
_DETACHMENT = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
               ("men", "man"), ("ies", "y"), ("ves", "f"), ("ves", "fe"), ("oes", "o"), ("s", ""))


class WordNet:
    """The noun synsets of one WordNet database directory."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_directory()
        self.synsets: dict[int, Synset] = {}
        for offset, line in _content_lines(self.directory / "data.noun"):
            synset = parse_data_line(line)
            if synset.offset != offset:
                raise WordNetFormatError(f"synset {synset.offset:08d} stored at byte {offset}")
            self.synsets[offset] = synset
        self._senses: dict[str, list[int]] = {}
        self._tagged: dict[str, int] = {}
        for _, line in _content_lines(self.directory / "index.noun"):
            lemma, offsets, tagged = parse_index_line(line)
            self._senses[lemma] = offsets
            self._tagged[lemma] = tagged
        self._exceptions: dict[str, list[str]] = {}
        self._inflections: dict[str, list[str]] | None = None
        exc = self.directory / "noun.exc"
        if exc.exists():
            for _, line in _content_lines(exc):
                fields = line.split()
                if len(fields) >= 2:
                    self._exceptions[fields[0]] = fields[1:]
        # How often each noun sense was tagged in the semantic concordances.
        self._counts: dict[str, dict[int, int]] = {}
        cnt = self.directory / "cntlist.rev"
        if cnt.exists():
            for _, line in _content_lines(cnt):
                fields = line.split()
                if len(fields) != 3:
                    raise WordNetFormatError(f"malformed cntlist line {line[:60]!r}")
                lemma, _, lexsense = fields[0].partition("%")
                if lexsense.startswith("1:"):  # ss_type 1 = noun
                    self._counts.setdefault(lemma, {})[int(fields[1])] = int(fields[2])
        # Hyponyms are read off the hypernym pointers rather than the '~'
        # pointers so the two directions can never disagree.
        self._depth: dict[int, int] = {}
        self._hyponyms: dict[int, list[int]] = {}
        for synset in self.synsets.values():
            for parent in synset.hypernyms:
                self._hyponyms.setdefault(parent, []).append(synset.offset)

    # -- look-ups ---------------------------------------------------------

    def synset(self, offset: int) -> Synset:
        return self.synsets[offset]

    def synset_by_wnid(self, wnid: str) -> Synset:
        if len(wnid) != 9 or wnid[0] != "n" or not wnid[1:].isdigit():
            raise ValueError(f"not a noun wnid: {wnid!r}")
        return self.synsets[int(wnid[1:])]

    def senses(self, lemma: str) -> list[int]:
        """Offsets of the synsets containing `lemma`, most frequent sense first."""
        key = lemma.strip().lower().replace(" ", "_")
        return list(self._senses.get(key, ()))

    def tagged_count(self, lemma: str) -> int:
        """How many of the lemma's senses were seen in the tagged concordances."""
        return self._tagged.get(lemma.strip().lower().replace(" ", "_"), 0)

    def sense_counts(self, lemma: str) -> list[int]:
        """Tag counts of the lemma's senses, in sense order (0 where untagged)."""
        key = lemma.strip().lower().replace(" ", "_")
        counts = self._counts.get(key, {})
        return [counts.get(n, 0) for n in range(1, len(self._senses.get(key, ())) + 1)]

    def __contains__(self, lemma: str) -> bool:
        return lemma.strip().lower().replace(" ", "_") in self._senses

    def base_forms(self, word: str) -> list[str]:
        """Noun lemmas `word` may be a form of: itself, irregular and regular singulars."""
        key = word.strip().lower().replace(" ", "_")
        found = [key] if key in self._senses else []
        for base in self._exceptions.get(key, ()):
            if base in self._senses and base not in found:
                found.append(base)
        # For a collocation only the last word inflects ("teddy bears").
        head, sep, last = key.rpartition("_")
        for suffix, ending in _DETACHMENT:
            if last.endswith(suffix) and len(last) > len(suffix):
                base = head + sep + last[: -len(suffix)] + ending
                if base in self._senses and base not in found:
                    found.append(base)
        return [b.replace("_", " ") for b in found]

    def irregular_forms(self, lemma: str) -> list[str]:
        """Inflected forms noun.exc lists for `lemma` ('mouse' -> 'mice')."""
        if self._inflections is None:
            self._inflections = {}
            for form, bases in self._exceptions.items():
                for base in bases:
                    self._inflections.setdefault(base, []).append(form)
        key = lemma.strip().lower().replace(" ", "_")
        return [f.replace("_", " ") for f in self._inflections.get(key, ())]

    # -- the hierarchy ----------------------------------------------------

    def hypernyms(self, offset: int) -> tuple[int, ...]:
        return self.synsets[offset].hypernyms

    def hyponyms(self, offset: int) -> tuple[int, ...]:
        return tuple(self._hyponyms.get(offset, ()))

    def ancestors(self, offset: int, blocked: frozenset[tuple[int, int]] = frozenset()) -> dict[int, int]:
        """Every synset above `offset` (itself included, at 0) with its shortest
        distance, not following the (child, parent) edges in `blocked`."""
        dist = {offset: 0}
        queue = deque([offset])
        while queue:
            current = queue.popleft()
            for parent in self.synsets[current].hypernyms:
                if parent not in dist and (current, parent) not in blocked:
                    dist[parent] = dist[current] + 1
                    queue.append(parent)
        return dist

    def descendants(self, offset: int, blocked: frozenset[tuple[int, int]] = frozenset()) -> set[int]:
        """Every synset below `offset`, itself included, not following the
        (child, parent) edges in `blocked`."""
        seen = {offset}
        stack = [offset]
        while stack:
            current = stack.pop()
            for child in self._hyponyms.get(current, ()):
                if child not in seen and (child, current) not in blocked:
                    seen.add(child)
                    stack.append(child)
        return seen

    def depth(self, offset: int) -> int:
        """Length of the longest hypernym chain from `offset` to a root."""
        cache = self._depth
        if offset not in cache:
            # Iterative post-order: chains run to ~20 synsets, but never recurse on data.
            stack = [offset]
            while stack:
                current = stack[-1]
                pending = [p for p in self.synsets[current].hypernyms if p not in cache]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                cache[current] = 1 + max((cache[p] for p in self.synsets[current].hypernyms), default=-1)
        return cache[offset]

    def hypernym_paths(self, offset: int) -> list[list[int]]:
        """All chains from `offset` up to a root, each starting at `offset`."""
        parents = self.synsets[offset].hypernyms
        if not parents:
            return [[offset]]
        return [[offset] + path for parent in parents for path in self.hypernym_paths(parent)]

    def is_a(self, offset: int, ancestor: int) -> bool:
        return ancestor in self.ancestors(offset)


def default_directory() -> Path:
    env = os.environ.get("LIGHTCAP_WORDNET_DIR")
    return Path(env) if env else DEFAULT_DIR


def available(directory: str | os.PathLike | None = None) -> bool:
    d = Path(directory) if directory is not None else default_directory()
    return (d / "data.noun").exists() and (d / "index.noun").exists()


@lru_cache(maxsize=4)
def load(directory: str | None = None) -> WordNet:
    """The WordNet of `directory` (default: the system's), parsed once per process."""
    return WordNet(directory)
