"""Every photograph the source modules find, in one JSON file.

    python -m lightcap.sources.inventory --root build/sources --out build/sources/inventory.json

ROOT is where scripts/fetch-photo-sources.sh unpacked the packages; photos read out of
archives are written under ROOT/cache. Writes a JSON list of items (see
`lightcap.sources.items.Item`) and prints the counts per source and kind.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from . import gcompris, scratch, tuxpaint, wallpapers
from .items import Item

SOURCES = {"tuxpaint": tuxpaint.items, "scratch": scratch.items, "gcompris": gcompris.items,
           "wallpapers": wallpapers.items}


def collect(root: Path) -> list[Item]:
    items: list[Item] = []
    for name, find in SOURCES.items():
        found = find(root)
        if not found:
            raise SystemExit(f"{name}: no items under {root}; run scripts/fetch-photo-sources.sh")
        items += found
    groups: dict[str, str] = {}
    for item in items:
        # A group key names one object within one source; two sources never share one.
        if groups.setdefault(item.group, item.source) != item.source:
            raise SystemExit(f"group {item.group} is used by {groups[item.group]} and {item.source}")
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("build/sources"))
    parser.add_argument("--out", type=Path, default=Path("build/sources/inventory.json"))
    args = parser.parse_args(argv)
    items = collect(args.root)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([i.to_dict() for i in items], indent=1, ensure_ascii=False) + "\n")
    counts = Counter((i.source, i.kind) for i in items)
    for (source, kind), n in sorted(counts.items()):
        print(f"{source:12} {kind:12} {n:5}")
    licences = Counter(i.licence for i in items)
    print(f"{'total':25} {len(items):5}  in {len({i.group for i in items})} groups")
    print("licences: " + ", ".join(f"{k} {v}" for k, v in licences.most_common()))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
