"""Model checkpoints: weights plus everything needed to rebuild and export them."""

from __future__ import annotations

from pathlib import Path

import torch

from .config import CONFIGS, LightCapConfig, get_config
from .model import LightCap
from .text import CaptionTokenizer, concept_piece_table

# The 80 COCO object categories: the concept vocabulary of randomly initialised
# models (tests and timing), where no training captions exist to derive one.
COCO_CATEGORIES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
]


def build_model(config: LightCapConfig, concepts: list[str], tokenizer: CaptionTokenizer,
                backbone_weights: str | None = None) -> LightCap:
    model = LightCap(config, len(concepts), backbone_weights)
    ids, mask = concept_piece_table(tokenizer, concepts, config.max_concept_pieces)
    model.embeddings.concept_piece_ids.copy_(ids)
    model.embeddings.concept_piece_mask.copy_(mask)
    if config.concept_head == "hedged":
        model.concept_extractor.set_concepts(concepts)
    return model


def random_model(config_name: str, tokenizer: CaptionTokenizer, seed: int = 0):
    torch.manual_seed(seed)
    concepts = list(COCO_CATEGORIES)
    model = build_model(get_config(config_name), concepts, tokenizer)
    return model.eval(), concepts


def save_checkpoint(path: Path, model: LightCap, concepts: list[str], **meta) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"config": model.config.__dict__, "concepts": concepts,
                "state_dict": model.state_dict(), "meta": meta}, tmp)
    tmp.replace(path)  # atomic: an interrupted save never leaves a broken checkpoint


def load_checkpoint(path: Path, tokenizer: CaptionTokenizer | None = None):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    data = torch.load(path, map_location="cpu", weights_only=False)
    fields = dict(data["config"])
    for key in ("mean", "std"):
        fields[key] = tuple(fields[key])
    config = LightCapConfig(**fields)
    if config.name in CONFIGS and CONFIGS[config.name].backbone != config.backbone:
        raise ValueError(f"checkpoint {path} config {config.name!r} has an unexpected backbone")
    model = build_model(config, data["concepts"], tokenizer or CaptionTokenizer())
    model.load_state_dict(data["state_dict"])
    return model.eval(), data["concepts"], data.get("meta", {})
