"""A PyTorch LightCap rebuilt from a pack's ONNX graphs (the weights an app ships).

    python -m lightcap.from_pack PACK --backbone-weights W --out model.pt [--check IMAGE ...]

The fusion model, modulator and concept extractor are read back from the graphs' weights
(int8 ones dequantized: exactly the numbers the Rust core computes with); the frozen
backbone comes from its published weights (`--backbone-weights`), as in training. The
result is a checkpoint (`lightcap.checkpoint`) that `lightcap.export` turns back into the
same pack, so a pack can be changed where its training run is not at hand: a new concept
layer over the same fusion model, the float32 twin of an int8 pack.

Where the weights are:
- the decoder graph names every fusion layer, the heads and the word embeddings by their
  PyTorch names (`model.` + parameter); its word-embedding rows and head biases are those
  of the pack's `decoder_token_ids` (lightcap.prune): the other rows are left zero and
  their biases at -1e4, which is what made them unreachable in the first place;
- the vision graph names the modulator, the embeddings' norms and positions and the
  concept extractor, stores the concept table (each concept's mean word embedding) as
  `concept_table`, and two weights under tracer names, told apart by shape: the visual
  projection ([backbone channels, hidden], transposed) and the normalised concept
  embeddings ([joint, concepts], transposed).

`--check` runs the rebuilt model and the pack's ONNX graphs (onnxruntime) on images and
prints the largest differences of concept scores and prefix keys: the rebuild is right
when concepts are identical and the rest agrees to float rounding.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .checkpoint import build_model, save_checkpoint
from .config import get_config
from .prune import UNREACHABLE_BIAS
from .quantize import fake_quantize_
from .text import CaptionTokenizer


def graph_weights(path: Path) -> dict[str, np.ndarray]:
    """Every initializer of an ONNX graph as float32, int8 ones dequantized along the
    axis their DequantizeLinear node names, under the dequantized tensor's name."""
    model = onnx.load(str(path))
    raw = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    weights = {name: values for name, values in raw.items() if values.dtype != np.int8}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        q, scale = raw[node.input[0]], raw[node.input[1]]
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        shape[axis] = len(scale)
        weights[node.output[0]] = q.astype(np.float32) * scale.reshape(shape)
        weights.pop(node.input[1], None)
    return weights


def _matmul_weight(path: Path, weights: dict[str, np.ndarray], partner: str) -> np.ndarray:
    """The weight of the MatMul whose result meets `partner` (a named tensor) in the next
    node: the visual projection's meets its bias, the concept similarity its logit scale."""
    graph = onnx.load(str(path)).graph
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        if any(partner in c.input for c in consumers.get(node.output[0], [])):
            found = [weights[name] for name in node.input if name in weights]
            if len(found) == 1:
                return found[0]
    raise ValueError(f"{path.name}: no MatMul meets {partner}")


def _hedging_bar(path: Path, weights: dict[str, np.ndarray]) -> float:
    """The hedged head's bar, which export folds into the per-concept thresholds of its
    one comparison (the bar, half of it for people): their largest value."""
    for node in onnx.load(str(path)).graph.node:
        if node.op_type == "GreaterOrEqual":
            found = [weights[name] for name in node.input if name in weights]
            if len(found) == 1:
                return float(np.max(found[0]))
    raise ValueError(f"{path.name}: no hedging bar (a GreaterOrEqual with a constant threshold)")


def _fit_concept_rows(state: dict, table: np.ndarray, known_ids: torch.Tensor) -> None:
    """Give the word-embedding rows that the pruned decoder dropped the values that make
    each concept's mean embedding the pack's `concept_table` row: a concept whose pieces
    are all unknown gets its row on each; one with some known pieces gets the remainder,
    shared by the unknown ones. Those rows are read by nothing else."""
    words = state["embeddings.word_embeddings.weight"]
    piece_ids, mask = state["embeddings.concept_piece_ids"], state["embeddings.concept_piece_mask"]
    known = torch.zeros(len(words), dtype=torch.bool)
    known[known_ids] = True
    for row, (ids, used) in enumerate(zip(piece_ids, mask)):
        ids = ids[used > 0]
        unknown = [int(i) for i in ids if not known[i]]
        if not unknown:
            continue
        target = torch.as_tensor(table[row]) * len(ids)
        rest = sum((words[i] for i in ids if known[i]), torch.zeros_like(target))
        for i in set(unknown):
            words[i] = (target - rest) / len(unknown)


