"""The hedging bar of a hedged concept head: how sure a concept must be to lead.

    python -m lightcap.hedging_bar --checkpoint HEDGED.pt --sources build/sources [--precision 0.75] [--write]

A concept whose probability clears the bar is "sure": it leads the concept list (the most
specific sure one first) and becomes the caption's subject (lightcap.hedged_concepts,
lightcap.grounding). A lower bar makes more photos specific and more of them wrong.
The bar is chosen on the labelled photos of the training sources outside their held-out
test split (the evaluation never sees those): for each candidate bar, the share of photos
with a sure concept and, among them, the share whose leading concept names the photo's
label (`names_object`). The bar is the lowest whose precision reaches --precision (Deng et
al.'s hedging: the best specificity at a required accuracy). With --write it is stored
in the checkpoint, which the exporter writes into the pack's manifest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

BARS = [round(b, 2) for b in np.arange(0.20, 0.96, 0.05)]


def labelled_training_photos(sources: Path) -> list[tuple[str, str]]:
    """(path, label noun) of every source photo outside the held-out test split."""
    from .photo_eval.eval_set import in_test_split, label_noun
    from .sources.inventory import collect

    photos = []
    for item in collect(sources):
        if item.kind != "photo" or in_test_split(item.group):
            continue
        noun = label_noun(item.label)
        if noun is not None:
            photos.append((item.path, noun))
    return photos


@torch.no_grad()
def concept_probabilities(model, paths: list[str]) -> np.ndarray:
    """[images, concepts] hedged-head probabilities."""
    from .preprocess import preprocess_file

    rows = []
    for path in paths:
        pixels = torch.from_numpy(preprocess_file(path, model.config.image_size))[None]
        p, _ = model.concept_extractor.probabilities(model.backbone_grid(pixels))
        rows.append(p[0].numpy())
    return np.stack(rows)


def bar_table(p: np.ndarray, extractor, concepts: list[str], labels: list[str], names_object) -> list[dict]:
    """For each candidate bar, the share of photos with a sure concept and, among them, the
    share whose leading concept (the head's own rank rule at that bar) names the label."""
    probs = torch.as_tensor(p)
    rows = []
    for bar in BARS:
        with torch.no_grad():
            has_sure = extractor.sure(probs, bar).any(dim=-1).tolist()
            leading = extractor.rank(probs, bar).argmax(dim=-1).tolist()
        sure = [i for i in range(len(p)) if has_sure[i]]
        right = sum(names_object(concepts[leading[i]], labels[i]) for i in sure)
        rows.append({"bar": bar, "sure": len(sure) / len(p), "precision": right / len(sure) if sure else None})
    return rows


def choose(rows: list[dict], precision: float) -> float:
    for row in rows:
        if row["precision"] is not None and row["precision"] >= precision:
            return row["bar"]
    return rows[-1]["bar"]


def main(argv: list[str] | None = None) -> None:
    from .checkpoint import load_checkpoint, save_checkpoint
    from .vocabulary.everyday import names_object

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--sources", type=Path, default=Path("build/sources"))
    parser.add_argument("--precision", type=float, default=0.75)
    parser.add_argument("--write", action="store_true", help="store the chosen bar in the checkpoint")
    args = parser.parse_args(argv)
    model, concepts, meta = load_checkpoint(args.checkpoint)
    if model.config.concept_head != "hedged":
        raise SystemExit(f"{args.checkpoint} has no hedged concept head (lightcap.hedged_concepts)")
    photos = labelled_training_photos(args.sources)
    p = concept_probabilities(model, [path for path, _ in photos])
    rows = bar_table(p, model.concept_extractor, concepts, [label for _, label in photos], names_object)
    print(f"{len(photos)} labelled training photos")
    print("| bar | photos with a sure concept | leading concept names the label |")
    print("|---:|---:|---:|")
    for row in rows:
        precision = "–" if row["precision"] is None else f"{100 * row['precision']:.0f}%"
        print(f"| {row['bar']:.2f} | {100 * row['sure']:.0f}% | {precision} |")
    bar = choose(rows, args.precision)
    print(f"bar: {bar} (lowest with precision >= {args.precision})")
    if args.write:
        with torch.no_grad():
            model.concept_extractor.sure_score.fill_(bar)
        save_checkpoint(args.checkpoint, model, concepts, **{**meta, "sure_score": bar})
        print(f"wrote {args.checkpoint}")


if __name__ == "__main__":
    main()
