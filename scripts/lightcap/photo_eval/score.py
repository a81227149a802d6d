"""Scores of one pack's captions on the photo evaluation set, per source and overall.

    python -m lightcap.photo_eval.score --manifest OUT/manifest.json --captions OUT/captions.jsonl --out OUT
    python -m lightcap.photo_eval.score --manifest OUT/manifest.json --pack models/default --out OUT

Reads the manifest (`lightcap.photo_eval.eval_set`) and the captions as
`lightcap caption --json` lines, or runs the CLI on --pack and keeps its lines in
OUT/captions.jsonl. Writes OUT/results.jsonl (per image: label, caption,
top concepts and whether each names the object), OUT/scores.json and OUT/table.md:

- names: the share of captions that name the labelled object (`names_object`: the word, a
  synonym, a hyponym, or a hypernym that is still an everyday concept);
- concepts: the share whose top-5 concepts name it (each concept name asked on its own);
- CIDEr-D (pycocoevalcap, as `lightcap.evaluate` computes it) over the photos that have a
  reference caption. One reference each, and the IDF comes from this small set, so the
  number only compares packs on this set.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from .captioners import by_image, cli_captioner, read_json_lines, top_concepts

TOP_K = 5
ALL = "all"


def judge(entries: list[dict], records: dict[str, dict], names_object: Callable[[str, str], bool] | None = None,
          k: int = TOP_K) -> list[dict]:
    """One result per manifest entry; an image the captioner failed on counts as a miss."""
    if names_object is None:
        from ..vocabulary.everyday import names_object
    results = []
    for e in entries:
        record = records.get(e["path"])
        if record is None:
            raise KeyError(f"no caption for {e['path']}")
        caption = record.get("caption", "")
        concepts = top_concepts(record, k)
        results.append({**e, "caption": caption, "error": record.get("error"), "concepts": concepts,
                        "names": bool(caption) and names_object(caption, e["label"]),
                        "concept_names": any(names_object(c, e["label"]) for c in concepts)})
    return results


def groups_of(results: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r["source"], []).append(r)
    return {**dict(sorted(groups.items())), ALL: results}


def cider_d(results: list[dict]) -> float | None:
    captioned = [r for r in results if r["captions"]]
    if not captioned:
        return None
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    refs = tokenizer.tokenize({r["id"]: [{"caption": c} for c in r["captions"]] for r in captioned})
    cands = tokenizer.tokenize({r["id"]: [{"caption": r["caption"] or ""}] for r in captioned})
    score, _ = Cider().compute_score(refs, cands)
    return float(score)


def summarise(results: list[dict], with_cider: bool = True) -> dict[str, dict]:
    scores = {}
    for name, group in groups_of(results).items():
        n = len(group)
        scores[name] = {"images": n, "captioned": sum(bool(r["captions"]) for r in group),
                        "names": sum(r["names"] for r in group) / n,
                        "concepts": sum(r["concept_names"] for r in group) / n,
                        "failed": sum(bool(r["error"]) for r in group),
                        "CIDEr-D": cider_d(group) if with_cider else None}
    return scores


def markdown_table(scores: dict[str, dict], title: str = "") -> str:
    lines = [f"**{title}**", ""] if title else []
    lines += [f"| source | images | caption names object | top-{TOP_K} concepts name it | with reference | CIDEr-D |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, s in scores.items():
        cider = "–" if s["CIDEr-D"] is None else f"{100 * s['CIDEr-D']:.1f}"
        cell = f"**{ALL}**" if name == ALL else name
        lines.append(f"| {cell} | {s['images']} | {100 * s['names']:.0f}% | {100 * s['concepts']:.0f}% "
                     f"| {s['captioned']} | {cider} |")
    failed = scores[ALL]["failed"]
    if failed:
        lines.append(f"\n{failed} images could not be captioned and count as misses.")
    return "\n".join(lines) + "\n"


def evaluate(entries: list[dict], records: list[dict], out: Path, title: str = "", with_cider: bool = True,
             names_object: Callable[[str, str], bool] | None = None) -> dict[str, dict]:
    """Judge, summarise and write results.jsonl, scores.json and table.md under `out`."""
    results = judge(entries, by_image(records), names_object)
    scores = summarise(results, with_cider)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results),
                                       encoding="utf-8")
    (out / "scores.json").write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    (out / "table.md").write_text(markdown_table(scores, title), encoding="utf-8")
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, required=True)
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--captions", type=Path, help="`lightcap caption --json` lines")
    given.add_argument("--pack", type=Path, help="caption with this pack through the CLI")
    parser.add_argument("--cli", type=Path, default=Path("target/debug/lightcap"), help="the lightcap binary")
    parser.add_argument("--title", default="", help="a line above the table, e.g. the pack's name")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    entries = json.loads(args.manifest.read_text(encoding="utf-8"))
    if args.pack:
        records = cli_captioner(args.pack, args.cli)([e["path"] for e in entries])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        records = read_json_lines(args.captions.read_text(encoding="utf-8"))
    scores = evaluate(entries, records, args.out, args.title)
    print(markdown_table(scores, args.title), end="")


if __name__ == "__main__":
    main()
