"""Every figure the documents quote is the measured one (lightcap.figures, docs/figures.json)."""

from __future__ import annotations

import json

from lightcap import figures


def test_quoted_figures_are_the_measured_ones():
    assert not figures.problems(), "\n".join(figures.problems())


def test_the_pack_sizes_on_record_are_the_bundled_packs():
    # Cheap to measure again: the record must be what the bundled pack weighs now.
    recorded = figures.load()
    for key, entry in figures.measure_sizes(figures.BUNDLED).items():
        assert recorded[key]["value"] == entry["value"], f"{key}: run python -m lightcap.figures sizes"


def test_the_docs_quote_the_headline_figures():
    quoted = {key for doc in figures.documents() for key, _ in figures.quoted(doc.read_text(encoding="utf-8"))}
    assert {"pack.shipped", "pack.onnx", "pack.folder", "photos.outside.names"} <= quoted


def test_a_stale_or_unsourced_figure_is_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("pack <!--fig:pack.shipped-->9.9 MB<!--/fig--> and <!--fig:nope-->1<!--/fig-->\n")
    record = tmp_path / "figures.json"
    shipped = figures.load()["pack.shipped"]
    record.write_text(json.dumps({"pack.shipped": shipped, "pack.onnx": {"text": "1 MB"},
                                  "pack.folder": {**shipped, "pack": "0" * 64}}))
    found = "\n".join(figures.problems(tmp_path, record))
    assert "shows pack.shipped as '9.9 MB'" in found
    assert "quotes nope" in found
    assert "pack.onnx lacks its command, machine, date" in found
    assert "pack.folder was measured on another pack" in found


def test_render_replaces_only_the_quoted_text():
    text = "a <!--fig:k-->old<!--/fig--> b"
    assert figures.render_text(text, {"k": {"text": "new"}}) == "a <!--fig:k-->new<!--/fig--> b"
