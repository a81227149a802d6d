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
SHAPES = ["circle", "square", "triangle"]
BACKGROUNDS = {"gray": (128, 128, 128), "pink": (250, 200, 210), "sky": (170, 210, 240), "sand": (225, 205, 160)}
NUMBERS = {1: "one", 2: "two", 3: "three"}


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], colour) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=colour)


def scene(rng: np.random.Generator, size: int = 224):
    """One image and its objects: (colour, shape, big/small, column, row)."""
    background = rng.choice(list(BACKGROUNDS))
    image = Image.new("RGB", (size, size), BACKGROUNDS[background])
    draw = ImageDraw.Draw(image)
    count = int(rng.integers(1, 4))
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
        forms.append(f"{NUMBERS[len(objects)]} shapes: " + " and ".join(a(n) for n in names))
        if len(shapes) == 1:
            forms.append(f"{NUMBERS[len(objects)]} {next(iter(shapes))}s of different colours")
        p, q = objects[0], objects[1]
        first, second = f"{p['colour']} {p['shape']}", f"{q['colour']} {q['shape']}"
        if p["col"] != q["col"]:
            side = "left of" if p["col"] < q["col"] else "right of"
            forms.append(f"{a(first)} to the {side} {a(second)}")
        if p["row"] != q["row"]:
            rel = "above" if p["row"] < q["row"] else "below"
            forms.append(f"{a(first)} {rel} {a(second)}")
        forms.append(" and ".join(a(n.split(" ", 1)[1]) for n in names))
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
