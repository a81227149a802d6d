"""Score several models' captions of one split, per source, and print the table.

    python -m lightcap.report --data build/dataset/dataset.json --split test \\
        --json-out run/eval/scores.json teacher=run/eval/teacher.json "int8 pack=run/eval/int8.jsonl"

Each NAME=FILE is either a COCO result file ([{"image_id", "caption"}], as
`lightcap.evaluate --results` writes) or the JSON lines of `lightcap caption --json`
(matched to the dataset by image path). Every image of the split must have a caption.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .data import read_dataset, split
from .evaluate import score_by_source

METRICS = ("CIDEr-D", "BLEU-4", "METEOR", "ROUGE-L")


def read_captions(path: Path, examples) -> dict:
    """image_id -> caption from a COCO result file or CLI JSON lines."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return {r["image_id"]: r["caption"] for r in json.loads(text)}
    by_path = {e.image_path.resolve(): e.image_id for e in examples}
    captions = {}
    for line in text.splitlines():
        record = json.loads(line)
        captions[by_path[Path(record["image"]).resolve()]] = record["caption"]
    return captions


def markdown_table(scores: dict[str, dict[str, dict[str, float]]]) -> str:
    """Rows: source, then model; columns: the metrics (x100, as papers print them)."""
    sources = list(next(iter(scores.values())))
    order = [s for s in sources if s != "all"] + ["all"]
    lines = ["| source | model | " + " | ".join(METRICS) + " |", "|---|---|" + "---:|" * len(METRICS)]
    for source in order:
        for name, by_source in scores.items():
            values = " | ".join(f"{100 * by_source[source][m]:.1f}" for m in METRICS)
            lines.append(f"| {source} | {name} | {values} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--images-root", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("results", nargs="+", help="NAME=FILE")
    args = parser.parse_args(argv)

    examples = split(read_dataset(args.data, args.images_root), args.split)
    scores = {}
    for item in args.results:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"{item!r} is not NAME=FILE")
        captions = read_captions(Path(path), examples)
        missing = [e.image_id for e in examples if e.image_id not in captions]
        if missing:
            parser.error(f"{path} has no caption for {len(missing)} of {len(examples)} images")
        scores[name] = score_by_source(examples, captions)
    table = markdown_table(scores)
    print(table)
    if args.json_out:
        args.json_out.write_text(json.dumps({"split": args.split, "images": len(examples), "scores": scores},
                                            indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
