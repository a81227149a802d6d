"""Caption a dataset split with a checkpoint and score it with pycocoevalcap
(BLEU-4, METEOR, ROUGE-L, CIDEr-D; SPICE needs a download and is left out).

    python -m lightcap.evaluate --checkpoint runs/tiny/student.pt --data data/shapes/dataset.json \\
        --split test --beam 3 --results runs/tiny/test_results.json

The result file is COCO format: [{"image_id": ..., "caption": ...}].
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import load_checkpoint
from .data import read_dataset, split
from .decoding import DecodeOptions, TorchStepper, decode
from .preprocess import preprocess_file
from .text import CaptionTokenizer, agree_articles


def score_captions(references: dict, candidates: dict) -> dict[str, float]:
    """references: id -> [captions]; candidates: id -> caption. Uses the PTB tokenizer (Java)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    refs = tokenizer.tokenize({k: [{"caption": c} for c in v] for k, v in references.items()})
    cands = tokenizer.tokenize({k: [{"caption": candidates[k]}] for k in references})
    scores = {}
    # The scorers print their internals on stdout; keep stdout for results.
    with contextlib.redirect_stdout(sys.stderr):
        bleu, _ = Bleu(4).compute_score(refs, cands)
        scores["BLEU-4"] = bleu[3]
        scores["METEOR"], _ = Meteor().compute_score(refs, cands)
        scores["ROUGE-L"], _ = Rouge().compute_score(refs, cands)
        scores["CIDEr-D"], _ = Cider().compute_score(refs, cands)
    return {k: float(v) for k, v in scores.items()}


def source_of(example) -> str:
    """The source an image came from: the folder it sits in (images/<source>/...)."""
    return example.image_path.parent.name


def score_by_source(examples, candidates: dict) -> dict[str, dict[str, float]]:
    """Scores per source (the images' folders) and over all examples ("all")."""
    groups: dict[str, list] = {"all": list(examples)}
    for e in examples:
        groups.setdefault(source_of(e), []).append(e)
    return {name: score_captions({e.image_id: list(e.captions) for e in group},
                                 {e.image_id: candidates[e.image_id] for e in group})
            for name, group in groups.items()}


@torch.no_grad()
def caption_examples(model, examples, tokenizer: CaptionTokenizer, options: DecodeOptions,
                     heads: list[int] | None = None, progress: bool = True) -> dict:
    """image_id -> caption, decoded in PyTorch with the reference search."""
    special = tokenizer.special
    out = {}
    for e in tqdm(examples, desc="captioning", unit="image", disable=not progress):
        pixels = torch.from_numpy(preprocess_file(e.image_path, model.config.image_size))[None]
        prefix = model.encode_prefix(model.backbone_grid(pixels))
        stepper = TorchStepper(model, prefix.keys, prefix.values, heads)
        hyp = decode(stepper.step, stepper.reorder, stepper.initial_cache(), special.cls, special.sep,
                     tokenizer.never_generate, options)
        out[e.image_id] = agree_articles(tokenizer.decode([t for t in hyp.tokens if t != special.sep]))
    return out


_worker_job = None  # (model, tokenizer, options, heads), inherited by forked workers


def _caption_share(examples) -> dict:
    torch.set_num_threads(1)
    model, tokenizer, options, heads = _worker_job
    return caption_examples(model, examples, tokenizer, options, heads, progress=False)


def caption_examples_parallel(model, examples, tokenizer: CaptionTokenizer, options: DecodeOptions,
                              heads: list[int] | None = None, workers: int = 1) -> dict:
    """caption_examples over `workers` forked processes of one thread each (one image at a
    time is too small a job to keep several cores busy from one process)."""
    if workers <= 1:
        return caption_examples(model, examples, tokenizer, options, heads)
    import multiprocessing

    global _worker_job
    _worker_job = (model.cpu().eval(), tokenizer, options, heads)
    shares = [examples[i::workers] for i in range(workers)]
    out = {}
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for part in pool.imap_unordered(_caption_share, shares):
            out.update(part)
    _worker_job = None
    return {e.image_id: out[e.image_id] for e in examples}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--images-root", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=20)
    parser.add_argument("--single-head", action="store_true", help="use prediction head 0 only")
    parser.add_argument("--workers", type=int, default=1, help="processes to caption with")
    parser.add_argument("--results", type=Path, help="write the COCO-format result file here")
    parser.add_argument("--no-score", action="store_true", help="only write --results (lightcap.report scores)")
    parser.add_argument("--by-source", action="store_true",
                        help="score each source folder (images/<source>/) separately, and all together")
    args = parser.parse_args(argv)

    tokenizer = CaptionTokenizer()
    model, _, _ = load_checkpoint(args.checkpoint, tokenizer)
    examples = split(read_dataset(args.data, args.images_root), args.split)
    options = DecodeOptions(max_length=args.max_length, beam_size=args.beam)
    candidates = caption_examples_parallel(model, examples, tokenizer, options, [0] if args.single_head else None,
                                           args.workers)
    if args.results:
        args.results.write_text(json.dumps([{"image_id": k, "caption": v} for k, v in candidates.items()]))
    if args.no_score:
        return
    if args.by_source:
        scores = score_by_source(examples, candidates)
    else:
        scores = score_captions({e.image_id: list(e.captions) for e in examples}, candidates)
    print(json.dumps(scores, indent=2))


if __name__ == "__main__":
    main()
