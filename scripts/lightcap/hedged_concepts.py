"""Concepts from what the backbone knows, at the level it is sure of (config concept_head="hedged").

    python -m lightcap.hedged_concepts --checkpoint LEARNED.pt --out HEDGED.pt [--sure-score P]

turns a checkpoint with the learned concept head into one with this head (same weights).

The frozen backbone's ImageNet classifier (1,000 classes, 1.3M training images) knows far
more about everyday photographs than anything trained on our few thousand pictures. This
extractor turns its softmax into the pack's everyday concepts through the fixed WordNet
class -> concept map (vocabulary/concept_map.json): p(concept) = min(1, sum of the
probabilities of the classes under it), so 'dog' gathers all 118 breeds and 'animal'
all 398 animal classes. Nothing of this part is trained: it cannot drift between packs.

Concepts the map cannot produce (people, scenes and stuff: 'man', 'sky', 'grass', 'street'
... and objects ImageNet lacks: 'giraffe', 'cake') keep the learned alignment head of
`model.ConceptExtractor`, trained on our photo sources; its sigmoid is their probability.
People and places are ImageNet's weak spot even where a few classes map to them ('groom'
and 'scuba diver' are persons, 'seashore' a beach): for those sections the probability is
the larger of the two heads'.

Hedging (Deng et al., CVPR 2012, "Hedging your bets"): the list is ordered so that the
concepts whose probability clears the calibrated bar `sure_score` come first, the most
specific first (specificity = 1 - log(classes under it) / log(1000), so 'tabby cat' >
'cat' > 'animal'; learned-only concepts count as mid-level, 0.5), then the rest by
probability. So a sure 'golden retriever' leads, 'dog' leads when only the kind is sure,
'animal' when only that is, and a broad word never outranks a sure specific one. The
scores reported are the probabilities themselves. The decoder's subject is the first
concept when it is likely enough (lightcap.grounding). People are what a caption is
about when they are in the picture: a people concept counts as sure at half the bar
(PEOPLE_BAR_SCALE) and, when sure, leads the other sure concepts, so "a man" leads a
portrait in which the suit is surer.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
from torch import nn

from .config import LightCapConfig
from .model import Concepts, ConceptExtractor

# Specificity of a concept the class map does not produce (a person, a scene).
LEARNED_SPECIFICITY = 0.5
DEFAULT_SURE_SCORE = 0.5
# Sections of the everyday table (vocabulary/concepts.py) the learned head also speaks for.
LEARNED_SECTIONS = ("people", "places")
# A people concept is sure at this share of the bar.
PEOPLE_BAR_SCALE = 0.5


def concept_tables(concepts: list[str]) -> tuple[torch.Tensor, ...]:
    """(class_matrix [1000, C] 0/1, mapped [C] 0/1, learned [C] 0/1, specificity [C],
    people [C] 0/1) of a concept list: which concepts the class map produces, which the
    learned head scores, how specific each is and which are people."""
    from .photo_concepts import class_concept_matrix, concept_map

    matrix = class_concept_matrix(concepts)
    counts = matrix.sum(dim=0)
    mapped = (counts > 0).float()
    section = {c["name"]: c["section"] for c in concept_map()["concepts"]}
    learned = torch.tensor([1.0 if counts[j] == 0 or section.get(name) in LEARNED_SECTIONS else 0.0
                            for j, name in enumerate(concepts)])
    specificity = torch.where(counts > 0, 1.0 - torch.log(counts.clamp(min=1)) / math.log(len(matrix)),
                              torch.tensor(LEARNED_SPECIFICITY))
    people = torch.tensor([1.0 if section.get(name) == "people" else 0.0 for name in concepts])
    return matrix, mapped, learned, specificity, people


class HedgedConceptExtractor(nn.Module):
    """ImageNet head through the class map for mapped concepts, the learned head for the
    rest; ordered by the hedging rule (module doc)."""

    def __init__(self, config: LightCapConfig, num_concepts: int):
        super().__init__()
        self.learned = ConceptExtractor(config, num_concepts)
        self.k = config.num_concepts_k
        self.register_buffer("class_matrix", torch.zeros(1000, num_concepts))
        self.register_buffer("mapped", torch.zeros(num_concepts))
        self.register_buffer("learned_too", torch.ones(num_concepts))
        self.register_buffer("people", torch.zeros(num_concepts))
        self.register_buffer("specificity", torch.full((num_concepts,), LEARNED_SPECIFICITY))
        self.register_buffer("sure_score", torch.tensor(DEFAULT_SURE_SCORE))
        # The backbone's own classifier, attached by LightCap (a shared, frozen module).
        self.classifier: nn.Module | None = None

    @property
    def concept_embeddings(self) -> torch.Tensor:
        """The learned head's concept text embeddings (training loads and rounds them)."""
        return self.learned.concept_embeddings

    def set_concepts(self, concepts: list[str]) -> None:
        matrix, mapped, learned, specificity, people = concept_tables(concepts)
        with torch.no_grad():
            self.people.copy_(people)
            self.class_matrix.copy_(matrix)
            self.mapped.copy_(mapped)
            self.learned_too.copy_(learned)
            self.specificity.copy_(specificity)

    def probabilities(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(p [B, C], learned logits [B, C])."""
        if self.classifier is None:
            raise RuntimeError("HedgedConceptExtractor needs the backbone's classifier")
        learned = self.learned(grid).logits
        classes = torch.softmax(self.classifier(grid.mean(dim=(2, 3))), dim=-1)
        from_map = (classes @ self.class_matrix).clamp(max=1.0)
        p = torch.maximum(from_map * self.mapped, torch.sigmoid(learned) * self.learned_too)
        return p, learned

    def sure(self, p: torch.Tensor, bar: float | torch.Tensor | None = None) -> torch.Tensor:
        """[..., C] bool: which concepts clear the bar (this head's, or `bar`); people at
        PEOPLE_BAR_SCALE of it."""
        bar = self.sure_score if bar is None else bar
        return p >= bar * (1.0 - (1.0 - PEOPLE_BAR_SCALE) * self.people)

    def rank(self, p: torch.Tensor, bar: float | torch.Tensor | None = None) -> torch.Tensor:
        """[..., C]: the hedged order's key, highest first (module doc)."""
        return p + self.sure(p, bar).float() * (1.0 + self.specificity + self.people)

    def forward(self, grid: torch.Tensor) -> Concepts:
        p, learned = self.probabilities(grid)
        _, ids = self.rank(p).topk(self.k, dim=-1)
        return Concepts(ids=ids, scores=torch.gather(p, 1, ids), logits=learned)


def hedged_model(model, concepts: list[str], sure_score: float = DEFAULT_SURE_SCORE):
    """A copy of a learned-head LightCap with the hedged concept head: the same weights,
    its learned head kept for the concepts the class map lacks."""
    from .checkpoint import build_model
    from .text import CaptionTokenizer

    config = model.config.replace(concept_head="hedged", image_evidence=True)
    hedged = build_model(config, concepts, CaptionTokenizer())
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("concept_extractor."):
            key = "concept_extractor.learned." + key.removeprefix("concept_extractor.")
        state[key] = value
    target = hedged.state_dict()
    for key in ("class_matrix", "mapped", "learned_too", "specificity", "people"):
        state[f"concept_extractor.{key}"] = target[f"concept_extractor.{key}"]
    state["concept_extractor.sure_score"] = torch.tensor(float(sure_score))
    state["concept_extractor.classifier.weight"] = state["backbone.net._fc.weight"]
    state["concept_extractor.classifier.bias"] = state["backbone.net._fc.bias"]
    hedged.load_state_dict(state)
    speak_every_concept(hedged)
    return hedged.eval()


def speak_every_concept(model) -> list[int]:
    """Make the word-pieces of every concept name generable, so that any concept can be
    a caption's subject: a piece training never generated (its bias at -1e4,
    lightcap.prune) gets the median bias of the pieces of the concept names that training
    did generate, and keeps its word embedding, from which the concept's own embedding is
    made. Returns the token ids opened."""
    from .prune import UNREACHABLE_BIAS

    pieces = model.embeddings.concept_piece_ids[model.embeddings.concept_piece_mask > 0].unique()
    with torch.no_grad():
        biases = torch.stack([head.bias for head in model.heads])  # [heads, V]
        closed = (biases[:, pieces] <= UNREACHABLE_BIAS).all(dim=0)
        open_pieces, shut = pieces[~closed], pieces[closed]
        if len(shut) and len(open_pieces):
            for head in model.heads:
                head.bias[shut] = head.bias[open_pieces].median()
    return shut.tolist()


def main(argv: list[str] | None = None) -> None:
    from .checkpoint import load_checkpoint, save_checkpoint

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sure-score", type=float, default=DEFAULT_SURE_SCORE)
    args = parser.parse_args(argv)
    model, concepts, meta = load_checkpoint(args.checkpoint)
    save_checkpoint(args.out, hedged_model(model, concepts, args.sure_score), concepts, **meta)
    print(f"wrote {args.out} (sure score {args.sure_score})")


if __name__ == "__main__":
    main()
