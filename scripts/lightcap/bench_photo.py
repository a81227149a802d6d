"""A gallery photo as a phone stores it, for the benchmark: 4032 x 3024 (12 MP), baseline
JPEG at quality 92 with 4:2:0 chroma, made from a real photograph in the Debian
`lomiri-wallpapers` package ("picosdeeuropa" by Aitzol Berasategi, CC-BY-4.0; unpacked
by scripts/fetch-photo-sources.sh), scaled from its 3264 x 2448.

    python -m lightcap.bench_photo --sources build/sources --out build/bench/photo-12mp.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

SOURCE = "lomiri-wallpapers-16.04/usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg"
SIZE = (4032, 3024)


def make_photo(sources: Path, out: Path) -> Path:
    from PIL import Image

    with Image.open(sources / SOURCE) as photo:
        phone = photo.convert("RGB").resize(SIZE, Image.Resampling.LANCZOS)
    out.parent.mkdir(parents=True, exist_ok=True)
    phone.save(out, "JPEG", quality=92, subsampling="4:2:0", progressive=False)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, default=Path("build/sources"))
    parser.add_argument("--out", type=Path, default=Path("build/bench/photo-12mp.jpg"))
    args = parser.parse_args(argv)
    print(make_photo(args.sources, args.out))


if __name__ == "__main__":
    main()
