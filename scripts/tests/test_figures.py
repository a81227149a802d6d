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


def test_a_block_quote_keeps_its_lines():
    text = "before\n<!--fig:t-->\n| a |\n|---|\n| 1 |\n\n<!--/fig-->\nafter"
    assert figures.quoted(text) == [("t", "| a |\n|---|\n| 1 |")]
    rendered = figures.render_text(text, {"t": {"text": "| a |\n|---|\n| 2 |"}})
    assert rendered == "before\n<!--fig:t-->\n| a |\n|---|\n| 2 |\n\n<!--/fig-->\nafter"


def unquoted(text: str, not_measured: dict | None = None) -> list[tuple[int, str]]:
    return figures.unquoted_figures(text, not_measured or {})


def test_a_figure_outside_a_quote_is_found_with_its_line():
    text = "# Speed\n\nA caption takes 12.5 ms and the pack is 18.6 MB;\n58% name the object, 1.53x slower.\n"
    assert unquoted(text) == [(3, "12.5 ms"), (3, "18.6 MB"), (4, "58%"), (4, "1.53x")]


def test_units_of_time_size_and_score_are_figures():
    for figure in ("4.2 s", "2,213 s", "54 minutes", "6.5 min", "13,264 KiB", "256 MiB", "6.7 GFLOP/s",
                   "1.46 GFLOP", "0.70×", "136.6 CIDEr", "0.9 CIDEr-D", "15 GB/s"):
        assert unquoted(f"it is {figure} here") == [(1, figure)], figure


def test_a_figure_broken_over_two_lines_is_one_figure():
    assert unquoted("grid cache 6.5\n  min, then") == [(1, "6.5 min")]


def test_what_is_no_measurement_is_not_a_figure():
    text = ("a 7 x 7 x 1280 grid, 4032 x 3024 pixels, version 0.4.0, SDK 35, min SDK 24, "
            "BLEU-4, METEOR, the 1990s, 3x3 kernels, 1,000 classes, 448-px short side")
    assert unquoted(text) == []


def test_quotes_code_comments_and_links_state_no_figure_of_their_own():
    text = "\n".join([
        "quoted: <!--fig:bench.vision_ms-->35.6 ms<!--/fig-->",
        "a span: `sleep 5 s` and ``10 MB``",
        "```",
        "$ lightcap bench  # 45.4 ms",
        "```",
        "  ~~~text",
        "  12 MB",
        "  ~~~",
        "<!-- a note: 9.9 MB -->",
        "[the run](https://example.org/run-12.5ms) and <https://example.org/1.2MB>",
    ])
    assert unquoted(text) == []


def test_a_phrase_listed_as_not_measured_excuses_its_figures_only():
    not_measured = {"a target": ["at most 20 MB for the pack"]}
    text = "at most 20 MB for\nthe pack; it is 18.6 MB, and 20 MB elsewhere"
    assert unquoted(text, not_measured) == [(2, "18.6 MB"), (2, "20 MB")]


def test_every_not_measured_phrase_is_printed_by_a_document_and_says_why():
    texts = [doc.read_text(encoding="utf-8") for doc in figures.documents()]
    assert not figures.unused_phrases(texts, figures.NOT_MEASURED)
    assert all(why.strip() and phrases for why, phrases in figures.NOT_MEASURED.items())


def test_a_figure_with_no_source_fails_the_check(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\nLoading takes <!--fig:load-->256.4 ms<!--/fig-->,\na caption 12.5 ms.\n"
        "```\n45.4 ms\n```\nat most 20 MB for the pack\n")
    # The changelog is history: its figures were measured on packs since replaced.
    (tmp_path / "CHANGELOG.md").write_text("- 0.3.0: captions took 52.0 ms\n")
    record = tmp_path / "figures.json"
    record.write_text(json.dumps({"load": {"text": "256.4 ms", "command": "bench", "machine": "m", "date": "d"}}))
    not_measured = {"a target": ["at most 20 MB for the pack", "a phrase the docs dropped"]}
    found = figures.problems(tmp_path, record, not_measured)
    assert found == [
        'docs/guide.md:4: "12.5 ms" is a figure with no source: quote it from figures.json or, '
        "if nothing measures it, list it in figures.NOT_MEASURED",
        "figures.NOT_MEASURED lists 'a phrase the docs dropped', which no document prints: remove it",
    ]
    (tmp_path / "docs" / "guide.md").write_text("a caption <!--fig:load-->256.4 ms<!--/fig-->\n")
    assert figures.problems(tmp_path, record, {}) == []


def test_a_new_profile_replaces_the_last_ones_kinds_only(tmp_path):
    path = tmp_path / "figures.json"
    path.write_text(json.dumps({
        "profile.clamp_share": {"text": "6%", "value": 0.06, "unit": "fraction"},
        "profile.tract.clamp_share": {"text": "6%", "value": 0.06, "unit": "fraction"},
        "bench.vision_ms": {"text": "29.2 ms", "value": 29.2, "unit": "ms"},
    }))
    new = {"profile.product_share": {"text": "58%", "value": 0.58, "unit": "fraction"}}
    figures.record(new, "lightcap bench --profile", None, path=path, replacing="profile")
    recorded = json.loads(path.read_text())
    # A kind the new profile has not (its clamps are fused now) goes; other prefixes stay.
    assert sorted(recorded) == ["bench.vision_ms", "profile.product_share", "profile.tract.clamp_share"]
    assert recorded["profile.product_share"]["command"] == "lightcap bench --profile"
