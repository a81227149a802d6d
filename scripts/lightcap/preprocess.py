"""Image preprocessing, defined exactly so that the Rust core can match it.

1. Pixels as RGBA8 (EXIF orientation already applied; a large JPEG decoded at
   reduced scale, see `load_rgba`); alpha is composited over white, since clip
   art and screenshots are drawn on a page.
2. Centre crop to the largest square: side s = min(w, h), x0 = (w - s) // 2,
   y0 = (h - s) // 2.
3. Resize s x s -> S x S with a separable triangle filter, antialiased when
   shrinking (support = max(s / S, 1)); taps outside the image are dropped and
   the remaining weights renormalised. Horizontal pass first.
4. Output [3, S, S] float32 in [0, 1], RGB planes. The model graph normalises
   (mean/std) itself.

The Rust core implements the same steps (core/src/preprocess.rs); a test
compares the two pixel by pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_rgba(path: str | Path, size: int | None = None) -> np.ndarray:
    """Decode an image file to [H, W, 4] uint8 with EXIF orientation applied. With `size`
    (the model's input), an 8-bit grey or colour JPEG is decoded at 1/2, 1/4 or 1/8 scale,
    the largest that keeps its shorter side at least `size`: Pillow's draft(), the rule the
    Rust core follows (core/src/jpeg.rs), so a 12-megapixel photo never exists at full size."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        if size and image.format == "JPEG" and image.mode in ("RGB", "L"):
            image.draft(image.mode, (size, size))
        image = ImageOps.exif_transpose(image)
        return np.asarray(image.convert("RGBA"), dtype=np.uint8)


def resize_weights(source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: the first source tap and a row of normalised weights."""
    scale = source / target
    support = max(scale, 1.0)
    taps = int(np.ceil(support)) * 2 + 2
    starts = np.zeros(target, dtype=np.int64)
    weights = np.zeros((target, taps), dtype=np.float64)
    for i in range(target):
        center = (i + 0.5) * scale
        first = max(int(np.floor(center - support)), 0)
        last = min(int(np.ceil(center + support)), source - 1)
        js = np.arange(first, last + 1)
        w = np.maximum(0.0, 1.0 - np.abs((js + 0.5 - center) / support))
        w = w / w.sum()
        starts[i] = first
        weights[i, : len(w)] = w
    return starts, weights


def resample_axis(data: np.ndarray, target: int, axis: int) -> np.ndarray:
    starts, weights = resize_weights(data.shape[axis], target)
    data = np.moveaxis(data, axis, 0)
    out = np.zeros((target, *data.shape[1:]), dtype=np.float64)
    for i in range(target):
        for t in range(weights.shape[1]):
            if weights[i, t] != 0.0:
                out[i] += weights[i, t] * data[starts[i] + t]
    return np.moveaxis(out, 0, axis)


def preprocess_rgba(rgba: np.ndarray, size: int) -> np.ndarray:
    """[H, W, 4] uint8 -> [3, size, size] float32 in [0, 1]."""
    h, w = rgba.shape[:2]
    s = min(w, h)
    x0, y0 = (w - s) // 2, (h - s) // 2
    crop = rgba[y0 : y0 + s, x0 : x0 + s].astype(np.float64) / 255.0
    alpha = crop[..., 3:4]
    rgb = crop[..., :3] * alpha + (1.0 - alpha)
    resized = resample_axis(resample_axis(rgb, size, axis=1), size, axis=0)
    return np.ascontiguousarray(resized.transpose(2, 0, 1).astype(np.float32))


def preprocess_file(path: str | Path, size: int) -> np.ndarray:
    return preprocess_rgba(load_rgba(path, size), size)
