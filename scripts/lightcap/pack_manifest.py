"""Writing a pack's manifest.json: the files' checksums and the file's layout."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(path: Path, manifest: dict) -> None:
    """manifest.json, indented, with the decoder's long list of token ids on one line."""
    text = json.dumps(manifest, indent=2)
    text = re.sub(r'"decoder_token_ids": \[[^\]]*\]',
                  lambda m: '"decoder_token_ids": ' + json.dumps(json.loads(m.group(0).split(":", 1)[1])), text)
    path.write_text(text + "\n", encoding="utf-8")
