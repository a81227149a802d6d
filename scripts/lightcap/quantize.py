"""Weight-only int8 packs: the large weight matrices are stored as int8 with one float
scale per output channel, and turned back into float32 when the pack is loaded.

Two steps, so the PyTorch reference and the pack compute the same thing:

1. `fake_quantize_` rounds the model's own weights (and the concept text embeddings) to
   their int8 values (per output channel, symmetric, the largest magnitude maps to 127). The model that remains is the
   reference: evaluation and golden files use it.
2. The graphs are exported as usual, then `int8_initializers` finds every float
   initializer that is such a per-channel int8 grid (possibly transposed or scaled per
   channel by export-time folding, as BatchNorm folded into a convolution is) and stores
   it as int8 + scale behind a `DequantizeLinear` node (ONNX opset 13+).

The Rust core folds each `DequantizeLinear` of constant inputs into a float32 constant
before tract optimises the graph, so an int8 pack runs at float32 speed and is about a
quarter of the size to download and ship.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

# Smaller tensors (biases, norms, depthwise kernels) stay float32: they are a small part
# of the pack and the most sensitive to rounding.
MIN_ELEMENTS = 4096
# How close to an integer every w / scale must be for a tensor to count as an int8 grid.
GRID_TOLERANCE = 1e-3


def int8_grid(weight: torch.Tensor, axis: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(q int8, scale float32 [channels]) with weight ~= q * scale along `axis`."""
    moved = weight.detach().float().movedim(axis, 0)
    scale = moved.reshape(len(moved), -1).abs().amax(dim=1) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(moved / scale.view(-1, *[1] * (moved.dim() - 1))).clamp(-127, 127)
    return q.to(torch.int8).movedim(0, axis), scale


@torch.no_grad()
def fake_quantize_(model: nn.Module, min_elements: int = MIN_ELEMENTS) -> list[str]:
    """Round every Linear, Conv2d and Embedding weight of at least `min_elements` values to
    its per-output-channel int8 value, in place. Returns the names of the weights rounded."""
    rounded = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.Embedding)) and module.weight.numel() >= min_elements:
            q, scale = int8_grid(module.weight)
            module.weight.copy_(q.float() * scale.view(-1, *[1] * (q.dim() - 1)))
            rounded.append(f"{name}.weight")
    # The concept text embeddings are a fixed table, like a weight matrix (one row per concept).
    extractor = getattr(model, "concept_extractor", None)
    if extractor is not None and extractor.concept_embeddings.numel() >= min_elements:
        q, scale = int8_grid(extractor.concept_embeddings)
        extractor.concept_embeddings.copy_(q.float() * scale.view(-1, 1))
        rounded.append("concept_extractor.concept_embeddings")
    return rounded


def _grid_axis(values: np.ndarray) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The axis along which `values` is a per-channel int8 grid, with q and the scales."""
    for axis in range(values.ndim):
        moved = np.moveaxis(values, axis, 0)
        scale = np.abs(moved.reshape(len(moved), -1)).max(axis=1) / np.float32(127.0)
        scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
        q = moved / scale.reshape(-1, *[1] * (moved.ndim - 1))
        if np.abs(q - np.round(q)).max() < GRID_TOLERANCE:
            return axis, np.moveaxis(np.round(q).astype(np.int8), 0, axis), scale
    return None


def int8_initializers(path: Path, min_elements: int = MIN_ELEMENTS) -> dict:
    """Rewrite the ONNX file at `path`: every float initializer of at least `min_elements`
    values that lies on a per-channel int8 grid becomes int8 + scale + DequantizeLinear.
    Returns counts of tensors and bytes before and after."""
    model = onnx.load(str(path))
    graph = model.graph
    kept, nodes = [], []
    stats = {"int8_tensors": 0, "float_tensors": 0, "bytes_before": 0, "bytes_after": 0}
    for init in graph.initializer:
        values = numpy_helper.to_array(init)
        stats["bytes_before"] += values.nbytes
        found = None
        if values.dtype == np.float32 and values.ndim >= 2 and values.size >= min_elements:
            found = _grid_axis(values)
        if found is None:
            kept.append(init)
            stats["float_tensors"] += 1
            stats["bytes_after"] += values.nbytes
            continue
        axis, q, scale = found
        name = init.name
        kept += [numpy_helper.from_array(q, f"{name}_int8"), numpy_helper.from_array(scale, f"{name}_scale")]
        # No zero point: symmetric, and an absent zero point is 0 of the input's type (int8).
        nodes.append(helper.make_node("DequantizeLinear", [f"{name}_int8", f"{name}_scale"],
                                      [name], name=f"{name}_dequantize", axis=axis))
        stats["int8_tensors"] += 1
        stats["bytes_after"] += q.nbytes + scale.nbytes
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # The dequantized tensors keep the initializers' names, so the rest of the graph is unchanged.
    rest = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + rest)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return stats
