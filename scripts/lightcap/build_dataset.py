"""The default model's training data, built from what Debian and PyPI carry, with fixed
splits written to disk:

- clip art: the 8,121 SVGs of Debian `openclipart-svg` (7,458 distinct files), rendered
  with `rsvg-convert` (Debian `librsvg2-bin`), captioned by their human-written titles and
  descriptions after the cleaning rules in `clean_clipart_text`;
- emoji: Debian `fonts-noto-color-emoji`, one image per single-code-point emoji the font
  draws, captioned by its Unicode name;
- scenes: procedural shape scenes (`lightcap.synthetic`) with captions generated from the
  scene graph (counts, colours, sizes, positions, relations).

    python -m lightcap.build_dataset --out build/dataset --seed 0

Writes OUT/images/<source>/*.png (224 x 224), OUT/dataset.json (Karpathy format plus a
"source" field per image) and OUT/report.json (counts per source and split, and how many
items each cleaning rule dropped). Splits are 80/10/10 by a seeded hash of a group key
(the cleaned caption for clip art and emoji), so two files with the same title never sit
on both sides of a split. The test split is for the final evaluation only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import synthetic

CLIPART_ROOT = Path("/usr/share/openclipart/svg")
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
ENGLISH_WORDS = Path("/usr/share/dict/words")  # Debian wamerican
SIZE = 224
SPLITS = (("train", 0.8), ("val", 0.9), ("test", 1.0))  # cumulative bounds
MAX_CAPTION_WORDS = 12
# Series drawn by one artist share one title (226 playing cards are all "card"): keep a
# few of each so no caption dominates the data.
MAX_IMAGES_PER_CAPTION = 10

# ----------------------------------------------------------------------------- splits


def split_of(seed: int, source: str, group: str) -> str:
    digest = hashlib.sha256(f"{seed}:{source}:{group}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return next(name for name, bound in SPLITS if fraction < bound)


# ----------------------------------------------------------------------------- clip art

_EMAIL = re.compile(r"\S+@\S+")
_URL = re.compile(r"(https?://|www\.)\S+")
_FILE_NAME = re.compile(r"\b[\w.-]+\.(svg|png|jpe?g|gif|eps|ai|pdf|odg|xcf)\b", re.I)
_CREDIT_PREFIX = re.compile(r"^(clip\s*art|drawing|image)\s+by\s+[^-:]+[-:]\s*", re.I)
_BOILERPLATE = re.compile(r"\b(clip\s*art|clipart|in svg format|svg|vector(ized)?|icon)\b", re.I)
# Titles that name the set a file came from ("Lemon SVG theme", "Part of the Flat Icon
# Collection (Wed Aug 25 2004)"), not what the picture shows.
_COLLECTION = re.compile(r"\b(collection|theme|iconset|icons|cliparts|submission|sibmission)\b|-theme\b", re.I)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_TRAILING_DIGITS = re.compile(r"(?<=[a-z])\d+\b")


def read_english_words(path: Path = ENGLISH_WORDS) -> set[str]:
    return {line.strip().lower() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()}


def clean_clipart_text(text: str, english: set[str]) -> tuple[str | None, str]:
    """A caption from a clip-art title or description, or None and the rule that dropped it.

    Rules, in order: refuse collection names; drop e-mail addresses, URLs and file names; drop credit prefixes
    ("Clipart by X - piggybank" -> "piggybank") and boilerplate words (clipart, svg,
    vector, icon); split camelCase and snake_case; drop digits glued to words ("guitar2")
    standalone numbers, single letters and parenthesised asides ("(B and W)"); keep the first
    sentence; lower-case. The result must have 1..12 words, one of at least 3 letters,
    every one an English dictionary word (Debian wamerican), which drops the Italian,
    French and Portuguese titles and leftover codes.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None, "empty"
    if _COLLECTION.search(text):
        return None, "names a collection"
    if _EMAIL.search(text) and len(_EMAIL.sub("", text).split()) == 0:
        return None, "only an e-mail address"
    text = _URL.sub(" ", _EMAIL.sub(" ", text))
    text = _FILE_NAME.sub(" ", text)
    text = _CREDIT_PREFIX.sub("", text)
    text = re.sub(r"\([^)]*\)", " ", text)
    text = re.split(r"(?<=[a-z])[.!?](\s|$)|\n", text, maxsplit=1)[0]
    text = _CAMEL.sub(" ", text).replace("_", " ").replace("-", " ")
    text = _BOILERPLATE.sub(" ", text)
    text = _TRAILING_DIGITS.sub("", text)
    words = [w for w in re.findall(r"[A-Za-z']+|\d+", text.lower()) if not w.isdigit()]
    # Stray letters left by codes ("w_cloud", "eMule") carry nothing.
    words = [w.strip("'") for w in words if len(w.strip("'")) > 1 or w in ("a", "i")]
    if not words:
        return None, "nothing left after cleaning"
    if len(words) > MAX_CAPTION_WORDS:
        return None, f"over {MAX_CAPTION_WORDS} words"
    if not any(len(w) >= 3 for w in words):
        return None, "no word of 3 letters or more"
    if any(w not in english for w in words):
        return None, "a word not in the English dictionary"
    return " ".join(words), "kept"


