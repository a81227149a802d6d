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
import os
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


class _Pixels(torch.utils.data.Dataset):
    def __init__(self, examples: list[Example], size: int):
        self.examples, self.size = examples, size

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(preprocess_file(self.examples[index].image_path, self.size))


# Revisions of a backbone's computation: a cache written by an earlier revision has
# another key, so it is never read as this one's (efficientnet-lite0 2: ReLU6 kept, as the
# ImageNet weights expect, where revision 1 had swapped in swish).
BACKBONE_REVISIONS = {"efficientnet-lite0": 2}


def cache_key(model, examples: list[Example]) -> str:
    """What a cache file is keyed by: the backbone (and its revision) and the image paths, in order."""
    key = hashlib.sha256()
    key.update(model.config.backbone.encode())
    if model.config.backbone in BACKBONE_REVISIONS:
        key.update(f"revision {BACKBONE_REVISIONS[model.config.backbone]}".encode())
    for e in examples:
        key.update(str(e.image_path).encode())
    return key.hexdigest()[:16]


# Version of the ImageNet-logits cache file's content (bump when its computation changes).
LOGITS_CACHE_VERSION = 2  # 2: the classifier's pretrained weights (1 had them redrawn at random)


@torch.no_grad()
def cached_imagenet_logits(model, examples: list[Example], grids: np.ndarray, cache_dir: Path,
                           device: str = "cpu", batch_size: int = 512) -> np.ndarray:
    """The frozen backbone's ImageNet classifier logits [N, 1000] float32 for every example,
    computed once from the cached grids (the classifier reads only the pooled grid) and
    kept next to them in a file named by the cache version and the grids' key."""
    if not hasattr(model.backbone, "classify"):
        raise ValueError(f"backbone {model.config.backbone!r} has no ImageNet classifier")
    cache_dir = Path(cache_dir)
    path = cache_dir / f"imagenet-logits-v{LOGITS_CACHE_VERSION}-{model.config.backbone}-{cache_key(model, examples)}.npy"
    if path.is_file():
        logits = np.load(path)
        if logits.shape[0] == len(examples):
            return logits
    backbone = model.backbone.to(device).eval()
    rows = []
    for start in range(0, len(grids), batch_size):
        chunk = torch.from_numpy(np.asarray(grids[start : start + batch_size], dtype=np.float32)).to(device)
        rows.append(backbone.classify(chunk).float().cpu().numpy())
    logits = np.concatenate(rows) if rows else np.zeros((0, 1000), np.float32)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, logits)
    tmp.replace(path)
    return logits


@torch.no_grad()
def cached_grids(model, examples: list[Example], cache_dir: Path, device: str = "cpu",
                 batch_size: int = 32) -> np.ndarray:
    """The frozen backbone's grids for every example, computed once and kept as a
    float16 .npy file (memory-mapped, so COCO-sized caches need not fit in RAM)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"grids-{model.config.backbone}-{cache_key(model, examples)}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    c = model.config
    shape = (len(examples), c.backbone_channels, c.grid_size, c.grid_size)
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=shape)
    backbone_model = model.to(device).eval()
    # Decoding and resizing images is the slow part on a GPU machine: worker processes do it.
    images = torch.utils.data.DataLoader(_Pixels(examples, c.image_size), batch_size=batch_size,
                                         num_workers=min(8, os.cpu_count() or 1))
    start = 0
    for pixels in tqdm(images, desc="backbone features", unit="batch"):
        grids = backbone_model.backbone_grid(pixels.to(device))
        out[start : start + len(pixels)] = grids.cpu().numpy().astype(np.float16)
        start += len(pixels)
    out.flush()
    del out
    tmp.replace(path)
    return np.load(path, mmap_mode="r")


class CaptionGroups:
    """Every training image's grid, all its captions (token ids, padded) and its concept
    targets. A batch is a set of images with all of their captions, so training computes
    each image's prefix (concepts, modulation, prefix layers) once for all its captions."""

    def __init__(self, grids: np.ndarray | torch.Tensor, examples: list[Example], tokenizer, concepts: list[str],
                 max_tokens: int, labels: torch.Tensor | None = None):
        from .text import concept_labels

        self.grids = grids  # a memory-mapped array, or a tensor already in (GPU) memory
        pad = tokenizer.special.pad
        self.captions = []
        for e in examples:
            ids = torch.full((len(e.captions), max_tokens), pad, dtype=torch.long)
            for row, caption in enumerate(e.captions):
                encoded = tokenizer.encode_caption(caption, max_tokens)
                ids[row, : len(encoded)] = torch.tensor(encoded)
            self.captions.append(ids)
        if labels is None:  # concept targets from the caption words (text.concept_labels)
            labels = torch.stack([concept_labels(list(e.captions), concepts) for e in examples])
        elif tuple(labels.shape) != (len(examples), len(concepts)):
            raise ValueError(f"labels {tuple(labels.shape)} for {len(examples)} images and {len(concepts)} concepts")
        self.labels = labels

    def __len__(self) -> int:
        return len(self.captions)

    def caption_ids(self) -> torch.Tensor:
        """Every caption of every image, [captions, max_tokens]."""
        return torch.cat(self.captions)

    def batch(self, images: torch.Tensor):
        """(grids [B, C, G, G] float32, ids [N, T], caption_image [N], labels [B, concepts]) for the
        image indices `images`; caption_image[n] is the batch row of the image caption n describes."""
        if isinstance(self.grids, torch.Tensor):
            grids = self.grids[images.to(self.grids.device)].float()
        else:
            grids = torch.from_numpy(np.asarray(self.grids[images.numpy()], dtype=np.float32))
        captions = [self.captions[i] for i in images.tolist()]
        counts = torch.tensor([len(c) for c in captions])
        return (grids, torch.cat(captions), torch.repeat_interleave(torch.arange(len(images)), counts),
                self.labels[images])
