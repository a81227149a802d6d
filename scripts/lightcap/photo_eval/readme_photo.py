"""Writes models/examples/cat.jpg, the photograph the README's first command captions:
scikit-image's `chelsea.png` (a tabby cat, CC0-1.0, in the pinned scikit-image wheel of
scripts/requirements.txt), re-encoded as a JPEG a phone would save.

    python -m lightcap.photo_eval.readme_photo --out models/examples/cat.jpg

It is one of the photo evaluation's wheel photos (photo_eval/bundled.tsv), which training
never reads.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image


def source() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / "chelsea.png"


def write(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.open(source()).convert("RGB").save(out, quality=90)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models/examples/cat.jpg"))
    args = parser.parse_args(argv)
    path = write(args.out)
    print(path, path.stat().st_size)


if __name__ == "__main__":
    main()
