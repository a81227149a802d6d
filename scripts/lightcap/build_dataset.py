"""The default model's training data, built from what Debian and PyPI carry, with fixed
splits written to disk:

- clip art: the 8,121 SVGs of Debian `openclipart-svg` (7,458 distinct files), rendered
  with `rsvg-convert` (Debian `librsvg2-bin`), captioned by their human-written titles and
  descriptions after the cleaning rules in `clean_clipart_text`;
- emoji: Debian `fonts-noto-color-emoji`, one image per single-code-point emoji the font
  draws, captioned by its Unicode name;
- scenes: procedural shape scenes (`lightcap.synthetic`) with captions generated from the
  scene graph (counts, colours, sizes, positions, relations);
- photos: the photographs of `lightcap.sources` (GCompris photos, Scratch and wallpaper
  backgrounds) as full-frame examples, a few augmented crops each in train
  (`lightcap.photos.frames`);
- composites: photo cut-outs (Tux Paint, Scratch) pasted onto the background photos,
  captioned from what went where (`lightcap.photos.composites`).

    python -m lightcap.build_dataset --out build/dataset --seed 0 --workers 2

Photos and composites are the majority of the images; clip art and emoji are drawn down
to a seeded sample (--clipart, --emoji) and scenes to --scenes. They need the packages
that scripts/fetch-photo-sources.sh unpacks into --photo-root (build/sources): when that
folder is missing the build skips both with a message and a line in report.json, unless
--photos or --composites was given, which then is an error.

Writes OUT/images/<source>/*.png (224 x 224), OUT/dataset.json (Karpathy format plus a
"source" field per image) and OUT/report.json (counts per source and split, and how many
items each cleaning rule dropped). Splits are 80/10/10 by a seeded hash of a group key
(the cleaned caption for clip art and emoji, the source object for photos), so two files
with the same title never sit on both sides of a split; a composite takes the split of
the cut-outs and background it is made of. The test split is for the final evaluation only.
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
from .photos import build as photo_build

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

SOURCES = ("clipart", "emoji", "scenes", "photos", "composites")
PHOTO_ROOT = photo_build.DEFAULT_ROOT


def source_rng(seed: int, source: str) -> np.random.Generator:
    """Each source draws from its own stream, so one source can be rebuilt without the others
    (the scenes need neither the SVGs nor the emoji font)."""
    return np.random.default_rng([seed, SOURCES.index(source)])



def sample(items: list, count: int | None, seed: int, source: str) -> list:
    """A seeded sample of `count` items in their original order (all when count is None)."""
    if count is None or count >= len(items):
        return items
    keep = source_rng(seed, source).choice(len(items), size=count, replace=False)
    return [items[i] for i in sorted(keep)]


def build(out: Path, seed: int, scenes: int, clipart_root: Path = CLIPART_ROOT, emoji_font: Path = EMOJI_FONT,
          limit: int | None = None, workers: int = 2, clipart_count: int | None = None,
          emoji_count: int | None = None, photo_root: Path | None = None, photos: int | None = None,
          photo_crops: int = 3, composites: int = 0) -> Path:
    """Write the dataset; `limit` caps clip art and emoji (for tests), `clipart_count` and
    `emoji_count` draw seeded samples of them. Photos (at most `photos` items, each with
    `photo_crops` more crops in train) and `composites` come from `photo_root`, and only
    when it is given. Returns dataset.json."""
    english = read_english_words()
    report: Counter = Counter()
    for source in SOURCES:
        shutil.rmtree(out / "images" / source, ignore_errors=True)
        (out / "images" / source).mkdir(parents=True)

    clipart = sample(clipart_items(clipart_root, english, report)[:limit], clipart_count, seed, "clipart")
    with ThreadPoolExecutor(workers) as pool:
        rendered = list(pool.map(lambda item: render_svg(item["svg"], out / "images/clipart" / item["name"]), clipart))
    report["clipart: rsvg-convert failed"] += rendered.count(False)
    clipart = [item for item, ok in zip(clipart, rendered) if ok]

    emoji = sample(emoji_items(emoji_font, report)[:limit], emoji_count, seed, "emoji")
    font = ImageFont.truetype(str(emoji_font), 109)
    emoji_rng = source_rng(seed, "emoji")
    for item in emoji:
        render_emoji(font, item.pop("char"), emoji_rng, out / "images/emoji" / item["name"])

    scene_items = render_scenes(out / "images/scenes", scenes, source_rng(seed, "scenes"))

    photo_items: list[dict] = []
    composite_items: list[dict] = []
    if photo_root is not None and (photos != 0 or composites):
        from .sources.inventory import collect

        inventory = collect(photo_root)
        if photos != 0:
            chosen = sample([i for i in inventory if i.kind in ("photo", "background")], photos, seed, "photos")
            photo_items = photo_build.photo_items(photo_root, out / "images/photos", seed, photo_crops, workers,
                                                  report, items=chosen)
        if composites:
            composite_items = photo_build.composite_items(photo_root, out / "images/composites", seed, composites,
                                                          workers, report, items=inventory)

    entries = []
    for item in clipart + emoji + scene_items + photo_items + composite_items:
        # Photo items carry their split: a composite's is that of what it is made of.
        split = item.get("split") or split_of(seed, item["source"], item["group"])
        report[f"{item['source']} {split}"] += 1
        entry = {"imgid": len(entries), "filepath": f"images/{item['source']}", "filename": item["name"],
                 "split": split, "source": item["source"], "sentences": [{"raw": c} for c in item["captions"]]}
        if "licence" in item:
            entry["licence"] = item["licence"]
        entries.append(entry)
    path = out / "dataset.json"
    path.write_text(json.dumps({"dataset": "lightcap-default", "seed": seed, "images": entries}), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(dict(sorted(report.items())), indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenes", type=int, default=1500)
    parser.add_argument("--clipart", type=int, default=2500, help="a seeded sample of this many clip-art files")
    parser.add_argument("--emoji", type=int, default=800, help="a seeded sample of this many emoji")
    parser.add_argument("--photo-root", type=Path, default=PHOTO_ROOT,
                        help="the packages scripts/fetch-photo-sources.sh unpacked")
    parser.add_argument("--photos", type=int, default=None,
                        help="at most this many photos and backgrounds (default all; 0 leaves them out)")
    parser.add_argument("--photo-crops", type=int, default=3, help="random crops per train photo, besides its centre crop")
    parser.add_argument("--composites", type=int, default=None, help="composites to make (default 5000; 0: none)")
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
    photo_root = args.photo_root
    if not photo_root.is_dir():
        if args.photos or args.composites:
            parser.error(f"{photo_root} is missing, so --photos and --composites cannot be made: "
                         "run scripts/fetch-photo-sources.sh")
        print(f"{photo_root} is missing: skipping the photos and composites (run scripts/fetch-photo-sources.sh)")
        photo_root = None
    path = build(args.out, args.seed, args.scenes, args.clipart_root, args.emoji_font, args.limit, args.workers,
                 clipart_count=args.clipart, emoji_count=args.emoji, photo_root=photo_root, photos=args.photos,
                 photo_crops=args.photo_crops, composites=5000 if args.composites is None else args.composites)
    if photo_root is None:
        report_path = args.out / "report.json"
        report = json.loads(report_path.read_text())
        report[f"photos and composites: skipped, {args.photo_root} is missing"] = 1
        report_path.write_text(json.dumps(dict(sorted(report.items())), indent=2) + "\n", encoding="utf-8")
    print(path)
    print((args.out / "report.json").read_text())


if __name__ == "__main__":
    main()
