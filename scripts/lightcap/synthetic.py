"""Procedural scenes with captions generated from their scene graph, written as a
COCO/Karpathy-format dataset: the small real dataset tests train on, and one
source of the bundled default model's data.

    python -m lightcap.synthetic --out data/shapes --count 600 --seed 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (240, 210, 40),
    "purple": (140, 60, 180), "orange": (245, 140, 30), "black": (20, 20, 20), "white": (245, 245, 245),
}
SHAPES = ["circle", "square", "triangle", "star", "diamond"]
BACKGROUNDS = {"gray": (128, 128, 128), "pink": (250, 200, 210), "sky": (170, 210, 240), "sand": (225, 205, 160),
               "mint": (190, 235, 200), "lilac": (215, 200, 240)}
# How the background is painted: the captions do not mention it, so the model must learn
# to look past it.
TEXTURES = ["flat", "gradient", "noise", "stripes"]
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], colour) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=colour)
    elif shape == "diamond":
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=colour)
    else:  # a five-pointed star
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
        points = [(cx + (r if i % 2 == 0 else r * 0.45) * np.sin(i * np.pi / 5),
                   cy - (r if i % 2 == 0 else r * 0.45) * np.cos(i * np.pi / 5)) for i in range(10)]
        draw.polygon(points, fill=colour)


def paint_background(rng: np.random.Generator, colour, size: int) -> Image.Image:
    base = np.asarray(colour, dtype=np.float32)
    texture = rng.choice(TEXTURES)
    pixels = np.broadcast_to(base, (size, size, 3)).copy()
    if texture == "gradient":
        pixels *= np.linspace(0.75, 1.1, size, dtype=np.float32)[:, None, None]
    elif texture == "noise":
        pixels += rng.normal(0, 18, (size, size, 1)).astype(np.float32)
    elif texture == "stripes":
        stripe = (np.arange(size) // int(rng.integers(8, 24))) % 2 == 0
        pixels[stripe] *= 0.88
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def scene(rng: np.random.Generator, size: int = 224):
    """One image and its objects: (colour, shape, big/small, column, row)."""
    background = rng.choice(list(BACKGROUNDS))
    image = paint_background(rng, BACKGROUNDS[background], size)
    draw = ImageDraw.Draw(image)
    count = int(rng.integers(1, 5))
    cells = rng.permutation(9)[:count]
    objects = []
    cell = size // 3
    for c in cells:
        colour = rng.choice([k for k in COLOURS if COLOURS[k] != BACKGROUNDS[background]])
        shape = rng.choice(SHAPES)
        big = bool(rng.random() < 0.5)
        col, row = int(c % 3), int(c // 3)
        extent = int(cell * (0.9 if big else 0.5))
        cx, cy = col * cell + cell // 2, row * cell + cell // 2
        draw_shape(draw, shape, (cx - extent // 2, cy - extent // 2, cx + extent // 2, cy + extent // 2), COLOURS[colour])
        objects.append({"colour": colour, "shape": shape, "big": big, "col": col, "row": row})
    return image, objects


def describe(obj: dict) -> str:
    return f"{'big' if obj['big'] else 'small'} {obj['colour']} {obj['shape']}"


def a(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def grouped(objects: list[dict]) -> str:
    """'two green stars and a black diamond': objects of one colour and shape counted."""
    counts: dict[str, int] = {}
    for o in objects:
        key = f"{o['colour']} {o['shape']}"
        counts[key] = counts.get(key, 0) + 1
    return " and ".join(a(k) if n == 1 else f"{NUMBERS[n]} {k}s" for k, n in counts.items())


def captions_for(objects: list[dict], rng: np.random.Generator, n: int = 3) -> list[str]:
    """Several sentence forms over the same scene graph: names, counts, relations."""
    names = [describe(o) for o in objects]
    forms = []
    if len(objects) == 1:
        o = objects[0]
        where = ["on the left", "in the middle", "on the right"][o["col"]]
        height = ["at the top", "in the center", "at the bottom"][o["row"]]
        forms += [f"{a(names[0])} {where}", f"{a(o['colour'] + ' ' + o['shape'])} {height}", f"one {names[0]}"]
    else:
        shapes = {o["shape"] for o in objects}
        count = NUMBERS[len(objects)]
        if len(objects) <= 3:  # with sizes, four objects make captions too long
            forms.append(f"{count} shapes: " + " and ".join(a(n) for n in names))
        else:
            forms.append(f"{count} shapes: " + grouped(objects))
        if len(shapes) == 1:
            forms.append(f"{count} {next(iter(shapes))}s of different colours")
        p, q = objects[0], objects[1]
        first, second = f"{p['colour']} {p['shape']}", f"{q['colour']} {q['shape']}"
        if p["col"] != q["col"]:
            side = "left of" if p["col"] < q["col"] else "right of"
            forms.append(f"{a(first)} to the {side} {a(second)}")
        if p["row"] != q["row"]:
            rel = "above" if p["row"] < q["row"] else "below"
            forms.append(f"{a(first)} {rel} {a(second)}")
        forms.append(grouped(objects))
    order = rng.permutation(len(forms))
    return [forms[i] for i in order[:n]]


def build(out: Path, count: int, seed: int, splits=(0.8, 0.1, 0.1)) -> Path:
    """Write images and a Karpathy-format dataset.json; returns its path."""
    rng = np.random.default_rng(seed)
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    n_train, n_val = int(count * splits[0]), int(count * splits[1])
    entries = []
    for i in range(count):
        image, objects = scene(rng)
        name = f"scene_{i:05d}.png"
        image.save(images_dir / name)
        split = "train" if i < n_train else "val" if i < n_train + n_val else "test"
        entries.append({
            "imgid": i, "filepath": "images", "filename": name, "split": split,
            "sentences": [{"raw": c} for c in captions_for(objects, rng)],
        })
    path = out / "dataset.json"
    path.write_text(json.dumps({"dataset": "shapes", "images": entries}), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build(args.out, args.count, args.seed))


if __name__ == "__main__":
    main()
