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
- invented: the share of captions that name an object which is neither the label nor
  one of the image's first 10 concepts (a caption phrase that stands for an everyday
  concept and names none of them: the hallucination rate);
- unsure: the share the pack flags unsure; precise: among the confident captions, the
  share that name the object (what an app gets when it trusts the flag);
- head top-1 / top-5 (with --baseline, lightcap.photo_eval.imagenet_head): the same
  match on the backbone's ImageNet classifier alone, the knowledge a pack carries;
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
SUPPORT_K = 10
ALL = "all"


def invented_objects(caption: str, label: str, concepts: list[str], names_object) -> list[str]:
    """The caption's object phrases that name neither the label nor any of `concepts`."""
    from ..photo_concepts import CaptionConcepts
    from ..vocabulary.everyday import vocabulary

    matcher = CaptionConcepts()
    invented = []
    for phrase in vocabulary().caption_phrases(caption):
        if not matcher.phrase_concepts(phrase):
            continue  # not an object word ('photo', 'front')
        if names_object(phrase, label) or any(names_object(phrase, c) for c in concepts):
            continue
        invented.append(phrase)
    return invented


def judge(entries: list[dict], records: dict[str, dict], names_object: Callable[[str, str], bool] | None = None,
          k: int = TOP_K, baseline: dict[str, dict] | None = None) -> list[dict]:
    """One result per manifest entry; an image the captioner failed on counts as a miss.
    `baseline`: the ImageNet head's records by image, judged alongside."""
    if names_object is None:
        from ..vocabulary.everyday import names_object
    results = []
    for e in entries:
        record = records.get(e["path"])
        if record is None:
            raise KeyError(f"no caption for {e['path']}")
        caption = record.get("caption", "")
        concepts = top_concepts(record, k)
        supported = top_concepts(record, SUPPORT_K)
        result = {**e, "caption": caption, "error": record.get("error"), "concepts": concepts,
                  "names": bool(caption) and names_object(caption, e["label"]),
                  "concept_names": any(names_object(c, e["label"]) for c in concepts),
                  "invented": invented_objects(caption, e["label"], supported, names_object) if caption else [],
                  "unsure": bool(record.get("unsure", False)) or bool(record.get("error"))}
        if baseline is not None:
            head = baseline[e["path"]]
            result["head_top1"] = head["caption"]
            result["head_names"] = names_object(head["caption"], e["label"])
            result["head_top5_names"] = any(names_object(c, e["label"]) for c in top_concepts(head, TOP_K))
        results.append(result)
    return results


def groups_of(results: list[dict]) -> dict[str, list[dict]]:
    """Per source, outside sources first, each split's total after its sources, then all."""
    groups: dict[str, list[dict]] = {}
    for split in ("outside", "held-out"):
        members = [r for r in results if r.get("split", "held-out") == split]
        if not members:
            continue
        for source in sorted({r["source"] for r in members}):
            groups[source] = [r for r in members if r["source"] == source]
        groups[f"{split}: all"] = members
    groups[ALL] = results
    return groups


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
        confident = [r for r in group if not r["unsure"]]
        scores[name] = {"images": n, "captioned": sum(bool(r["captions"]) for r in group),
                        "names": sum(r["names"] for r in group) / n,
                        "concepts": sum(r["concept_names"] for r in group) / n,
                        "invented": sum(bool(r["invented"]) for r in group) / n,
                        "unsure": 1 - len(confident) / n,
                        "precise": sum(r["names"] for r in confident) / len(confident) if confident else None,
                        "failed": sum(bool(r["error"]) for r in group),
                        "CIDEr-D": cider_d(group) if with_cider else None}
        if "head_names" in group[0]:
            scores[name]["head_top1"] = sum(r["head_names"] for r in group) / n
            scores[name]["head_top5"] = sum(r["head_top5_names"] for r in group) / n
    return scores


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def markdown_table(scores: dict[str, dict], title: str = "") -> str:
    lines = [f"**{title}**", ""] if title else []
    head = "head_top1" in scores[ALL]
    lines += [f"| source | images | caption names object | top-{TOP_K} concepts name it | invented objects "
              f"| unsure | names it when confident |" + (" head top-1 | head top-5 |" if head else "")
              + " with reference | CIDEr-D |",
              "|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if head else "") + "---:|---:|"]
    for name, s in scores.items():
        cider = "–" if s["CIDEr-D"] is None else f"{100 * s['CIDEr-D']:.1f}"
        cell = f"**{name}**" if name == ALL or name.endswith(": all") else name
        baseline = f" {_pct(s['head_top1'])} | {_pct(s['head_top5'])} |" if head else ""
        lines.append(f"| {cell} | {s['images']} | {_pct(s['names'])} | {_pct(s['concepts'])} | {_pct(s['invented'])} "
                     f"| {_pct(s['unsure'])} | {_pct(s['precise'])} |{baseline} {s['captioned']} | {cider} |")
    failed = scores[ALL]["failed"]
    if failed:
        lines.append(f"\n{failed} images could not be captioned and count as misses.")
    return "\n".join(lines) + "\n"


def evaluate(entries: list[dict], records: list[dict], out: Path, title: str = "", with_cider: bool = True,
             names_object: Callable[[str, str], bool] | None = None,
             baseline: list[dict] | None = None) -> dict[str, dict]:
    """Judge, summarise and write results.jsonl, scores.json and table.md under `out`."""
    results = judge(entries, by_image(records), names_object,
                    baseline=by_image(baseline) if baseline is not None else None)
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
    parser.add_argument("--baseline", type=Path, help="the ImageNet head's records (lightcap.photo_eval.imagenet_head)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    entries = json.loads(args.manifest.read_text(encoding="utf-8"))
    if args.pack:
        records = cli_captioner(args.pack, args.cli)([e["path"] for e in entries])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        records = read_json_lines(args.captions.read_text(encoding="utf-8"))
    baseline = read_json_lines(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    scores = evaluate(entries, records, args.out, args.title, baseline=baseline)
    print(markdown_table(scores, args.title), end="")


if __name__ == "__main__":
    main()
