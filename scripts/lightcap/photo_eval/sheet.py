"""A contact sheet of the photo evaluation: each photo with its label, the pack's caption
and top concepts, framed green where the caption names the object and red where not.

    python -m lightcap.photo_eval.sheet --results OUT/results.jsonl --out OUT/contact-sheet.png

Reads the results.jsonl that `lightcap.photo_eval.score` writes; writes one PNG. Every
bundled photo is shown, and from each other source a seeded draw of --per-source photos,
hits and misses alike, so the sheet is not picked by hand.
"""

from __future__ import annotations

import argparse
import json
import random
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TILE = 200
TEXT_HEIGHT = 96
COLUMNS = 6
FRAME = 4
HIT, MISS = (30, 150, 60), (200, 40, 40)


def pick(results: list[dict], per_source: int, seed: int, outside_only: bool = False) -> list[dict]:
    """All uncaptioned (bundled) photos, then a seeded draw from each source; with
    outside_only, only photos of packages the training never reads."""
    if outside_only:
        results = [r for r in results if r.get("split") == "outside"]
    by_source: dict[str, list[dict]] = {}
    for r in results:
        by_source.setdefault(r["source"], []).append(r)
    rng = random.Random(seed)
    # The bundled photos (no source label: they come from wheels, not lightcap.sources).
    bundled = sorted(name for name, group in by_source.items() if all("source_label" not in r for r in group))
    chosen = [r for name in bundled for r in by_source[name]]
    for name in sorted(set(by_source) - set(bundled)):
        chosen += rng.sample(by_source[name], min(per_source, len(by_source[name])))
    return chosen


def render(chosen: list[dict], out: Path, title: str = "") -> None:
    font = ImageFont.load_default(size=12)
    head = 28 if title else 0
    rows = (len(chosen) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE, head + rows * (TILE + TEXT_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((6, 6), title, fill="black", font=ImageFont.load_default(size=16))
    for i, r in enumerate(chosen):
        x, y = (i % COLUMNS) * TILE, head + (i // COLUMNS) * (TILE + TEXT_HEIGHT)
        draw.rectangle([x, y, x + TILE - 1, y + TILE - 1], fill=HIT if r["names"] else MISS)
        inner = TILE - 2 * FRAME
        image = Image.open(r["path"]).convert("RGBA")
        image.thumbnail((inner, inner))
        # Cut-outs on transparency are shown over white, as the pack sees them.
        tile = Image.new("RGBA", (inner, inner), "white")
        tile.alpha_composite(image, ((inner - image.width) // 2, (inner - image.height) // 2))
        sheet.paste(tile.convert("RGB"), (x + FRAME, y + FRAME))
        caption = r["caption"] if not r.get("error") else "error: " + r["error"]
        if r.get("unsure") and not r.get("error"):
            caption = "(unsure) " + caption
        concept_mark = "+" if r["concept_names"] else "-"
        lines = [(f"[{r['source']}] {r['label']}", (90, 90, 90))]
        lines += [(line, "black") for line in textwrap.wrap(caption, 32)[:3]]
        lines += [(line, (40, 70, 160)) for line in textwrap.wrap(f"{concept_mark} " + ", ".join(r["concepts"]), 32)[:2]]
        for line_no, (line, colour) in enumerate(lines):
            draw.text((x + 4, y + TILE + 2 + 15 * line_no), line, fill=colour, font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours: a third of the bytes in the repository, the photos still recognisable.
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--per-source", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--title", default="")
    parser.add_argument("--outside-only", action="store_true", help="only photos of packages training never reads")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    results = [json.loads(line) for line in args.results.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = pick(results, args.per_source, args.seed, args.outside_only)
    render(chosen, args.out, args.title)
    print(f"wrote {args.out} ({len(chosen)} photos)")


if __name__ == "__main__":
    main()
