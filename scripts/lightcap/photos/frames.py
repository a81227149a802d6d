"""Full-frame photo examples: every 'photo' and 'background' item as a 224 x 224 centre
crop, and for the train split a few random crops (scale, position, flip, slight colour
jitter) as well, all captioned by `captions_for`.

Reads the items' image files; writes PNGs to the folder it is given.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from ..sources.items import Item
from .general import with_general_captions
from .phrasing import clean_line, description_clause, landmark_phrase, photo_phrasings, split_title, with_article

SIZE = 224


def captions_for(item: Item, rng: np.random.Generator) -> list[str]:
    """The source's text as one short line, and the label said two or three ways; every
    second caption names it by its general word where it has one."""
    captions: list[str] = []
    if item.source == "gcompris" and ". " in item.text:
        title, paragraph = split_title(item.text)
        if "explore_monuments" in item.path:
            subject = landmark_phrase(title, paragraph)
            captions.append(clean_line(title))
        elif "explore_world_music" in item.path:
            subject = with_article(item.label)  # the title is a region ("Japan"), not what is shown
        else:
            subject = with_article(item.label)
            captions.append(clean_line(title))
        description = description_clause(subject, paragraph)
        captions += photo_phrasings(subject, rng, 2)
        if description:
            captions.append(description)
    elif item.kind == "background":
        text = clean_line(item.text)
        captions += photo_phrasings(text, rng, 2)
        label_np = with_article(item.label)
        if f"{label_np} " in f"{text} " and label_np != text:
            captions.append(photo_phrasings(label_np, rng, 2)[1])
    else:
        captions += photo_phrasings(with_article(clean_line(item.label)), rng, 3)
    return with_general_captions(list(dict.fromkeys(c for c in captions if c)), [item.label])


def _open_rgb(path: str) -> Image.Image:
    with Image.open(path) as opened:
        opened.draft("RGB", (SIZE * 3, SIZE * 3))
        image = opened.convert("RGBA")
    canvas = Image.new("RGB", image.size, "white")  # transparent GIF backgrounds sit on white
    canvas.paste(image, (0, 0), image)
    return canvas


def centre_crop(image: Image.Image) -> Image.Image:
    return ImageOps.fit(image, (SIZE, SIZE), Image.Resampling.LANCZOS)


def random_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = int(min(image.size) * rng.uniform(0.6, 0.95))
    x = int(rng.integers(0, image.width - side + 1))
    y = int(rng.integers(0, image.height - side + 1))
    crop = image.crop((x, y, x + side, y + side)).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    crop = ImageEnhance.Brightness(crop).enhance(float(rng.uniform(0.85, 1.15)))
    return ImageEnhance.Color(crop).enhance(float(rng.uniform(0.85, 1.15)))


def build(out_dir: Path, items: list[tuple[Item, str]], seed: int, crops: int, workers: int = 1) -> list[dict]:
    """(item, split) pairs -> dataset items: one centre crop each, plus `crops` random
    crops in the train split."""

    def make(job: tuple[int, tuple[Item, str]]) -> list[dict]:
        index, (item, split) = job
        rng = np.random.default_rng([seed, 2203, index])
        captions = captions_for(item, rng)
        image = _open_rgb(item.path)
        stem = f"{item.source}_{index:04d}"
        out = []
        for k, picture in enumerate([centre_crop(image)] + [random_crop(image, rng) for _ in range(crops if split == "train" else 0)]):
            name = f"{stem}_{k}.png"
            picture.save(out_dir / name)
            out.append({"source": "photos", "name": name, "group": item.group, "split": split,
                        "captions": captions, "kind": item.kind, "licence": item.licence})
        return out

    with ThreadPoolExecutor(max(1, workers)) as pool:
        return [entry for entries in pool.map(make, enumerate(items)) for entry in entries]