def load_pack_model(pack: Path, backbone_weights: str | None, config_name: str = "lightcap-effnet"):
    """(model, concepts, manifest): the pack's model in PyTorch, float32, eval mode; an
    int8 pack's backbone rounded as its export rounded it."""
    pack = Path(pack)
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    int8 = any(n.op_type == "DequantizeLinear"
               for n in onnx.load(str(pack / manifest["graphs"]["vision"]["file"]), load_external_data=False).graph.node)
    concepts = (pack / manifest["concepts"]["file"]).read_text(encoding="utf-8").splitlines()
    tokenizer = CaptionTokenizer()
    vision = graph_weights(pack / manifest["graphs"]["vision"]["file"])
    decoder = graph_weights(pack / manifest["graphs"]["decoder"]["file"])
    heads = sum(1 for name in decoder if re.fullmatch(r"model\.heads\.\d+\.bias", name))
    config = get_config(config_name).replace(name=manifest["model"]["name"], ensemble_heads=heads)
    if any(name.startswith("model.concept_extractor.learned.") for name in vision):
        # A pack with the hedged concept head (lightcap.hedged_concepts).
        outputs = [o["name"] for o in manifest["graphs"]["vision"]["outputs"]]
        config = config.replace(concept_head="hedged", image_evidence="image_evidence" in outputs)
    model = build_model(config, concepts, tokenizer, backbone_weights)
    pruned = manifest["tokenizer"].get("decoder_token_ids")
    token_ids = torch.tensor(pruned if pruned else range(manifest["tokenizer"]["vocab_size"]), dtype=torch.long)

    state = model.state_dict()
    loaded: set[str] = set()

    def put(name: str, values) -> None:
        target = state[name]
        values = torch.tensor(np.array(values), dtype=target.dtype)
        if tuple(values.shape) != tuple(target.shape):
            raise ValueError(f"{name}: pack has {tuple(values.shape)}, model has {tuple(target.shape)}")
        target.copy_(values)
        loaded.add(name)

    for weights in (vision, decoder):
        for name, values in weights.items():
            key = name.removeprefix("model.")
            if not name.startswith("model.") or key not in state or key in loaded:
                continue
            if key == "embeddings.word_embeddings.weight" or re.fullmatch(r"heads\.\d+\.bias", key):
                continue  # pruned rows: scattered below
            put(key, values)
    words = torch.zeros_like(state["embeddings.word_embeddings.weight"])
    words[token_ids] = torch.tensor(decoder["model.embeddings.word_embeddings.weight"])
    put("embeddings.word_embeddings.weight", words)
    for i in range(config.ensemble_heads):
        bias = torch.full_like(state[f"heads.{i}.bias"], -1e4)
        bias[token_ids] = torch.tensor(decoder[f"model.heads.{i}.bias"])
        put(f"heads.{i}.bias", bias)
    c = config
    vision_file = pack / manifest["graphs"]["vision"]["file"]
    if config.concept_head == "hedged":
        put("concept_extractor.sure_score", _hedging_bar(vision_file, vision))
    put("embeddings.visual_projection.weight",
        _matmul_weight(vision_file, vision, "model.embeddings.visual_projection.bias").T)
    learned = "concept_extractor.learned." if config.concept_head == "hedged" else "concept_extractor."
    put(learned + "concept_embeddings", _matmul_weight(vision_file, vision, f"model.{learned}logit_scale").T)
    _fit_concept_rows(state, vision["concept_table"], token_ids)
    model.load_state_dict(state)
    if int8:
        # The backbone's convolutions were rounded to int8 with the rest of the model
        # before export; the pack's other weights already are the rounded values.
        with torch.no_grad():
            fake_quantize_(model.backbone)
    # The backbone (and the classifier the hedged head shares with it) comes from its
    # published weights; the hedged head's tables are rebuilt from the concept names.
    rebuilt = ("mean", "std", "embeddings.concept_piece_ids", "embeddings.concept_piece_mask",
               "concept_extractor.class_matrix", "concept_extractor.mapped", "concept_extractor.learned_too",
               "concept_extractor.specificity", "concept_extractor.people")
    missing = [k for k in state if k not in loaded and not k.startswith(("backbone.", "concept_extractor.classifier."))
               and k not in rebuilt]
    if missing:
        raise ValueError(f"weights not found in the pack: {missing}")
    # The heads' biases decide which tokens are reachable; check the pack agreed.
    assert bool((state["heads.0.bias"][token_ids] > UNREACHABLE_BIAS).any())
    return model.eval(), concepts, manifest


def check_against_pack(model, pack: Path, manifest: dict, images: list[Path]) -> None:
    """Print how far the rebuilt model's vision outputs are from the pack's graph's."""
    import onnxruntime as ort

    from .export import VisionGraph
    from .preprocess import preprocess_file

    session = ort.InferenceSession(str(pack / manifest["graphs"]["vision"]["file"]))
    graph = VisionGraph(model).eval()
    for path in images:
        image = torch.from_numpy(preprocess_file(path, model.config.image_size))[None]
        with torch.no_grad():
            outputs = graph(image)
        ids, scores, keys = outputs[0], outputs[1], outputs[-2]
        want = session.run(None, {"image": image.numpy()})
        same = np.array_equal(ids.numpy(), want[0])
        print(f"{path.name}: concepts {'identical' if same else 'DIFFER'}, "
              f"max |score| diff {np.abs(scores.numpy() - want[1]).max():.2e}, "
              f"max |key| diff {np.abs(keys.numpy() - want[-2]).max():.2e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pack", type=Path)
    parser.add_argument("--backbone-weights", required=True)
    parser.add_argument("--config", default="lightcap-effnet")
    parser.add_argument("--out", type=Path, help="write the model here as a checkpoint")
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="images to compare on")
    args = parser.parse_args(argv)
    model, concepts, manifest = load_pack_model(args.pack, args.backbone_weights, args.config)
    if args.check:
        check_against_pack(model, args.pack, manifest, args.check)
    if args.out:
        save_checkpoint(args.out, model, concepts, description=manifest["model"]["description"],
                        license=manifest["model"]["license"], from_pack=manifest["model"]["version"])
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
