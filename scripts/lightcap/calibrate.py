"""Calibrate a pack's caption confidence: fit the manifest's `confidence` section.

    python -m lightcap.calibrate --pack models/default --dataset build/dataset/dataset.json \\
        [--photos photos.json] [--inventory build/sources/inventory.json] [--write]

Input: a pack, held-out photographs (`--dataset`: the validation split's photos and
composites of the dataset the pack was trained from; `--photos`: a JSON list of {"path",
"label"}; `--inventory`: the `kind == "photo"` entries of `scripts/fetch-photo-sources.sh`'s
inventory, for a pack not trained on them), and non-photos this script draws itself
(uniform and Gaussian noise, flat colours, stripes, checkerboards, blurred noise, rendered
text pages). Every image is
captioned by the Rust CLI (`lightcap caption --json`), which prints the features the
core computes (`features` in each JSON line; `core/src/confidence.rs`).

Output: a logistic fit `confidence = sigmoid(w . features + b)` with the threshold under
which a caption is `unsure`, printed, and with `--write` stored as the manifest's
`confidence` section, plus the unsure rates of photos and non-photos on a held-out half.

Decisions, and why:
- Positives are photos, negatives are non-photos. With `--judge-captions`, a photo
  that carries a label noun (`--labelled-sources`: the photo sources' photos outside
  their held-out test split) is a positive only when its caption names that label
  (`lightcap.vocabulary.everyday.names_object`), so the confidence also learns which
  photos the pack describes wrongly; photos without a label stay positives.
- Images are split by a hash of their path into a fit half and a held-out half; the
  weights and the threshold come from the fit half only, and the rates reported (and
  written to `calibrated_on`) are the held-out half's.
- The threshold is the lowest that makes at least `--negative-unsure` (90%) of the fit
  half's non-photos unsure; with `--photo-unsure P` it is then raised, if that is
  higher, to the one under which a share P of the fit half's photos falls: the least
  sure photos are flagged too, which raises the precision an app gets from the
  confident captions at the cost of that many unsure photos.
- Classes are weighted to equal total weight and the fit has a small L2 penalty, so a
  few dozen images of each give stable weights; features are standardised for the fit
  and the scaling folded back into the weights the core multiplies raw features by.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Must match `FEATURE_NAMES` in core/src/confidence.rs. The last is only there for packs
# whose vision graph outputs it (`image_evidence`); `features_of` leaves it out elsewhere.
FEATURE_NAMES = ["mean_token_log_prob", "min_token_log_prob", "top_concept_score", "mean_top5_concept_score",
                 "image_evidence"]
IMAGE_EVIDENCE = "image_evidence"


def features_of(pack: Path) -> list[str]:
    """The features a pack can be calibrated on."""
    manifest = json.loads((Path(pack) / "manifest.json").read_text())
    outputs = [o["name"] for o in manifest["graphs"]["vision"]["outputs"]]
    return [n for n in FEATURE_NAMES if n != IMAGE_EVIDENCE or IMAGE_EVIDENCE in outputs]
NEGATIVE_KINDS = ["uniform_noise", "gaussian_noise", "flat_colour", "stripes", "checkerboard", "blurred_noise",
                  "text_page"]
WORDS = ("the of and to in is that for it as with was on be by this are or from at which have an not but "
         "all they had one were there their can been more when will would who so if out up about into "
         "than them only other new some could time these two may then do first any like now such").split()


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def negative_image(kind: str, rng: np.random.Generator, size: int = 256) -> Image.Image:
    """One non-photo of `kind` (one of NEGATIVE_KINDS), drawn from `rng`."""
    if kind == "uniform_noise":
        return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    if kind == "gaussian_noise":
        mean = rng.uniform(60, 200)
        pixels = rng.normal(mean, rng.uniform(20, 70), (size, size, 3))
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if kind == "flat_colour":
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        return Image.new("RGB", (size, size), colour)
    if kind == "stripes":
        period = int(rng.integers(6, 48))
        a, b = (rng.integers(0, 256, 3) for _ in range(2))
        axis = np.arange(size)[None, :] if rng.random() < 0.5 else np.arange(size)[:, None]
        on = ((axis // (period // 2 + 1)) % 2).astype(bool)
        on = np.broadcast_to(on, (size, size))
        return Image.fromarray(np.where(on[..., None], a, b).astype(np.uint8))
    if kind == "checkerboard":
        cell = int(rng.integers(8, 64))
        a, b = (rng.integers(0, 256, 3) for _ in range(2))
        y, x = np.mgrid[0:size, 0:size]
        on = ((y // cell + x // cell) % 2).astype(bool)
        return Image.fromarray(np.where(on[..., None], a, b).astype(np.uint8))
    if kind == "blurred_noise":
        noise = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        return noise.filter(ImageFilter.GaussianBlur(float(rng.uniform(2, 12))))
    if kind == "text_page":
        shade = int(rng.integers(225, 256))
        page = Image.new("RGB", (size, size), (shade, shade, shade))
        draw = ImageDraw.Draw(page)
        font_size = int(rng.integers(10, 22))
        font = _font(font_size)
        y = int(rng.integers(4, 16))
        while y < size - font_size:
            line = " ".join(rng.choice(WORDS, int(rng.integers(4, 12))))
            draw.text((8, y), line, fill=(20, 20, 20), font=font)
            y += int(font_size * 1.5)
        return page
    raise ValueError(f"unknown negative kind {kind!r}")


def write_negatives(out: Path, per_kind: int, seed: int) -> list[dict]:
    """Draw `per_kind` images of each kind into `out`; returns [{path, kind}]."""
    rng = np.random.default_rng(seed)
    items = []
    for kind in NEGATIVE_KINDS:
        for i in range(per_kind):
            path = out / f"{kind}_{i:03d}.png"
            negative_image(kind, rng).save(path)
            items.append({"path": str(path), "kind": kind})
    return items


def caption_features(cli: str, pack: str, paths: list[str], batch: int = 64) -> dict[str, dict]:
    """Run `lightcap caption --json` over `paths`; returns path -> its JSON line.
    Images the CLI refuses are left out (with a warning)."""
    results = {}
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        run = subprocess.run([cli, "caption", "--json", "--pack", pack, *chunk], capture_output=True, text=True)
        for line in run.stdout.splitlines():
            record = json.loads(line)
            if "error" in record:
                print(f"warning: {record['image']}: {record['error']}", file=sys.stderr)
                continue
            results[record["image"]] = record
        print(f"captioned {min(start + batch, len(paths))}/{len(paths)}", file=sys.stderr)
    return results


def feature_matrix(records: list[dict], names: list[str] = FEATURE_NAMES) -> np.ndarray:
    return np.array([[float(r["features"][n]) for n in names] for r in records], dtype=np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-penalised logistic regression by Newton's method.
    Returns (weights, bias) on the raw features (standardisation folded in)."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    z = (x - mean) / std
    a = np.hstack([z, np.ones((len(z), 1))])
    positives = y.sum()
    sample = np.where(y == 1, len(y) / (2 * max(positives, 1)), len(y) / (2 * max(len(y) - positives, 1)))
    theta = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2 * len(y))
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a @ theta)))
        gradient = a.T @ (sample * (p - y)) + penalty * theta
        hessian = (a * (sample * p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    weights = theta[:-1] / std
    bias = theta[-1] - float((theta[:-1] * mean / std).sum())
    return weights, float(bias)


def confidence(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ weights + bias)))


def choose_threshold(negative_confidence: np.ndarray, target: float) -> float:
    """The lowest threshold under which at least `target` of the negatives fall: halfway
    between the last negative that must be unsure and the next one up, so that float32
    rounding in the core does not flip it."""
    ranked = np.sort(negative_confidence)
    k = int(np.ceil(target * len(ranked))) - 1
    k = min(max(k, 0), len(ranked) - 1)
    upper = ranked[k + 1] if k + 1 < len(ranked) else min(1.0, ranked[k] + 1e-3)
    if upper <= ranked[k]:
        upper = min(1.0, ranked[k] + 1e-6)
    return float(min(1.0, (ranked[k] + upper) / 2))


def held_out(path: str) -> bool:
    """Half of the images, chosen by a hash of the path (stable across runs)."""
    return hashlib.sha256(Path(path).name.encode() + str(Path(path).parent.name).encode()).digest()[0] % 2 == 1


def unsure_rate(conf: np.ndarray, threshold: float) -> tuple[int, int]:
    return int((conf < threshold).sum()), len(conf)


def calibrate(photos: list[dict], negatives: list[dict], target: float,
              names: list[str] = FEATURE_NAMES[:4], photo_unsure: float = 0.0) -> dict:
    """Fit on one half, measure on the other. `photos` and `negatives` are JSON lines from
    the CLI, each with `split` ("fit" or "held_out"); negatives also carry `kind`; a
    photo with `right` False (its caption misses its label) counts as a negative in the
    fit."""
    fit = [r for r in photos + negatives if r["split"] == "fit"]
    x = feature_matrix(fit, names)
    y = np.array([1.0 if r.get("kind") is None and r.get("right", True) else 0.0 for r in fit])
    weights, bias = fit_logistic(x, y)
    non_photos = np.array([r.get("kind") is not None for r in fit])
    threshold = choose_threshold(confidence(x[non_photos], weights, bias), target)
    if photo_unsure > 0:
        fit_photos = confidence(x[~non_photos], weights, bias)
        threshold = max(threshold, float(np.quantile(fit_photos, photo_unsure)))
    report = {"features": names, "weights": weights.tolist(), "bias": bias, "threshold": threshold, "rates": {}}
    for split in ("fit", "held_out"):
        judged = [r for r in photos if r["split"] == split and "right" in r]
        if judged:
            conf = confidence(feature_matrix(judged, names), weights, bias)
            sure = [r for r, c in zip(judged, conf) if c >= threshold]
            report.setdefault("precision", {})[split] = (sum(r["right"] for r in sure), len(sure),
                                                         sum(r["right"] for r in judged), len(judged))
    for split in ("fit", "held_out"):
        p = [r for r in photos if r["split"] == split]
        n = [r for r in negatives if r["split"] == split]
        rates = {"photos": unsure_rate(confidence(feature_matrix(p, names), weights, bias), threshold) if p else (0, 0),
                 "negatives": unsure_rate(confidence(feature_matrix(n, names), weights, bias), threshold)
                 if n else (0, 0)}
        for kind in NEGATIVE_KINDS:
            nk = [r for r in n if r["kind"] == kind]
            if nk:
                rates[kind] = unsure_rate(confidence(feature_matrix(nk, names), weights, bias), threshold)
        report["rates"][split] = rates
    return report


def manifest_section(report: dict, description: str) -> dict:
    h = report["rates"]["held_out"]
    (pu, pn), (nu, nn) = h["photos"], h["negatives"]
    return {
        "features": report["features"],
        "weights": [round(w, 6) for w in report["weights"]],
        "bias": round(report["bias"], 6),
        "threshold": round(report["threshold"], 6),
        "calibrated_on": (f"{description}; held-out unsure rates: photos {pu}/{pn}, "
                          f"non-photos {nu}/{nn} (python -m lightcap.calibrate)"),
    }


def held_out_dataset_photos(dataset: Path, split: str = "val", limit: int = 200) -> list[dict]:
    """The photographs of a built dataset (`lightcap.build_dataset`) in a split the pack
    was not trained on: its full-frame photos, then its composites up to `limit` in all.
    Calibrating on photos the pack has seen would make it sure of itself on them."""
    root = dataset.parent
    entries = [e for e in json.loads(dataset.read_text())["images"] if e["split"] == split]
    chosen = [e for e in entries if e["source"] == "photos"]
    chosen += [e for e in entries if e["source"] == "composites"][:max(0, limit - len(chosen))]
    return [{"path": str(root / e["filepath"] / e["filename"]), "label": e["sentences"][0]["raw"]}
            for e in chosen[:limit]]


def load_photos(photos: Path | None, inventory: Path | None, dataset: Path | None = None) -> list[dict]:
    items = []
    if dataset:
        items += held_out_dataset_photos(dataset)
    if photos:
        items += [{"path": p["path"], "label": p.get("label", "")} for p in json.loads(photos.read_text())]
    if inventory:
        items += [{"path": p["path"], "label": p.get("label", "")}
                  for p in json.loads(inventory.read_text()) if p.get("kind") == "photo"]
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default="models/default")
    parser.add_argument("--photos", type=Path, help="JSON list of {path, label}")
    parser.add_argument("--inventory", type=Path, help="photo-source inventory; its kind=photo entries are used")
    parser.add_argument("--dataset", type=Path,
                        help="a built dataset.json; its validation split's photos and composites are used")
    parser.add_argument("--cli", default="target/debug/lightcap", help="the lightcap binary")
    parser.add_argument("--negatives-per-kind", type=int, default=32,
                        help="non-photos drawn of each kind (16 left the threshold at the mercy of a few images)")
    parser.add_argument("--negative-unsure", type=float, default=0.9, help="share of non-photos to make unsure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="store the section in the pack's manifest.json")
    parser.add_argument("--report", type=Path, help="also write the full report as JSON here")
    parser.add_argument("--labelled-sources", type=Path,
                        help="add the labelled photos of these photo sources (outside their test split)")
    parser.add_argument("--judge-captions", action="store_true",
                        help="a labelled photo whose caption misses its label counts as a negative")
    parser.add_argument("--photo-unsure", type=float, default=0.0,
                        help="raise the threshold to make up to this share of the fit photos unsure")
    args = parser.parse_args(argv)

    photos = load_photos(args.photos, args.inventory, args.dataset)
    if args.labelled_sources:
        from .hedging_bar import labelled_training_photos

        known = {p["path"] for p in photos}
        extra = [{"path": path, "label": label} for path, label in labelled_training_photos(args.labelled_sources)
                 if path not in known]
        photos += extra
    added = len(extra) if args.labelled_sources else 0
    if not photos:
        parser.error("no photos: pass --photos, --inventory or --dataset")
    with tempfile.TemporaryDirectory() as tmp:
        negatives = write_negatives(Path(tmp), args.negatives_per_kind, args.seed)
        records = caption_features(args.cli, args.pack, [p["path"] for p in photos + negatives])
    kinds = {n["path"]: n["kind"] for n in negatives}
    # Only the labelled sources' labels are nouns; the dataset's are captions.
    labelled = {p["path"] for p in photos[len(photos) - added:]} if args.labelled_sources else set()
    labels = {p["path"]: p["label"] for p in photos if p["path"] in labelled} if args.judge_captions else {}
    if labels:
        from .vocabulary.everyday import names_object
    photo_records, negative_records = [], []
    for path, record in records.items():
        record["split"] = "held_out" if held_out(path) else "fit"
        if path in kinds:
            record["kind"] = kinds[path]
            negative_records.append(record)
        else:
            if path in labels:
                record["right"] = names_object(record.get("caption", ""), labels[path])
            photo_records.append(record)
    report = calibrate(photo_records, negative_records, args.negative_unsure, features_of(Path(args.pack)),
                       args.photo_unsure)
    description = (f"{len(photo_records)} photos vs {len(negative_records)} drawn non-photos "
                   f"({', '.join(NEGATIVE_KINDS)}), fitted on one half")
    section = manifest_section(report, description)

    for split in ("fit", "held_out"):
        rates = report["rates"][split]
        print(f"{split}: " + ", ".join(f"{name} unsure {u}/{n} ({u / max(n, 1):.0%})"
                                       for name, (u, n) in rates.items()))
    for split, (right_sure, sure, right, judged) in report.get("precision", {}).items():
        print(f"{split}: labelled photos naming their label: {right}/{judged} in all, "
              f"{right_sure}/{sure} of the confident ones")
    print(json.dumps(section, indent=2))
    if args.report:
        args.report.write_text(json.dumps({"section": section, **report}, indent=2) + "\n")
    if args.write:
        manifest_path = Path(args.pack) / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["confidence"] = section
        from .pack_manifest import write_manifest

        write_manifest(manifest_path, manifest)
        print(f"wrote the confidence section of {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
