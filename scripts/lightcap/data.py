"""Caption datasets in COCO formats, and the frozen backbone's features cached on disk.

Two JSON layouts are read:
- Karpathy split (`dataset_coco.json`): {"images": [{"filepath", "filename",
  "split": train|restval|val|test, "sentences": [{"raw": ...}]}]}; restval counts as train.
- COCO captions (`captions_train2017.json`): {"images": [{"id", "file_name"}],
  "annotations": [{"image_id", "caption"}]}; every image gets the split you name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .preprocess import preprocess_file


@dataclass(frozen=True)
class Example:
    image_id: int | str
    image_path: Path
    captions: tuple[str, ...]
    split: str


def read_dataset(json_path: Path, images_root: Path | None = None, coco_split: str = "train") -> list[Example]:
    json_path = Path(json_path)
    if not json_path.is_file():
        raise FileNotFoundError(f"dataset file not found: {json_path}")
    root = Path(images_root) if images_root else json_path.parent
    data = json.loads(json_path.read_text(encoding="utf-8"))
    examples = []
    if "annotations" in data:
        captions: dict = {}
        for a in data["annotations"]:
            captions.setdefault(a["image_id"], []).append(a["caption"].strip())
        for image in data["images"]:
            if image["id"] in captions:
                examples.append(Example(image["id"], root / image["file_name"], tuple(captions[image["id"]]), coco_split))
    else:
        for image in data["images"]:
            split = "train" if image["split"] == "restval" else image["split"]
            path = root / image.get("filepath", "") / image["filename"]
            sentences = tuple(s["raw"].strip() for s in image["sentences"])
            examples.append(Example(image.get("imgid", image.get("cocoid", image["filename"])), path, sentences, split))
    if not examples:
        raise ValueError(f"{json_path} holds no captioned images")
    return examples


def split(examples: list[Example], name: str) -> list[Example]:
    return [e for e in examples if e.split == name]


@torch.no_grad()
def cached_grids(model, examples: list[Example], cache_dir: Path, device: str = "cpu",
                 batch_size: int = 32) -> np.ndarray:
    """The frozen backbone's grids for every example, computed once and kept as a
    float16 .npy file (memory-mapped, so COCO-sized caches need not fit in RAM)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256()
    key.update(model.config.backbone.encode())
    for e in examples:
        key.update(str(e.image_path).encode())
    path = cache_dir / f"grids-{model.config.backbone}-{key.hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    c = model.config
    shape = (len(examples), c.backbone_channels, c.grid_size, c.grid_size)
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=shape)
    backbone_model = model.to(device).eval()
    for start in tqdm(range(0, len(examples), batch_size), desc="backbone features", unit="batch"):
        chunk = examples[start : start + batch_size]
        pixels = torch.from_numpy(np.stack([preprocess_file(e.image_path, c.image_size) for e in chunk]))
        grids = backbone_model.backbone_grid(pixels.to(device))
        out[start : start + len(chunk)] = grids.cpu().numpy().astype(np.float16)
    out.flush()
    del out
    tmp.replace(path)
    return np.load(path, mmap_mode="r")


class CaptionPairs(torch.utils.data.Dataset):
    """One item per (image, caption): grid, token ids padded, concept targets."""

    def __init__(self, grids: np.ndarray, examples: list[Example], tokenizer, concepts: list[str], max_tokens: int):
        from .text import concept_labels

        self.grids = grids
        self.pairs = [(i, c) for i, e in enumerate(examples) for c in e.captions]
        self.labels = [concept_labels(list(e.captions), concepts) for e in examples]
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        image, caption = self.pairs[index]
        ids = self.tokenizer.encode_caption(caption, self.max_tokens)
        padded = torch.full((self.max_tokens,), self.tokenizer.special.pad, dtype=torch.long)
        padded[: len(ids)] = torch.tensor(ids)
        grid = torch.from_numpy(np.asarray(self.grids[image], dtype=np.float32))
        return grid, padded, self.labels[image]
