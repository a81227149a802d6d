"""A contact sheet: test-split images with the caption a pack gave each, and one
human/generated reference, so a reader sees what the numbers mean.

    python -m lightcap.contact_sheet --data build/dataset/dataset.json \\
        --captions run/eval/pack-int8.jsonl --out models/examples/contact-sheet.png

Images are picked by a seeded draw, the same number from every source, not chosen by hand.
Without --captions the sheet shows each image's first reference caption only, to check a
dataset: `--pick composites=24 --pick photos=8` draws that many from those sources.
"""

from __future__ import annotations

import argparse
import random
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .data import read_dataset, split
from .evaluate import source_of
from .report import read_captions

TILE = 224
TEXT_HEIGHT = 74
COLUMNS = 4


def pick(examples, per_source: int, seed: int, counts: dict[str, int] | None = None) -> list:
    """A seeded sample of `per_source` images from every source, or of counts[source]
    from the sources `counts` names."""
    by_source: dict[str, list] = {}
    for e in examples:
        by_source.setdefault(source_of(e), []).append(e)
    rng = random.Random(seed)
    wanted = counts or {name: per_source for name in by_source}
    return [e for name in sorted(by_source) if name in wanted
            for e in rng.sample(by_source[name], min(wanted[name], len(by_source[name])))]


def render(chosen, captions: dict | None, out: Path) -> None:
    """Each image with the caption in `captions` and its first reference; with no
    captions, the first reference alone in black."""
    font = ImageFont.load_default(size=13)
    rows = (len(chosen) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + TEXT_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, e in enumerate(chosen):
        x, y = (i % COLUMNS) * TILE, (i // COLUMNS) * (TILE + TEXT_HEIGHT)
        image = Image.open(e.image_path).convert("RGB")
        image.thumbnail((TILE, TILE))
        sheet.paste(image, (x, y))
        if captions is None:
            model, reference = textwrap.wrap(e.captions[0], 34)[:4], []
        else:
            model = textwrap.wrap(captions[e.image_id], 34)[:2]
            reference = textwrap.wrap("ref: " + e.captions[0], 34)[:2]
        for line_no, line in enumerate(model):
            draw.text((x + 4, y + TILE + 2 + 15 * line_no), line, fill="black", font=font)
        for line_no, line in enumerate(reference):
            draw.text((x + 4, y + TILE + 34 + 15 * line_no), line, fill=(110, 110, 110), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--captions", type=Path, default=None,
                        help="COCO results or `lightcap caption --json` lines; without it, references only")
    parser.add_argument("--pick", action="append", default=[], metavar="SOURCE=N",
                        help="draw N images from SOURCE (repeatable); only the sources named")
    parser.add_argument("--per-source", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    examples = split(read_dataset(args.data), args.split)
    counts = {name: int(n) for name, n in (p.split("=", 1) for p in args.pick)} or None
    chosen = pick(examples, args.per_source, args.seed, counts)
    render(chosen, read_captions(args.captions, examples) if args.captions else None, args.out)
    print(f"wrote {args.out} ({len(chosen)} images)")


if __name__ == "__main__":
    main()
