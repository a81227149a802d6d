"""Golden files: what the PyTorch reference computes for fixed images, so that the
Rust core can prove it runs an exported pack identically (core/tests/parity.rs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .decoding import DecodeOptions, TorchStepper, decode
from .grounding import grounding_for
from .model import LightCap
from .preprocess import preprocess_file

# The decoding settings the golden sequences are computed with.
GOLDEN_OPTIONS = {
    "greedy": DecodeOptions(max_length=20),
    "beam": DecodeOptions(max_length=20, beam_size=3, length_penalty=1.0, no_repeat_ngram_size=2),
}
# Log-probs of the first step at these ids are written out for the logit comparison.
LOGIT_SAMPLE_IDS = [0, 101, 102, 1037, 1996, 2417, 4937, 30521]


@torch.no_grad()
def golden_for_image(model: LightCap, manifest: dict, image_path: Path) -> dict:
    size = manifest["image"]["size"]
    pixels = torch.from_numpy(preprocess_file(image_path, size))[None]
    prefix = model.encode_prefix(model.backbone_grid(pixels))
    tok = manifest["tokenizer"]
    cls, sep = tok["special_ids"]["cls"], tok["special_ids"]["sep"]
    stepper = TorchStepper(model, prefix.keys, prefix.values)
    first, _ = stepper.step(np.array([[cls]], dtype=np.int64), stepper.initial_cache())
    order = np.argsort(-first[0], kind="stable")[:10]
    record = {
        "image": image_path.name,
        "concept_ids": prefix.concepts.ids[0].tolist(),
        "concept_scores": prefix.concepts.scores[0].tolist(),
        "first_step": {
            "top_ids": order.tolist(),
            "top_log_probs": first[0][order].tolist(),
            "sample_ids": LOGIT_SAMPLE_IDS,
            "sample_log_probs": first[0][LOGIT_SAMPLE_IDS].tolist(),
            # A tie here would make token parity depend on float rounding.
            "top_gap": float(first[0][order[0]] - first[0][order[1]]),
        },
    }
    grounding = grounding_for(manifest, record["concept_ids"], record["concept_scores"], sep)
    for name, options in GOLDEN_OPTIONS.items():
        hyp = decode(stepper.step, stepper.reorder, stepper.initial_cache(), cls, sep,
                     tok["never_generate"], options, grounding)
        record[name] = {
            "options": options.__dict__,
            "tokens": hyp.tokens,
            "log_prob": hyp.log_prob,
        }
    return record


def write_golden(model: LightCap, manifest: dict, images: list[Path], out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = [golden_for_image(model.eval(), manifest, Path(p)) for p in images]
    golden = {
        "model": manifest["model"]["name"],
        "pack_files": {f["path"]: f["sha256"] for f in manifest["files"]},
        "tolerance": {"log_probs": 1e-3, "concept_scores": 1e-4},
        "images": records,
    }
    (out_dir / "golden.json").write_text(json.dumps(golden, indent=1) + "\n", encoding="utf-8")
