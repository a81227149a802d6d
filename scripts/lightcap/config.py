"""Named model configurations.

`lightcap-rn50` is the paper's configuration; `lightcap-effnet` swaps in the
mobile-class EfficientNet-Lite0 backbone; `tiny` keeps every mechanism but is
small enough that its pack is a few MB and exports in seconds (tests, CI).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class LightCapConfig:
    name: str
    # Visual backbone: "clip-rn50", "efficientnet-lite0" or "tiny-cnn".
    backbone: str
    image_size: int
    grid_size: int  # the backbone's output is grid_size x grid_size tokens
    backbone_channels: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    # Concept extractor: the alignment module maps the pooled grid into the
    # joint space where concept text embeddings live.
    joint_dim: int
    num_concepts_k: int
    # "learned": the alignment head above scores every concept; "hedged": the backbone's
    # ImageNet head through the WordNet class map, hedged, with the learned head for what
    # the map lacks (lightcap.hedged_concepts; needs a backbone with a classifier).
    concept_head: str = "learned"
    # The vision graph also outputs `image_evidence`, the standard deviation of the
    # backbone's grid: a confidence feature that tells photographs from noise, flat
    # colour, stripes and text pages (core/src/confidence.rs).
    image_evidence: bool = False
    # Fusion model (TinyBERT-4 in the paper).
    vocab_size: int = 30522
    hidden: int = 312
    layers: int = 4
    heads: int = 12
    ffn: int = 1200
    # Caption positions 0..max_caption_positions-1; concept tokens take the
    # positions after them, so the position table has max_caption_positions + K rows.
    max_caption_positions: int = 40
    modulator_squeeze: int = 39
    ensemble_heads: int = 3
    # Concept word-pieces are averaged into one token; longer names are cut.
    max_concept_pieces: int = 6
    layer_norm_eps: float = 1e-12

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def prefix_len(self) -> int:
        return self.num_concepts_k + self.grid_size * self.grid_size

    def replace(self, **changes) -> "LightCapConfig":
        return dataclasses.replace(self, **changes)


CONFIGS: dict[str, LightCapConfig] = {
    "lightcap-rn50": LightCapConfig(
        name="lightcap-rn50",
        backbone="clip-rn50",
        image_size=224,
        grid_size=7,
        backbone_channels=2048,
        mean=CLIP_MEAN,
        std=CLIP_STD,
        joint_dim=1024,
        num_concepts_k=20,
    ),
    "lightcap-effnet": LightCapConfig(
        name="lightcap-effnet",
        backbone="efficientnet-lite0",
        image_size=224,
        grid_size=7,
        backbone_channels=1280,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        joint_dim=384,
        num_concepts_k=20,
    ),
    "tiny": LightCapConfig(
        name="tiny",
        backbone="tiny-cnn",
        image_size=224,
        grid_size=7,
        backbone_channels=64,
        mean=CLIP_MEAN,
        std=CLIP_STD,
        joint_dim=32,
        num_concepts_k=5,
        hidden=32,
        layers=2,
        heads=2,
        ffn=64,
        max_caption_positions=24,
        modulator_squeeze=8,
        ensemble_heads=2,
    ),
}


def get_config(name: str) -> LightCapConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown config {name!r}; known: {', '.join(sorted(CONFIGS))}") from None
