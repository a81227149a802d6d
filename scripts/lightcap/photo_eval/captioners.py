"""Captions for the photo evaluation set, from the product path or a Python callable.

A captioner takes image paths and returns one record per image in the shape of
`lightcap caption --json` (cli/src/main.rs): {"image", "caption", "concepts": [{"name",
"score"}], ...}, or {"image", "error"} for an image it could not read. Reads the images;
writes nothing itself (the CLI's JSON lines are kept by `scripts/evaluate-photos.sh`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

Captioner = Callable[[Sequence[str]], list[dict]]


def cli_captioner(pack: Path, binary: Path = Path("target/debug/lightcap"), beam: int = 1) -> Captioner:
    """The Rust CLI over a pack, all images in one process (the pack loads once)."""

    def caption(paths: Sequence[str]) -> list[dict]:
        command = [str(binary), "caption", "--json", "--pack", str(pack), "--beam", str(beam), *map(str, paths)]
        # The CLI exits non-zero when some image failed; those carry an "error" record.
        done = subprocess.run(command, capture_output=True, text=True)
        records = read_json_lines(done.stdout)
        if len(records) != len(paths):
            raise RuntimeError(f"lightcap gave {len(records)} records for {len(paths)} images: {done.stderr[-2000:]}")
        return records

    return caption


def read_json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def by_image(records: list[dict]) -> dict[str, dict]:
    """Records keyed by the absolute image path, as the manifest names images."""
    return {str(Path(r["image"]).absolute()): r for r in records}


def top_concepts(record: dict, k: int = 5) -> list[str]:
    """The first k concepts in the pack's own order (a hedged pack ranks a sure specific
    concept above a broad one of higher score)."""
    return [c["name"] for c in record.get("concepts", [])[:k]]
