"""Export a LightCap model to a model pack (see shared design note and core/src/manifest.rs).

    python -m lightcap.export --config tiny --out build/packs/tiny            # random weights
    python -m lightcap.export --checkpoint runs/student.pt --out models/x    # a trained model
    python -m lightcap.export --checkpoint runs/student.pt --int8 --out models/x  # weight-only int8

With --int8 the model's weights are first rounded to their int8 values (lightcap.quantize),
so the golden files describe exactly what the int8 pack computes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from .checkpoint import load_checkpoint, random_model
from .config import LightCapConfig
from .grounding import fragment_tokens, grounding_spec
from .model import LightCap
from .pack_manifest import sha256_file, write_manifest
from .prune import pruned_decoder_model, reachable_token_ids
from .text import CaptionTokenizer

FORMAT_VERSION = 1
VISION_FILE = "vision.onnx"
DECODER_FILE = "decoder.onnx"
OPSET = 17


class VisionGraph(nn.Module):
    """image [1, 3, S, S] in [0, 1] -> concepts and the fusion prefix's keys/values."""

    def __init__(self, model: LightCap):
        super().__init__()
        self.model = model
        with torch.no_grad():
            self.register_buffer("concept_table", model.embeddings.concept_table())

    def forward(self, image: torch.Tensor):
        prefix = self.model.encode_prefix(self.model.backbone_grid(image), self.concept_table)
        if self.model.config.image_evidence:
            return prefix.concepts.ids, prefix.concepts.scores, prefix.evidence, prefix.keys, prefix.values
        return prefix.concepts.ids, prefix.concepts.scores, prefix.keys, prefix.values


class DecoderStepGraph(nn.Module):
    """New tokens of a beam batch + caches -> ensemble log-probs of the last token, caches."""

    def __init__(self, model: LightCap):
        super().__init__()
        self.model = model

    def forward(self, input_ids, prefix_keys, prefix_values, past_keys, past_values):
        hidden, keys, values = self.model.decode(input_ids, prefix_keys, prefix_values, past_keys, past_values)
        return self.model.log_probs(hidden[:, -1]), keys, values


def tensor_spec(name: str, dtype: str, shape: list) -> dict:
    return {"name": name, "dtype": dtype, "shape": shape}


def graph_specs(config: LightCapConfig, decoder_vocab_size: int | None = None) -> dict:
    """The graphs' signatures; `decoder_vocab_size`: the pruned decoder's rows (lightcap.prune)."""
    c = config
    prefix = [c.layers, 1, c.heads, c.prefix_len, c.head_dim]
    past = [c.layers, "batch", c.heads, "past", c.head_dim]
    present = [c.layers, "batch", c.heads, "total", c.head_dim]
    return {
        "vision": {
            "file": VISION_FILE,
            "inputs": [tensor_spec("image", "f32", [1, 3, c.image_size, c.image_size])],
            "outputs": [
                tensor_spec("concept_ids", "i64", [1, c.num_concepts_k]),
                tensor_spec("concept_scores", "f32", [1, c.num_concepts_k]),
                *([tensor_spec("image_evidence", "f32", [1, 1])] if c.image_evidence else []),
                tensor_spec("prefix_keys", "f32", prefix),
                tensor_spec("prefix_values", "f32", prefix),
            ],
        },
        "decoder": {
            "file": DECODER_FILE,
            "inputs": [
                tensor_spec("input_ids", "i64", ["batch", "new"]),
                tensor_spec("prefix_keys", "f32", prefix),
                tensor_spec("prefix_values", "f32", prefix),
                tensor_spec("past_keys", "f32", past),
                tensor_spec("past_values", "f32", past),
            ],
            "outputs": [
                tensor_spec("log_probs", "f32", ["batch", decoder_vocab_size or c.vocab_size]),
                tensor_spec("present_keys", "f32", present),
                tensor_spec("present_values", "f32", present),
            ],
        },
    }


def export_graphs(model: LightCap, out_dir: Path, decoder_model: LightCap | None = None) -> None:
    """decoder_model: a pruned copy of `model` for the decoder graph (lightcap.prune)."""
    model = model.eval()
    decoder_model = (decoder_model or model).eval()
    c = model.config
    specs = graph_specs(c, decoder_model.config.vocab_size)
    image = torch.rand(1, 3, c.image_size, c.image_size)
    with torch.no_grad():
        prefix = model.encode_prefix(model.backbone_grid(image))
    torch.onnx.export(
        VisionGraph(model),
        (image,),
        str(out_dir / VISION_FILE),
        input_names=[s["name"] for s in specs["vision"]["inputs"]],
        output_names=[s["name"] for s in specs["vision"]["outputs"]],
        opset_version=OPSET,
        dynamo=False,
    )
    # Traced with 2 beams, 3 cached tokens and 1 new token; all three are dynamic.
    beams, past = 2, 3
    ids = torch.full((beams, 1), min(1037, decoder_model.config.vocab_size - 1), dtype=torch.long)
    cache = torch.randn(c.layers, beams, c.heads, past, c.head_dim)
    torch.onnx.export(
        DecoderStepGraph(decoder_model),
        (ids, prefix.keys, prefix.values, cache, cache.clone()),
        str(out_dir / DECODER_FILE),
        input_names=[s["name"] for s in specs["decoder"]["inputs"]],
        output_names=[s["name"] for s in specs["decoder"]["outputs"]],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "new"},
            "past_keys": {1: "batch", 3: "past"},
            "past_values": {1: "batch", 3: "past"},
            "log_probs": {0: "batch"},
            "present_keys": {1: "batch", 3: "total"},
            "present_values": {1: "batch", 3: "total"},
        },
        opset_version=OPSET,
        dynamo=False,
        # Folding would store the tied word embeddings twice (as the embedding
        # table and transposed for the heads); tract folds at load time instead.
        do_constant_folding=False,
    )


