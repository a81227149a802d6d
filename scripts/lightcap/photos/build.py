"""The photo sources of the default dataset, as `lightcap.build_dataset` calls them:
"photos" (full-frame photos and backgrounds, `frames`) and "composites" (`composites`).

Reads the unpacked Debian packages under ROOT (build/sources, see `lightcap.sources`);
writes PNGs into the image folders it is given and returns dataset items with their
split already set, since composite splits follow the splits of what they are made of.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..sources.inventory import collect
from ..sources.items import Item
from . import SPLIT_KEY, composites, frames
from .places import place_of, subject_of

DEFAULT_ROOT = Path("build/sources")


def split_items(items: list[Item], seed: int) -> list[tuple[Item, str]]:
    from ..build_dataset import split_of  # the one split rule of the dataset

    return [(item, split_of(seed, SPLIT_KEY, item.group)) for item in items]


def photo_items(root: Path, out_dir: Path, seed: int, crops: int, workers: int, report: Counter,
                items: list[Item] | None = None) -> list[dict]:
    items = collect(root) if items is None else items
    chosen = [pair for pair in split_items(items, seed) if pair[0].kind in ("photo", "background")]
    return frames.build(out_dir, chosen, seed, crops, workers)


def composite_pools(items: list[Item], seed: int, report: Counter
                    ) -> tuple[dict[str, list[composites.Cutout]], dict[str, list[composites.Background]]]:
    cutouts: dict[str, list] = {}
    backgrounds: dict[str, list] = {}
    for item, split in split_items(items, seed):
        if item.kind == "cutout":
            subject = subject_of(item)
            loaded = subject and composites.load_cutout(item.path, subject, item.group)
            if not loaded:
                report["composites: cut-out not used"] += 1
                continue
            cutouts.setdefault(split, []).append(loaded)
        elif item.kind == "background":
            place = place_of(item)
            if place is None:
                report["composites: background without a place, frames only"] += 1
                continue
            backgrounds.setdefault(split, []).append(composites.load_background(item.path, *place, item.group))
    for split in ("train", "val", "test"):
        report[f"composites: cut-outs in {split}"] = len(cutouts.get(split, []))
        report[f"composites: backgrounds in {split}"] = len(backgrounds.get(split, []))
    return cutouts, backgrounds


def composite_items(root: Path, out_dir: Path, seed: int, total: int, workers: int, report: Counter,
                    items: list[Item] | None = None) -> list[dict]:
    items = collect(root) if items is None else items
    cutouts, backgrounds = composite_pools(items, seed, report)
    return composites.build(out_dir, total, seed, cutouts, backgrounds, workers, report)
