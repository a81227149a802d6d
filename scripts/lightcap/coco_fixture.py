"""A small dataset in the COCO captions format, from the procedural scenes of
`lightcap.synthetic`: what CI trains a pack from end to end (`lightcap.coco_pack`), so the
COCO-format path is run, not only written.

    python -m lightcap.coco_fixture --out build/coco-fixture --train 40 --val 12

Writes OUT/images/*.png and OUT/captions_train.json, OUT/captions_val.json, each laid out
as COCO's `annotations/captions_*.json`: `images` [{id, file_name, width, height}] and
`annotations` [{id, image_id, caption}], several captions an image.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .synthetic import captions_for, scene


def write_fixture(out: Path, train: int, val: int, seed: int = 0, size: int = 224) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    written = {}
    image_id = annotation_id = 0
    for split, count in (("train", train), ("val", val)):
        images, annotations = [], []
        for _ in range(count):
            image_id += 1
            picture, objects = scene(rng, size)
            name = f"{split}_{image_id:06d}.png"
            picture.save(out / "images" / name)
            images.append({"id": image_id, "file_name": name, "width": size, "height": size})
            for caption in captions_for(objects, rng, n=4):
                annotation_id += 1
                annotations.append({"id": annotation_id, "image_id": image_id, "caption": caption})
        path = out / f"captions_{split}.json"
        path.write_text(json.dumps({"info": {"description": "LightCap procedural scenes, COCO captions layout"},
                                    "images": images, "annotations": annotations}), encoding="utf-8")
        written[split] = path
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train", type=int, default=40, help="training images")
    parser.add_argument("--val", type=int, default=12, help="validation images (calibration)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for split, path in write_fixture(args.out, args.train, args.val, args.seed).items():
        print(f"{split}: {path}")


if __name__ == "__main__":
    main()