def export_pack(model: LightCap, concepts: list[str], tokenizer: CaptionTokenizer, out_dir: Path,
                version: str = "0.1.0", license: str = "Apache-2.0", description: str = "",
                max_length: int = 20, int8: bool = False, prune: bool = True) -> dict:
    """Write a complete pack to out_dir and return its manifest. int8: store the weights that
    lie on a per-channel int8 grid (see lightcap.quantize.fake_quantize_) as int8. prune: the
    decoder keeps only the word-embedding rows of tokens it can read or generate
    (lightcap.prune; nothing is pruned from a model whose every token is reachable)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = model.config
    if len(concepts) != model.num_concepts:
        raise ValueError(f"{len(concepts)} concept names for a model with {model.num_concepts} concepts")
    special = tokenizer.special
    decoder_token_ids = reachable_token_ids(model, [special.cls, special.sep]) if prune else None
    decoder_model = pruned_decoder_model(model, decoder_token_ids) if decoder_token_ids else None
    export_graphs(model, out_dir, decoder_model)
    if int8:
        from .quantize import int8_initializers

        for name in (VISION_FILE, DECODER_FILE):
            int8_initializers(out_dir / name)
    grounding, never_generate = {}, list(tokenizer.never_generate)
    if c.concept_head == "hedged":
        # The caption's subject and the words it may use come from the hedged concepts.
        grounding["grounding"] = grounding_spec(concepts, tokenizer, decoder_token_ids)
        never_generate = sorted(set(never_generate) | set(fragment_tokens(tokenizer, decoder_token_ids)))
    tokenizer.write(out_dir / "tokenizer.json")
    (out_dir / "concepts.txt").write_text("".join(f"{name}\n" for name in concepts), encoding="utf-8")
    files = ["tokenizer.json", "concepts.txt", VISION_FILE, DECODER_FILE]
    manifest = {
        "format": "lightcap-pack",
        "format_version": FORMAT_VERSION,
        "model": {"name": c.name, "version": version, "license": license, "description": description},
        "image": {
            "size": c.image_size,
            "layout": "NCHW",
            "range": [0.0, 1.0],
            "crop": "center-square",
            "resize": "triangle-antialiased",
            "alpha": "over-white",
            "normalized_in_graph": True,
            "mean": list(c.mean),
            "std": list(c.std),
        },
        "grid_size": c.grid_size,
        "concepts": {"file": "concepts.txt", "count": len(concepts), "top_k": c.num_concepts_k,
                     **grounding},
        "tokenizer": {
            "file": "tokenizer.json",
            "vocab_size": c.vocab_size,
            "special_ids": {"pad": special.pad, "unk": special.unk, "cls": special.cls,
                            "sep": special.sep, "mask": special.mask},
            "never_generate": never_generate,
            **({"decoder_token_ids": decoder_token_ids} if decoder_token_ids else {}),
        },
        "decoding": {"max_length": max_length, "max_positions": c.max_caption_positions},
        "cache": {"layers": c.layers, "heads": c.heads, "head_dim": c.head_dim, "prefix_len": c.prefix_len},
        "graphs": graph_specs(c, len(decoder_token_ids) if decoder_token_ids else None),
        "files": [{"path": name, "sha256": sha256_file(out_dir / name),
                   "bytes": (out_dir / name).stat().st_size} for name in files],
    }
    write_manifest(out_dir / "manifest.json", manifest)
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="export a randomly initialised model of this config")
    source.add_argument("--checkpoint", type=Path, help="export a trained checkpoint")
    parser.add_argument("--seed", type=int, default=0, help="seed for random weights")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--version", default="0.1.0")
    parser.add_argument("--int8", action="store_true", help="weight-only int8 pack (about a quarter of the size)")
    parser.add_argument("--full-vocabulary", action="store_true",
                        help="keep all word-embedding rows in the decoder (default: only the reachable ones)")
    parser.add_argument("--name", help="model name in the manifest (default: the config's)")
    parser.add_argument("--description", help="model description in the manifest")
    parser.add_argument("--golden", type=Path, help="also write golden parity files here")
    parser.add_argument("--golden-images", type=Path, nargs="*", default=[])
    args = parser.parse_args(argv)

    tokenizer = CaptionTokenizer()
    if args.checkpoint:
        model, concepts, meta = load_checkpoint(args.checkpoint)
        description = meta.get("description", "")
        license = meta.get("license", "Apache-2.0")
    else:
        model, concepts = random_model(args.config, tokenizer, args.seed)
        description = f"{args.config} with random weights (seed {args.seed}): for tests and timing only"
        license = "Apache-2.0"
    if args.int8:
        from .quantize import fake_quantize_

        rounded = fake_quantize_(model)
        print(f"rounded {len(rounded)} weight tensors to int8")
    if args.name:
        model.config = model.config.replace(name=args.name)
    description = args.description or description
    manifest = export_pack(model, concepts, tokenizer, args.out, args.version, license, description, int8=args.int8,
                           prune=not args.full_vocabulary)
    total = sum(f["bytes"] for f in manifest["files"])
    print(f"wrote {args.out} ({total / 1e6:.1f} MB)")
    if args.golden:
        from .golden import write_golden

        write_golden(model, manifest, args.golden_images, args.golden)
        print(f"wrote golden files to {args.golden}")


if __name__ == "__main__":
    main()