def read_clipart_metadata(path: Path) -> tuple[str, str]:
    """(title, description) of the drawing itself: the dc fields of its cc:Work."""
    root = ET.parse(path).getroot()
    for element in root.iter():
        if element.tag.endswith("}Work"):
            fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in element}
            return fields.get("title", ""), fields.get("description", "")
    return "", ""


def clipart_items(root: Path, english: set[str], report: Counter) -> list[dict]:
    files = sorted({os.path.realpath(p) for p in root.rglob("*.svg")})
    metadata = {}
    for path in files:
        try:
            metadata[path] = read_clipart_metadata(Path(path))
        except ET.ParseError:
            report["clipart: unreadable SVG"] += 1
    seen_content = set()
    per_caption: Counter = Counter()
    items = []
    for path, (title, description) in metadata.items():
        content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if content in seen_content:
            report["clipart: duplicate file"] += 1
            continue
        seen_content.add(content)
        captions = []
        caption, rule = clean_clipart_text(title, english)
        report[f"clipart title: {rule}"] += 1
        if caption:
            captions.append(caption)
        if description:
            caption, rule = clean_clipart_text(description, english)
            report[f"clipart description: {rule}"] += 1
            if caption and caption not in captions:
                captions.append(caption)
        if not captions:
            report["clipart: dropped, no caption"] += 1
            continue
        per_caption[captions[0]] += 1
        if per_caption[captions[0]] > MAX_IMAGES_PER_CAPTION:
            report[f"clipart: dropped, over {MAX_IMAGES_PER_CAPTION} images with one caption"] += 1
            continue
        items.append({"source": "clipart", "svg": path, "captions": captions, "group": captions[0],
                      "name": f"{Path(path).stem}_{content[:8]}.png"})
    return items


