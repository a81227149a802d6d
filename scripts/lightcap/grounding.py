"""Grounded decoding: a caption says what the image's concepts say, and nothing else.

A pack's manifest carries `concepts.grounding` (written by `grounding_spec` at export):

- `names`: each concept's name as tokenizer ids;
- `words`: [token, concept, ...] for every caption word that names an object, with the
  concepts that support it (the word's most specific concepts in the pack: 'puppy' ->
  dog, 'tabby' -> cat, 'dogs' -> dog; 'animal' -> animal);
- `once`: the content words (every word but the function words), each said at most once;
- `lead_in`: the content words that may come before the subject ('a photo of', 'a group
  of'): where the decoder's best word is another content word, the subject goes there;
- `subject_score`: how likely the first concept must be to become the caption's subject
  (the concept head's hedging has already put the most specific sure concept first);
- `supported_top`: how many of the image's first concepts may be named.

Decoding (here and in core/src/grounding.rs, which must agree token for token), per image:
the subject is the first concept when its score reaches `subject_score`; S is the first
`supported_top` concepts. Per step and beam, after the usual constraints:

1. Until the subject's tokens occur in the caption: a started subject is continued
   (forced); the subject is started when only its length of steps is left, or where the
   decoder's own best token is an object word, a barred token, [SEP] or a content word
   that is no lead-in ('a big green star' becomes 'a cat'); otherwise [SEP] and every
   object word but the subject's first token are barred. So the caption's
   first object is its subject, in the place the decoder itself chose for an object
   ('a photo of a ___ on the grass'). A forced token keeps the model's own log-prob.
2. After it: object words none of whose concepts is in S are barred (no invented
   objects).
3. Outside a forced step, an object word or `once` word already said is barred (no 'a
   lamp and a lamp', no 'a photo of a photo').

This is lexically constrained decoding with one constraint (Anderson et al., 2017, as
LightCap's nocaps results use), in the greedy-friendly form of a forced insertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DEFAULT_SUPPORTED_TOP = 10
# The leading concept is the subject from this probability on: on the default pack's
# training photos 92% of photos have one (lightcap.hedging_bar prints the table); the
# confidence calibration, not this bar, says when a caption is not to be trusted.
DEFAULT_SUBJECT_SCORE = 0.3
# Content words a caption may say before its subject: how the picture is framed, or
# how many of the subject there are.
LEAD_IN_WORDS = frozenset("""photo photos photograph photographs picture pictures image images view close closeup
shot snapshot group groups pair couple bunch lot lots set row pile number herd flock kind type""".split())
# Words that are never a caption's content: not object words, not said-once words. (The
# vocabulary's own FUNCTION_WORDS, which names_object uses, also holds colour words.)
FUNCTION_WORDS = frozenset("""a an the as at by in of on to up and or but not no can will may might must
have has had do does did be is are was were more most less some any all each both few many much such
other another one two three four five six seven eight nine ten this that these those there here then
than very just also only over under into onto from with without about above below near far""".split())


@lru_cache(maxsize=8)
def _tagged_counts(path) -> dict[str, int]:
    """lemma -> tagsense_cnt of one WordNet index file (read once: the object-word test
    and the fragment list both use them)."""
    from .vocabulary.wordnet import _content_lines, parse_index_line

    counts = {}
    for _, line in _content_lines(path):
        lemma, _, tagged = parse_index_line(line)
        counts[lemma] = tagged
    return counts


def noun_first_words() -> "callable":
    """A test of whether a caption word is used as a noun mostly: its tagged noun senses
    outnumber its adjective and adverb ones and are at least its verb ones ('white' and
    'light' are not object words, 'dog' and 'house' are)."""
    from .vocabulary import wordnet

    wn = wordnet.load()
    other = {pos: _tagged_counts(wn.directory / f"index.{pos}") for pos in ("adj", "adv", "verb")}

    def test(word: str) -> bool:
        if len(word) < 3 or word in FUNCTION_WORDS:
            return False
        for form in wn.base_forms(word):
            key = form.replace(" ", "_")
            noun = wn.tagged_count(form)
            if noun > other["adj"].get(key, -1) and noun > other["adv"].get(key, -1) \
                    and noun >= other["verb"].get(key, 0):
                return True
        return False

    return test


def _most_specific(found: set[str], ancestors: dict[str, set[str]]) -> set[str]:
    """The concepts of `found` that no other concept of `found` lies below."""
    return {c for c in found if not any(c in ancestors.get(other, set()) for other in found if other != c)}


def grounding_spec(concepts: list[str], tokenizer, decoder_token_ids: list[int] | None,
                   subject_score: float = DEFAULT_SUBJECT_SCORE, supported_top: int = DEFAULT_SUPPORTED_TOP) -> dict:
    """The manifest's `concepts.grounding` for a pack's concepts and decoder vocabulary."""
    from .photo_concepts import CaptionConcepts

    matcher = CaptionConcepts()
    index = {name: j for j, name in enumerate(concepts)}
    ancestors = {name: set(matcher.phrase_concepts(name)) - {name} for name in concepts}
    names = [tokenizer.encode_words(name) for name in concepts]
    vocab = tokenizer.tokenizer.get_vocab()
    by_id = {i: token for token, i in vocab.items()}
    candidates = decoder_token_ids if decoder_token_ids is not None else sorted(by_id)
    specials = set(tokenizer.never_generate) | {tokenizer.special.sep, tokenizer.special.cls}
    noun_first = noun_first_words()
    concept_words = set(concepts)
    words, once, lead_in = [], [], []
    for token_id in candidates:
        word = by_id.get(token_id, "")
        if token_id in specials or not word.isalpha() or word.startswith("##"):
            continue
        if len(word) >= 3 and word not in FUNCTION_WORDS:
            once.append(token_id)
        if word in LEAD_IN_WORDS:
            lead_in.append(token_id)
        if word not in concept_words and not noun_first(word):
            continue
        found = {c for c in matcher.phrase_concepts(word) if c in index}
        if found:
            words.append([token_id, *sorted(index[c] for c in _most_specific(found, ancestors))])
    return {"subject_score": float(subject_score), "supported_top": int(supported_top), "names": names,
            "words": words, "once": once, "lead_in": lead_in}


def fragment_tokens(tokenizer, decoder_token_ids: list[int] | None) -> list[int]:
    """Tokens that start or continue a word the caption could not be checked on: word
    starts that are no English word ('gi' of 'giraffe', 'multi' of 'multimeter') and
    continuations other than the plural endings ('##ion' after 'on'). The pack adds them
    to never_generate, so a caption is made of whole, known words, each checkable against
    the concepts; rare fine names (the training captions' 'abalone', 'groper') go with them."""
    from .vocabulary import wordnet

    wn = wordnet.load()
    # A word start is a word when some sense of it was seen in WordNet's tagged texts, or,
    # untagged, when it is not an abbreviation-length stub ('gi', 'aba').
    tagged: dict[str, int] = {}
    for pos in ("noun", "adj", "adv", "verb"):
        for lemma, count in _tagged_counts(wn.directory / f"index.{pos}").items():
            tagged[lemma] = tagged.get(lemma, 0) + count
    known = {lemma for lemma, count in tagged.items() if count > 0 or len(lemma) > 3}
    vocab = tokenizer.tokenizer.get_vocab()
    by_id = {i: token for token, i in vocab.items()}
    candidates = decoder_token_ids if decoder_token_ids is not None else sorted(by_id)
    out = []
    for token_id in candidates:
        token = by_id.get(token_id, "")
        if token.startswith("##"):
            if token not in ("##s", "##es"):
                out.append(token_id)
        elif token.isalpha() and token not in FUNCTION_WORDS and token not in known \
                and not any(base in known for base in wn.base_forms(token)):
            out.append(token_id)
    return out


@dataclass
class Grounding:
    """One image's grounding state, in the decoder's token ids."""

    subject: list[int] | None  # the subject's tokens, or None
    words: np.ndarray  # every object-word token
    unsupported: np.ndarray  # object words none of whose concepts is among the first concepts
    sep: int
    max_length: int
    never_generate: frozenset[int] = frozenset()
    once: frozenset[int] = frozenset()  # words said at most once (object words too)
    lead_in: frozenset[int] = frozenset()  # content words that may come before the subject

    def __post_init__(self):
        self._words = frozenset(self.words.tolist())
        self.once = frozenset(self.once) | self._words

    @classmethod
    def for_image(cls, spec: dict, concept_ids: list[int], concept_scores: list[float], to_decoder,
                  sep: int, max_length: int, never_generate: list[int] = ()) -> "Grounding":
        """`to_decoder(ids)` maps tokenizer ids to decoder ids (None if one is missing)."""
        supported = set(concept_ids[: spec["supported_top"]])
        subject = None
        if concept_ids and np.float32(concept_scores[0]) >= np.float32(spec["subject_score"]):
            subject = to_decoder(spec["names"][concept_ids[0]])
        # A word listed twice is allowed by any of its entries' concepts.
        allowed: dict[int, set[int]] = {}
        for token, *concepts in spec["words"]:
            mapped = to_decoder([token])
            if mapped is not None:
                allowed.setdefault(mapped[0], set()).update(concepts)
        words = sorted(allowed)
        unsupported = [w for w in words if not supported.intersection(allowed[w])]
        def decoder_ids(tokens):
            return frozenset(m[0] for m in (to_decoder([t]) for t in tokens) if m is not None)

        return cls(subject, np.array(words, dtype=np.int64), np.array(unsupported, dtype=np.int64), sep, max_length,
                   frozenset(never_generate), decoder_ids(spec["once"]), decoder_ids(spec["lead_in"]))

    def met(self, tokens: list[int]) -> bool:
        if self.subject is None:
            return True
        n = len(self.subject)
        return any(tokens[i : i + n] == self.subject for i in range(len(tokens) - n + 1))

    def apply(self, row: np.ndarray, raw: np.ndarray, tokens: list[int], step: int) -> np.ndarray:
        """Mask one beam's constrained log-prob row (`raw`: the model's own row)."""
        if not self.met(tokens):
            subject = self.subject
            started = [j for j in range(1, len(subject)) if tokens[len(tokens) - j :] == subject[:j]]
            if started:
                return self._force(raw, subject[max(started)])
            if self.max_length - step <= len(subject):
                return self._force(raw, subject[0])
            # Where the decoder itself would name an object (or end), the subject goes.
            best = int(np.argmax(np.where(np.isnan(raw), -np.inf, raw)))
            if (best == self.sep or best in self._words or best in self.never_generate
                    or (best in self.once and best not in self.lead_in)):
                return self._force(raw, subject[0])
            row[self.sep] = -np.inf
            keep = row[subject[0]]
            row[self.words] = -np.inf
            row[subject[0]] = keep
        else:
            row[self.unsupported] = -np.inf
        said = [t for t in tokens if t in self.once]
        row[said] = -np.inf
        return row

    @staticmethod
    def _force(raw: np.ndarray, token: int) -> np.ndarray:
        out = np.full_like(raw, -np.inf, dtype=np.float32)
        value = raw[token]
        out[token] = -np.inf if np.isnan(value) else value
        return out


def grounding_for(manifest: dict, concept_ids: list[int], concept_scores: list[float], sep: int,
                  pruned: bool = False) -> Grounding | None:
    """The grounding of one image under a pack's manifest (None for a pack without it).
    pruned: the decoder numbers tokens by position in `decoder_token_ids` (the pack's own
    decoder graph); otherwise by tokenizer id (the full PyTorch model), with the tokens
    that the pack's decoder lacks treated as missing, as the Rust core treats them."""
    spec = manifest["concepts"].get("grounding")
    if spec is None:
        return None
    token_ids = manifest["tokenizer"].get("decoder_token_ids")
    position = {token: i for i, token in enumerate(token_ids)} if token_ids else None

    def to_decoder(ids: list[int]) -> list[int] | None:
        if position is None:
            return list(ids)
        if any(i not in position for i in ids):
            return None
        return [position[i] for i in ids] if pruned else list(ids)

    max_length = manifest["decoding"]["max_length"]
    never = manifest["tokenizer"]["never_generate"]
    if position is not None:
        never = [position[i] if pruned else i for i in never if i in position]
    return Grounding.for_image(spec, list(concept_ids), list(concept_scores), to_decoder, sep, max_length, never)
