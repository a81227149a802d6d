"""Tells a photograph cut out on transparency from a drawing, by how its opaque pixels
look: drawings are flat fills and clean gradients, photographs have sensor noise and
texture, so neighbouring pixels rarely match and rarely lie on a straight ramp.

The thresholds were tuned on Tux Paint's stamps, from contact sheets: the 406 stamps
that are not nearly all flat colour were labelled by eye, and with the folder rule of
`lightcap.sources.tuxpaint` 95% of them come out right (10 drawings taken for photos,
10 photos missed; most misses are shaded cartoons and small or blurry photos). Callers
add what file names tell (Tux Paint keeps many drawings in `cartoon/` folders, an SVG is
always a drawing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Images are measured at most this size on the long side: texture survives, and a large
# stamp costs no more than a small one.
MEASURE_SIZE = 256
OPAQUE = 250  # alpha at or above this counts as opaque
MIN_PIXELS = 200  # fewer interior pixels than this: too little to tell, call it a drawing
MAX_FLAT = 0.3
MIN_ROUGH = 0.6
MIN_ENTROPY = 4.0  # bits; a photo in a few shades of one colour is rare (coins are ~4-7)


@dataclass(frozen=True)
class Looks:
    flat: float  # share of interior pixels within 1 level of both right and lower neighbours
    rough: float  # share of interior pixels whose Laplacian exceeds 3 levels (not on a ramp)
    entropy: float  # bits, of the colour histogram at 5 bits a channel
    pixels: int  # interior pixels measured

    @property
    def is_photo(self) -> bool:
        return (self.pixels >= MIN_PIXELS and self.flat < MAX_FLAT and self.rough >= MIN_ROUGH
                and self.entropy >= MIN_ENTROPY)


def measure(image: Image.Image) -> Looks:
    image = image.convert("RGBA")
    image.thumbnail((MEASURE_SIZE, MEASURE_SIZE))
    pixels = np.asarray(image, dtype=np.float32)
    rgb, opaque = pixels[..., :3], pixels[..., 3] >= OPAQUE
    # Interior: the pixel and its four neighbours are opaque, so the antialiased outline
    # every cut-out and drawing has does not count.
    interior = (opaque[1:-1, 1:-1] & opaque[:-2, 1:-1] & opaque[2:, 1:-1]
                & opaque[1:-1, :-2] & opaque[1:-1, 2:])
    count = int(interior.sum())
    if count == 0:
        return Looks(flat=1.0, rough=0.0, entropy=0.0, pixels=0)
    centre = rgb[1:-1, 1:-1]
    up, down, left, right = rgb[:-2, 1:-1], rgb[2:, 1:-1], rgb[1:-1, :-2], rgb[1:-1, 2:]
    flat = (np.abs(centre - right).max(-1) <= 1) & (np.abs(centre - down).max(-1) <= 1)
    laplacian = np.abs(4 * centre - up - down - left - right).max(-1)
    quantised = centre[interior].astype(np.int32) >> 3
    codes = quantised[:, 0] << 10 | quantised[:, 1] << 5 | quantised[:, 2]
    histogram = np.bincount(codes, minlength=1 << 15)
    p = histogram[histogram > 0] / count
    return Looks(
        flat=float(flat[interior].mean()),
        rough=float((laplacian[interior] > 3).mean()),
        entropy=float(-(p * np.log2(p)).sum()),
        pixels=count,
    )


def measure_file(path: Path) -> Looks:
    with Image.open(path) as image:
        return measure(image)