def render_svg(svg: str, out: Path) -> bool:
    """Render fitted into SIZE x SIZE on white; False if rsvg-convert fails or stalls."""
    try:
        result = subprocess.run(
            ["rsvg-convert", "--width", str(SIZE), "--height", str(SIZE), "--keep-aspect-ratio",
             "--background-color", "white", svg],
            capture_output=True, timeout=30, check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    if result.returncode != 0 or not result.stdout:
        return False
    from io import BytesIO

    drawing = Image.open(BytesIO(result.stdout)).convert("RGB")
    canvas = Image.new("RGB", (SIZE, SIZE), "white")
    canvas.paste(drawing, ((SIZE - drawing.width) // 2, (SIZE - drawing.height) // 2))
    canvas.save(out)
    return True


# ----------------------------------------------------------------------------- emoji

EMOJI_BLOCKS = [(0x2600, 0x27C0), (0x1F300, 0x1FB00)]


def emoji_items(font_path: Path, report: Counter) -> list[dict]:
    """Every single-code-point emoji the font draws, captioned by its Unicode name."""
    font = ImageFont.truetype(str(font_path), 109)  # CBDT bitmaps exist at 109 px only
    items = []
    for start, end in EMOJI_BLOCKS:
        for code in range(start, end):
            char = chr(code)
            try:
                name = unicodedata.name(char).lower()
            except ValueError:
                continue
            glyph = Image.new("RGBA", (136, 136), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((4, 4), char, font=font, embedded_color=True)
            if (np.asarray(glyph)[..., 3] > 0).sum() < 500:
                report["emoji: not drawn by the font"] += 1
                continue
            caption = re.sub(r"\s+", " ", name.replace("-", " ")).strip()
            items.append({"source": "emoji", "char": char, "captions": [caption], "group": caption,
                          "name": f"u{code:05x}.png"})
    return items


def render_emoji(font: ImageFont.FreeTypeFont, char: str, rng: np.random.Generator, out: Path) -> None:
    """The emoji at a random scale and place on a random light background."""
    glyph = Image.new("RGBA", (136, 136), (0, 0, 0, 0))
    ImageDraw.Draw(glyph).text((4, 4), char, font=font, embedded_color=True)
    glyph = glyph.crop(glyph.getbbox())
    side = int(SIZE * rng.uniform(0.45, 0.9))
    glyph.thumbnail((side, side), Image.Resampling.LANCZOS)
    background = tuple(int(v) for v in rng.integers(170, 256, size=3))
    canvas = Image.new("RGB", (SIZE, SIZE), background)
    x = int(rng.integers(0, SIZE - glyph.width + 1))
    y = int(rng.integers(0, SIZE - glyph.height + 1))
    canvas.paste(glyph, (x, y), glyph)
    canvas.save(out)


# ----------------------------------------------------------------------------- scenes


def render_scenes(out_dir: Path, count: int, rng: np.random.Generator) -> list[dict]:
    """`count` procedural scenes written to out_dir, with captions from their scene graphs."""
    items = []
    for i in range(count):
        image, objects = synthetic.scene(rng)
        name = f"scene_{i:05d}.png"
        image.save(out_dir / name)
        items.append({"source": "scenes", "name": name, "group": name,
                      "captions": synthetic.captions_for(objects, rng)})
    return items


# ----------------------------------------------------------------------------- build

SOURCES = ("clipart", "emoji", "scenes")


def source_rng(seed: int, source: str) -> np.random.Generator:
    """Each source draws from its own stream, so one source can be rebuilt without the others
    (the scenes need neither the SVGs nor the emoji font)."""
    return np.random.default_rng([seed, SOURCES.index(source)])



def build(out: Path, seed: int, scenes: int, clipart_root: Path = CLIPART_ROOT, emoji_font: Path = EMOJI_FONT,
          limit: int | None = None, workers: int = 2) -> Path:
    """Write the dataset; `limit` caps clip art and emoji (for tests). Returns dataset.json."""
    english = read_english_words()
    report: Counter = Counter()
    for source in SOURCES:
        shutil.rmtree(out / "images" / source, ignore_errors=True)
        (out / "images" / source).mkdir(parents=True)

    clipart = clipart_items(clipart_root, english, report)[:limit]
    with ThreadPoolExecutor(workers) as pool:
        rendered = list(pool.map(lambda item: render_svg(item["svg"], out / "images/clipart" / item["name"]), clipart))
    report["clipart: rsvg-convert failed"] += rendered.count(False)
    clipart = [item for item, ok in zip(clipart, rendered) if ok]

    emoji = emoji_items(emoji_font, report)[:limit]
    font = ImageFont.truetype(str(emoji_font), 109)
    emoji_rng = source_rng(seed, "emoji")
    for item in emoji:
        render_emoji(font, item.pop("char"), emoji_rng, out / "images/emoji" / item["name"])

    scene_items = render_scenes(out / "images/scenes", scenes, source_rng(seed, "scenes"))

    entries = []
    for item in clipart + emoji + scene_items:
        split = split_of(seed, item["source"], item["group"])
        report[f"{item['source']} {split}"] += 1
        entries.append({"imgid": len(entries), "filepath": f"images/{item['source']}", "filename": item["name"],
                        "split": split, "source": item["source"],
                        "sentences": [{"raw": c} for c in item["captions"]]})
    path = out / "dataset.json"
    path.write_text(json.dumps({"dataset": "lightcap-default", "seed": seed, "images": entries}), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(dict(sorted(report.items())), indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenes", type=int, default=6000)
    parser.add_argument("--clipart-root", type=Path, default=CLIPART_ROOT)
    parser.add_argument("--emoji-font", type=Path, default=EMOJI_FONT)
    parser.add_argument("--limit", type=int, default=None, help="at most this many clip-art and emoji items")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    for needed in (args.clipart_root, args.emoji_font, ENGLISH_WORDS):
        if not needed.exists():
            parser.error(f"{needed} is missing: apt-get install openclipart-svg fonts-noto-color-emoji wamerican")
    if shutil.which("rsvg-convert") is None:
        parser.error("rsvg-convert is missing: apt-get install librsvg2-bin")
    path = build(args.out, args.seed, args.scenes, args.clipart_root, args.emoji_font, args.limit, args.workers)
    print(path)
    print((args.out / "report.json").read_text())


if __name__ == "__main__":
    main()
