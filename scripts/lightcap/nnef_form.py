"""Add the pre-optimised graph form to a pack: tract's NNEF of each graph, which the Rust
core loads in about half the time of the ONNX graph (see core/src/nnef/).

Runs the Rust CLI's `lightcap export-nnef`, which writes `vision.nnef.tar` and
`decoder.nnef.tar` next to the ONNX graphs (typed and decluttered as loading does, int8
weights kept int8), then names them in the manifest (`graphs.*.nnef`) and lists them
with their checksums. The ONNX graphs stay: they are the portable form, which
onnxruntime, the parity tests and older libraries read.

    python -m lightcap.nnef_form models/default [--cli target/release/lightcap]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from .pack_manifest import sha256_file, write_manifest

DEFAULT_CLI = Path(__file__).resolve().parents[2] / "target" / "release" / "lightcap"


def nnef_name(onnx_file: str) -> str:
    """The pre-optimised twin of a graph file, as `lightcap export-nnef` names it."""
    stem = onnx_file[: -len(".onnx")] if onnx_file.endswith(".onnx") else onnx_file
    return f"{stem}.nnef.tar"


def add_nnef_form(pack: Path, cli: Path = DEFAULT_CLI) -> dict:
    """Write the pack's NNEF graphs and list them in its manifest; returns the manifest."""
    pack = Path(pack)
    subprocess.run([str(cli), "export-nnef", "--pack", str(pack)], check=True)
    manifest_path = pack / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = list(manifest["files"])
    for role, spec in manifest["graphs"].items():
        name = nnef_name(spec["file"])
        if not (pack / name).is_file():
            raise FileNotFoundError(f"{cli} export-nnef did not write {pack / name} for the {role} graph")
        # "nnef" right after "file", for a manifest that reads in order.
        rebuilt = {}
        for key, value in spec.items():
            if key != "nnef":
                rebuilt[key] = value
            if key == "file":
                rebuilt["nnef"] = name
        manifest["graphs"][role] = rebuilt
        files = [entry for entry in files if entry["path"] != name]
        files.append({"path": name, "sha256": sha256_file(pack / name), "bytes": (pack / name).stat().st_size})
    manifest["files"] = files
    write_manifest(manifest_path, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pack", type=Path, help="model pack folder")
    parser.add_argument("--cli", type=Path, default=DEFAULT_CLI, help="the lightcap CLI (default: %(default)s)")
    args = parser.parse_args(argv)
    manifest = add_nnef_form(args.pack, args.cli)
    total = sum(entry["bytes"] for entry in manifest["files"])
    print(f"{args.pack}: {len(manifest['files'])} files, {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
