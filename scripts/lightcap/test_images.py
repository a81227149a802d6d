"""Writes the fixed test images (tests/images) and the Python reference's
preprocessed tensors for them (tests/golden/preprocess/*.f32, raw little-endian
float32 [3, S, S]), which the Rust core must reproduce pixel by pixel.

    python -m lightcap.test_images --out tests
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from .preprocess import preprocess_file

SIZE = 224


def scene(width: int, height: int, seed: int) -> Image.Image:
    """A few coloured shapes on a gradient: varied edges for the resampler."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    x = np.linspace(0, 1, width)[None, :, None]
    base = (np.array([40, 90, 160]) * (1 - y) + np.array([200, 180, 120]) * x).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(base, (height, width, 3)).copy())
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.integers(0, width - 20), rng.integers(0, height - 20)
        w, h = rng.integers(10, width // 2), rng.integers(10, height // 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
    return image


def write_images(images_dir: Path) -> list[Path]:
    images_dir.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(name, image, **kw):
        path = images_dir / name
        image.save(path, **kw)
        paths.append(path)

    save("scene_wide.png", scene(320, 240, seed=1))
    save("scene_tall.png", scene(180, 300, seed=2))
    # Transparent background: composited over white.
    rgba = scene(256, 256, seed=3).convert("RGBA")
    alpha = np.zeros((256, 256), np.uint8)
    alpha[32:224, 48:208] = 255
    alpha[100:140, :] = 96
    rgba.putalpha(Image.fromarray(alpha))
    save("transparent.png", rgba)
    # Smaller than the model input: the filter upsamples.
    save("small.png", scene(40, 30, seed=4))
    # Stored sideways with EXIF orientation 6 (rotate 90 degrees clockwise to view).
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif_rotated.png", scene(200, 120, seed=5), exif=exif.tobytes())
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the repository's tests/ folder")
    args = parser.parse_args(argv)
    paths = write_images(args.out / "images")
    golden = args.out / "golden" / "preprocess"
    golden.mkdir(parents=True, exist_ok=True)
    for path in paths:
        pixels = preprocess_file(path, SIZE)
        (golden / f"{path.stem}.f32").write_bytes(pixels.astype("<f4").tobytes())
        print(f"{path.name}: {pixels.shape}")


if __name__ == "__main__":
    main()
