"""Adding the pre-optimised graph form to a pack: the Rust CLI writes the files, the
manifest names and lists them (needs the debug CLI, which the Rust tests build)."""

import json
import shutil
from pathlib import Path

import pytest

from lightcap.nnef_form import add_nnef_form, nnef_name
from lightcap.pack_manifest import sha256_file

CLI = Path(__file__).resolve().parents[2] / "target" / "debug" / "lightcap"


def test_the_nnef_twin_is_named_after_its_graph():
    assert nnef_name("vision.onnx") == "vision.nnef.tar"
    assert nnef_name("decoder") == "decoder.nnef.tar"


@pytest.mark.skipif(not CLI.is_file(), reason="needs the debug CLI: cargo build -p lightcap-cli")
def test_the_manifest_names_and_lists_the_pre_optimised_graphs(tiny_pack, tmp_path):
    source, _ = tiny_pack
    pack = tmp_path / "pack"
    shutil.copytree(source, pack)
    before = json.loads((pack / "manifest.json").read_text())
    manifest = add_nnef_form(pack, CLI)
    assert manifest == json.loads((pack / "manifest.json").read_text())
    for role in ("vision", "decoder"):
        spec = manifest["graphs"][role]
        # "nnef" comes right after "file"; nothing else changes.
        assert list(spec)[:2] == ["file", "nnef"]
        assert spec["nnef"] == f"{role}.nnef.tar"
        assert {k: v for k, v in spec.items() if k != "nnef"} == before["graphs"][role]
    entries = {entry["path"]: entry for entry in manifest["files"]}
    assert entries.keys() == {e["path"] for e in before["files"]} | {"vision.nnef.tar", "decoder.nnef.tar"}
    for name in ("vision.nnef.tar", "decoder.nnef.tar"):
        assert entries[name]["sha256"] == sha256_file(pack / name)
        assert entries[name]["bytes"] == (pack / name).stat().st_size
    # Run again: the entries are replaced, not repeated.
    again = add_nnef_form(pack, CLI)
    assert len(again["files"]) == len(manifest["files"])
