"""The everyday concept vocabulary of photo training and its targets (train.py
--concept-vocabulary everyday).

Two sources say which everyday concepts (lightcap.vocabulary) an image shows:

- its captions, through the vocabulary's word -> concept matching: every noun
  phrase WordNet knows in a caption (the longest first, so 'hot dog' is not a dog)
  stands for its main senses, and each sense for every concept at or above it in
  the hypernym hierarchy: 'kitten' and 'tabby' give cat (and animal), 'espresso'
  gives coffee. A caption's concepts are 0/1.
- the frozen backbone's ImageNet classifier: its softmax pushed through the class
  -> concept map of concept_map.json, p(concept) = min(1, sum of the probabilities
  of the classes that map to it). This names concepts in images whose captions do
  not mention them (a composite's background, a photo captioned by its place).

The training target of a concept is max(caption label, w * ImageNet target), w =
--imagenet-target-weight (1 by default, 0 for captions alone): a concept a
caption names is certain, one the classifier sees is as likely as it says.

The vocabulary is the concepts that some training caption names or that the map
can produce for some class, ranked by how often they occur in the training set
(images whose captions name them plus the ImageNet targets' sum over the
images), ties by name, cut to --concepts.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

CONCEPT_MAP = Path(__file__).with_name("vocabulary") / "concept_map.json"


@lru_cache(maxsize=1)
def concept_map() -> dict:
    return json.loads(CONCEPT_MAP.read_text(encoding="utf-8"))


def everyday_names() -> list[str]:
    """Every concept of the curated table, in its order."""
    return [c["name"] for c in concept_map()["concepts"]]


def class_concepts() -> list[list[str]]:
    """For each of the 1,000 ImageNet classes (classifier order), its concepts."""
    classes = sorted(concept_map()["classes"], key=lambda c: c["index"])
    return [c["concepts"] for c in classes]


def class_concept_matrix(concepts: list[str]) -> torch.Tensor:
    """[1000, len(concepts)] 0/1: class i maps to concept j."""
    index = {name: j for j, name in enumerate(concepts)}
    table = class_concepts()
    matrix = torch.zeros(len(table), len(concepts))
    for i, names in enumerate(table):
        for name in names:
            if name in index:
                matrix[i, index[name]] = 1.0
    return matrix


def imagenet_targets(logits: torch.Tensor | np.ndarray, matrix: torch.Tensor) -> torch.Tensor:
    """[B, 1000] classifier logits -> [B, concepts] soft targets: min(1, sum of the
    softmax probabilities of the classes mapping to each concept)."""
    probs = torch.softmax(torch.as_tensor(np.asarray(logits), dtype=torch.float32), dim=-1)
    return (probs @ matrix).clamp(max=1.0)


class CaptionConcepts:
    """Caption -> everyday concepts through the vocabulary's matching (module doc).
    Phrases and captions are memoised: training captions repeat a lot."""

    def __init__(self, vocabulary=None):
        if vocabulary is None:
            from .vocabulary import everyday

            vocabulary = everyday.vocabulary()
        self.vocabulary = vocabulary
        self._phrases: dict[str, frozenset[str]] = {}
        self._captions: dict[str, frozenset[str]] = {}

    def phrase_concepts(self, phrase: str) -> frozenset[str]:
        if phrase not in self._phrases:
            v = self.vocabulary
            found: set[str] = set()
            for sense in v.word_senses(phrase):
                found.update(v.concepts_of_synset(sense))
            self._phrases[phrase] = frozenset(found)
        return self._phrases[phrase]

    def caption_concepts(self, caption: str) -> frozenset[str]:
        if caption not in self._captions:
            found: set[str] = set()
            for phrase in self.vocabulary.caption_phrases(caption):
                found |= self.phrase_concepts(phrase)
            self._captions[caption] = frozenset(found)
        return self._captions[caption]

    def image_concepts(self, captions) -> frozenset[str]:
        """The concepts any of an image's captions names."""
        found: set[str] = set()
        for caption in captions:
            found |= self.caption_concepts(caption)
        return frozenset(found)

    def labels(self, captions, concepts: list[str]) -> torch.Tensor:
        """[len(concepts)] 0/1: the concepts the captions name."""
        named = self.image_concepts(captions)
        return torch.tensor([1.0 if c in named else 0.0 for c in concepts])


def build_everyday_vocabulary(caption_concepts: list[frozenset[str]], imagenet_mass: dict[str, float] | None,
                              size: int) -> list[str]:
    """The concepts named by a training caption or producible by the class map,
    ranked by frequency (images named + ImageNet target mass), ties by name."""
    known = set(everyday_names())
    producible = {name for names in class_concepts() for name in names}
    counts: dict[str, float] = {}
    for named in caption_concepts:
        for name in named:
            if name in known:
                counts[name] = counts.get(name, 0.0) + 1.0
    for name, mass in (imagenet_mass or {}).items():
        if name in producible:
            counts[name] = counts.get(name, 0.0) + float(mass)
    for name in producible:
        counts.setdefault(name, 0.0)
    ranked = sorted(counts, key=lambda n: (-counts[n], n))
    return ranked[:size]


def everyday_targets(captions_per_image: list, logits: np.ndarray | None, size: int,
                     imagenet_weight: float = 1.0, matcher: CaptionConcepts | None = None,
                     batch: int = 1024) -> tuple[list[str], torch.Tensor]:
    """The everyday vocabulary of a training set and its [images, concepts] targets:
    max(caption labels, imagenet_weight * ImageNet targets). `logits` [images, 1000]
    are the frozen classifier's (None: captions alone)."""
    matcher = matcher or CaptionConcepts()
    named = [matcher.image_concepts(caps) for caps in captions_per_image]
    mass = None
    if logits is not None and imagenet_weight > 0:
        everything = sorted({n for names in class_concepts() for n in names})
        matrix = class_concept_matrix(everything)
        total = torch.zeros(len(everything))
        for start in range(0, len(logits), batch):
            total += imagenet_targets(logits[start : start + batch], matrix).sum(0)
        mass = {name: imagenet_weight * total[j].item() for j, name in enumerate(everything)}
    concepts = build_everyday_vocabulary(named, mass, size)
    index = {c: j for j, c in enumerate(concepts)}
    labels = torch.zeros(len(named), len(concepts))
    for row, names in enumerate(named):
        for name in names:
            if name in index:
                labels[row, index[name]] = 1.0
    if mass is not None:
        matrix = class_concept_matrix(concepts)
        for start in range(0, len(logits), batch):
            soft = imagenet_weight * imagenet_targets(logits[start : start + batch], matrix)
            labels[start : start + batch] = torch.maximum(labels[start : start + batch], soft)
    return concepts, labels
