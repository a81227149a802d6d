"""Train LightCap: a teacher with cross-entropy, then the student by sequential
ensemble distillation. Resumable, one process or many (torchrun / DDP).

    python -m lightcap.train --config tiny --data data/shapes/dataset.json --out runs/tiny
    torchrun --nproc_per_node 8 -m lightcap.train --config lightcap-rn50 \\
        --data coco/dataset_coco.json --images-root coco --backbone-weights RN50.pt --out runs/rn50

Losses (T = teacher, h = student head, ens_h = mean of the softmaxes of heads 0..h):
- teacher:          CE(captions) + BCE(concepts)
- student, head 0:  CE(head 0) + BCE(concepts) + a * t^2 * KL(T_t || head0_t)
  (the whole student except the frozen backbone and the other heads learns)
- student, head h>0: CE(head h) + a * t^2 * KL(T_t || ens_h,t), only head h learns;
  heads 0..h-1 are fixed, so head h is trained to correct what the ensemble so far
  still gets wrong with respect to the teacher, one head after another.
KL terms use temperature t (softened distributions) and are averaged over the
caption tokens that are not padding. Why: distilling the ensemble rather than
each head alone makes later heads complementary instead of copies of head 0,
which is what the averaged ensemble at inference needs.

--without-teacher trains the student alone, with one prediction head: CE(head 0) +
BCE(concepts), no teacher and no distillation. The twice-as-wide teacher costs most of
the time of a run (its own stage, then a forward in every student step): on a CPU
without fast bf16 its stage alone takes hours, and this is the recipe that fits there.

Concept vocabulary (--concept-vocabulary): `captions` (default) takes the most frequent
caption words and labels a concept present when its words occur in a caption;
`everyday` takes the everyday concepts of lightcap.vocabulary that the training captions
name (synonyms and hyponyms count: 'kitten' and 'tabby' name cat) or that the frozen
backbone's ImageNet classifier can produce through the class -> concept map, and the
BCE targets are max(caption label, w * ImageNet target), w = --imagenet-target-weight
(lightcap.photo_concepts). The classifier's logits are cached next to the grids.
With --concept-warmup-epochs the student's concept extractor is first fitted alone to
those targets on the pooled grids (seconds; the fusion model does not run), and the
teacher starts from the same extractor: the ImageNet classifier's knowledge distilled
into the align module before captions train the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import time
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from .checkpoint import build_model, load_checkpoint, save_checkpoint
from .config import LightCapConfig, get_config
from .data import CaptionGroups, cached_grids, read_dataset, split
from .text import CaptionTokenizer, build_concept_vocabulary


def teacher_config(config: LightCapConfig) -> LightCapConfig:
    """The teacher: the student's architecture with a twice-as-wide fusion model and one head."""
    return config.replace(name=f"{config.name}-teacher", hidden=config.hidden * 2, ffn=config.ffn * 2,
                          ensemble_heads=1)


IGNORE = -100  # target index of padding


def output_vocabulary(caption_ids: torch.Tensor, pad: int) -> torch.Tensor:
    """The token ids the training captions [N, T] contain ([SEP] included): the only outputs
    training can teach. Scores are computed over these alone (see PredictionHead)."""
    seen = torch.unique(caption_ids[:, 1:])
    return seen[seen != pad]


def target_lookup(vocab: torch.Tensor | None, vocab_size: int, pad: int) -> torch.Tensor:
    """Maps token ids to positions in `vocab` (identity for the full vocabulary); padding
    and ids outside `vocab` map to IGNORE."""
    if vocab is None:
        lookup = torch.arange(vocab_size)
    else:
        lookup = torch.full((vocab_size,), IGNORE, dtype=torch.long)
        lookup[vocab] = torch.arange(len(vocab))
    lookup[pad] = IGNORE
    return lookup


def caption_loss(head_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of [N, B, T, V] logits (each head); `targets` [B, T] are
    the caption ids as positions in the scored vocabulary, IGNORE at padding."""
    targets = targets[:, 1:]
    logits = head_logits[:, :, :-1]
    n = logits.shape[0]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.repeat(n, 1).reshape(-1),
                           ignore_index=IGNORE)


def distill_loss(student_log_probs: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                 temperature: float) -> torch.Tensor:
    """t^2 * KL(teacher_t || student) per non-pad caption token; student_log_probs at temperature t."""
    mask = (targets[:, 1:] != IGNORE).float()
    teacher = torch.log_softmax(teacher_logits[:, :-1] / temperature, dim=-1)
    kl = (teacher.exp() * (teacher - student_log_probs[:, :-1])).sum(-1)
    return temperature**2 * (kl * mask).sum() / mask.sum().clamp(min=1)


class Stage:
    def __init__(self, name: str, epochs: int):
        self.name, self.epochs = name, epochs


def setup_distributed() -> tuple[int, int, str]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    else:
        device = "cpu"
    if world > 1:
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return rank, world, device


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data", type=Path, required=True, help="Karpathy or COCO captions JSON")
    parser.add_argument("--images-root", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--backbone-weights", help="CLIP RN50 checkpoint or EfficientNet-Lite0 .pth")
    parser.add_argument("--fusion-weights", help="TinyBERT checkpoint to start the fusion model from")
    parser.add_argument("--concept-embeddings", type=Path, help=".npy [concepts, joint_dim] text embeddings")
    parser.add_argument("--concepts", type=int, default=400, help="concept vocabulary size")
    parser.add_argument("--concept-vocabulary", choices=("captions", "everyday"), default="captions",
                        help="captions: the most frequent caption words; everyday: the everyday concepts "
                             "the captions name or the ImageNet classifier sees (module doc)")
    parser.add_argument("--imagenet-target-weight", type=float, default=1.0,
                        help="everyday vocabulary: weight of the ImageNet-derived concept targets (0: captions only)")
    parser.add_argument("--concept-warmup-epochs", type=int, default=0,
                        help="fit the concept extractor alone to its targets for this many epochs first")
    parser.add_argument("--teacher-epochs", type=int, default=8)
    parser.add_argument("--without-teacher", action="store_true",
                        help="train the student alone with one head: no teacher, no distillation (module doc)")
    parser.add_argument("--student-epochs", type=int, default=8, help="epochs for head 0 (whole student)")
    parser.add_argument("--head-epochs", type=int, default=2, help="epochs for each later head")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (each with all its captions)")
    parser.add_argument("--lr", type=float, default=1e-3, help="student (head 0) learning rate; later heads use half")
    parser.add_argument("--teacher-lr", type=float, default=5e-4,
                        help="the twice-as-wide teacher diverges into repetitions at the student's rate")
    parser.add_argument("--grids-in-memory", type=float, default=8.0,
                        help="hold the backbone grids in (GPU) memory when they take at most this many GiB")
    parser.add_argument("--warmup", type=float, default=0.05, help="fraction of each stage's steps to warm up")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--distill-weight", type=float, default=1.0)
    parser.add_argument("--max-tokens", type=int, default=24, help="[CLS] + pieces + [SEP]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    parser.add_argument("--stop-after", help="write the checkpoints once this stage (teacher, student-head-N) is done")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                        help="matrix products in bfloat16 (weights, optimizer and losses stay float32) or "
                             "float32; auto: bf16 where the hardware has it (GPU, CPU with AVX512-BF16 or AMX)")
    parser.add_argument("--output-vocab", choices=("training", "full"), default="training",
                        help="score only the tokens the training captions use (the rest are made "
                             "unreachable in the saved models), or all 30,522")
    args = parser.parse_args(argv)

    rank, world, device = setup_distributed()
    bf16 = args.precision == "bf16" or (args.precision == "auto" and has_fast_bf16(device))
    precision = forward_precision(device, bf16)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    tokenizer = CaptionTokenizer()
    pad = tokenizer.special.pad
    config = get_config(args.config)
    if args.without_teacher:
        config = config.replace(ensemble_heads=1)
    if args.max_tokens > config.max_caption_positions:
        parser.error(f"--max-tokens {args.max_tokens} exceeds the config's {config.max_caption_positions} positions")
    examples = read_dataset(args.data, args.images_root)
    train = split(examples, "train")
    cache = args.out / "cache"
    labels = None
    if args.concept_vocabulary == "everyday":
        concepts, labels = everyday_concepts(args, config, tokenizer, train, cache, rank, world, device)
    else:
        concepts = build_concept_vocabulary([c for e in train for c in e.captions], args.concepts)
    if len(concepts) < config.num_concepts_k:
        raise ValueError(f"only {len(concepts)} concept words in the training captions; K is {config.num_concepts_k}")

    student = build_model(config, concepts, tokenizer, args.backbone_weights)
    teacher = None if args.without_teacher else build_model(teacher_config(config), concepts, tokenizer)
    models = [m for m in (student, teacher) if m is not None]
    if teacher is not None:
        teacher.backbone.load_state_dict(student.backbone.state_dict())
    if args.concept_embeddings:
        from .weights import load_concept_embeddings

        for m in models:
            load_concept_embeddings(m, args.concept_embeddings, concepts)
    elif teacher is not None:
        # No text encoder here: fixed random unit vectors stand in for the concept text
        # embeddings (the alignment module learns to map images onto them).
        teacher.concept_extractor.concept_embeddings.copy_(student.concept_extractor.concept_embeddings)
    if args.fusion_weights:
        from .weights import load_tinybert

        load_tinybert(student, args.fusion_weights)

    started = time.monotonic()
    if rank == 0:  # one process computes the cache; the others wait, then every process reads it
        cached_grids(student, train, cache, device)
    if world > 1:
        dist.barrier()
    grids = cached_grids(student, train, cache, device)
    if grids.nbytes <= args.grids_in_memory * 2**30:
        grids = torch.from_numpy(np.array(grids)).to(device)  # float16, read once
    dataset = CaptionGroups(grids, train, tokenizer, concepts, args.max_tokens, labels)
    if args.concept_warmup_epochs > 0 and not (args.resume and (args.out / "state.pt").is_file()):
        warm_up_concepts(student, grids, dataset.labels, args.concept_warmup_epochs, args.seed, device, rank)
        if teacher is not None:
            teacher.concept_extractor.load_state_dict(student.concept_extractor.state_dict())
    vocab = output_vocabulary(dataset.caption_ids(), pad) if args.output_vocab == "training" else None
    lookup = target_lookup(vocab, config.vocab_size, pad)
    if rank == 0 and vocab is not None:
        print(f"output vocabulary: the {len(vocab)} tokens of the training captions")
    if rank == 0:
        print(f"precision: {'bf16 products, float32 weights and losses' if bf16 else 'float32'}")
    if vocab is not None:
        vocab = vocab.to(device)

    stages = [] if teacher is None else [Stage("teacher", args.teacher_epochs)]
    stages.append(Stage("student-head-0", args.student_epochs))
    stages += [Stage(f"student-head-{h}", args.head_epochs) for h in range(1, config.ensemble_heads)]
    if args.stop_after:
        names = [stage.name for stage in stages]
        if args.stop_after not in names:
            parser.error(f"--stop-after {args.stop_after!r} is not one of {', '.join(names)}")
        stages = stages[: names.index(args.stop_after) + 1]
    state_path = args.out / "state.pt"
    done: dict[str, int] = {}
    state = None  # what --resume found, if anything
    if args.resume and state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        if (state.get("teacher") is None) != (teacher is None):
            parser.error(f"{state_path} is from a run {'without' if teacher is not None else 'with'} a teacher; "
                         "resume it with the same --without-teacher setting, or start a new --out")
        student.load_state_dict(state["student"])
        if teacher is not None:
            teacher.load_state_dict(state["teacher"])
        done = state["done"]
        if rank == 0:
            print(f"resuming: {done}")
    for m in models:
        m.to(device)

    for stage in stages:
        start_epoch = done.get(stage.name, 0)
        if start_epoch >= stage.epochs:
            continue
        head = int(stage.name.rsplit("-", 1)[1]) if stage.name.startswith("student") else None
        model = teacher if head is None else student
        trainable = stage_parameters(model, head)
        optimizer = torch.optim.AdamW(trainable, lr=args.teacher_lr if head is None else args.lr if head == 0 else args.lr / 2)
        # state.pt written earlier in this very run must not be mistaken for a resumed one.
        if state is not None and state.get("stage") == stage.name and "optimizer" in state:
            optimizer.load_state_dict(state["optimizer"])
        wrapped = model
        if world > 1:
            wrapped = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        steps_per_epoch = math.ceil(len(range(rank, len(dataset), world)) / args.batch_size)
        steps = stage.epochs * steps_per_epoch
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(steps, args.warmup))
        for _ in range(start_epoch * steps_per_epoch):
            schedule.step()
        for epoch in range(start_epoch, stage.epochs):
            model.train()
            if head is not None and teacher is not None:
                # The teacher is a fixed target here (the model has no dropout now; eval mode keeps it so).
                teacher.eval()
            loader = epoch_batches(dataset, args.batch_size, args.seed, f"{stage.name}/{epoch}", rank, world)
            total, count = 0.0, 0
            bar = tqdm(loader, desc=f"{stage.name} epoch {epoch + 1}/{stage.epochs}", total=steps_per_epoch,
                       disable=True if rank != 0 else None)  # None: no bar unless a terminal
            for grid, ids, caption_image, labels in bar:
                # Most captions are far shorter than --max-tokens: cut the batch's common padding.
                ids = ids[:, : int((ids != pad).sum(1).max())]
                targets = lookup[ids]
                batch = [t.to(device) for t in (grid, ids, caption_image, targets, labels)]
                loss = stage_loss(wrapped, teacher, head, *batch, vocab, args, precision)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                schedule.step()
                total, count = total + loss.item(), count + 1
                bar.set_postfix(loss=f"{total / count:.3f}")
            done[stage.name] = epoch + 1
            if rank == 0:
                print(f"{stage.name} epoch {epoch + 1}/{stage.epochs}: loss {total / max(count, 1):.4f}, "
                      f"{time.monotonic() - started:.0f} s since start", flush=True)
                save_state(state_path, student, teacher, done, stage.name, optimizer)
    if rank == 0:
        if vocab is not None:
            for m in models:
                m.restrict_output_vocabulary(vocab)
        meta = {"data": str(args.data), "stages": done, "output_vocab": len(vocab) if vocab is not None else "full"}
        if teacher is not None:
            save_checkpoint(args.out / "teacher.pt", teacher.cpu(), concepts, **meta)
        save_checkpoint(args.out / "student.pt", student.cpu(), concepts, **meta)
        print(f"wrote {'' if teacher is None else str(args.out / 'teacher.pt') + ' and '}{args.out / 'student.pt'}")
    if world > 1:
        dist.destroy_process_group()


def everyday_concepts(args, config, tokenizer, train, cache: Path, rank: int, world: int, device: str):
    """The everyday concept vocabulary and its [images, concepts] targets (lightcap.photo_concepts),
    from the training captions and the frozen classifier's cached ImageNet logits."""
    from .data import cached_imagenet_logits
    from .photo_concepts import everyday_targets

    logits = None
    if args.imagenet_target_weight > 0:
        # The vocabulary's size is not known yet: a one-concept model carries the backbone.
        probe = build_model(config, ["object"], tokenizer, args.backbone_weights)
        if rank == 0:
            grids = cached_grids(probe, train, cache, device)
            cached_imagenet_logits(probe, train, grids, cache, device)
        if world > 1:
            dist.barrier()
        grids = cached_grids(probe, train, cache, device)
        logits = cached_imagenet_logits(probe, train, grids, cache, device)
        del probe
    concepts, labels = everyday_targets([e.captions for e in train], logits, args.concepts,
                                        args.imagenet_target_weight)
    if rank == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "concepts.txt").write_text("".join(f"{c}\n" for c in concepts), encoding="utf-8")
        counts = labels.sum(0)
        top = ", ".join(f"{c} {counts[i]:.0f}" for i, c in enumerate(concepts[:12]))
        print(f"everyday concepts: {len(concepts)} (target mass per image {labels.sum(1).mean():.2f}); "
              f"most frequent: {top}")
    return concepts, labels


def warm_up_concepts(model, grids, labels: torch.Tensor, epochs: int, seed: int, device: str, rank: int,
                     batch_size: int = 256, lr: float = 3e-3) -> None:
    """Fit the concept extractor alone (align MLP, logit scale and bias) to the concept targets
    by BCE on the pooled grids: the extractor only ever sees the pooled grid, so this is the
    same function at a fraction of the cost of the full model's steps."""
    extractor = model.concept_extractor.to(device).train()
    pooled = torch.cat([
        torch.as_tensor(np.asarray(grids[i : i + 1024], dtype=np.float32)).mean(dim=(2, 3)).cpu()
        for i in range(0, len(grids), 1024)
    ]) if not isinstance(grids, torch.Tensor) else grids.float().mean(dim=(2, 3)).cpu()
    optimizer = torch.optim.AdamW(extractor.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(pooled), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            x = pooled[rows].to(device)[:, :, None, None]  # a 1x1 grid pools to itself
            loss = F.binary_cross_entropy_with_logits(extractor(x).logits, labels[rows].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        if rank == 0 and (epoch + 1 == epochs or epoch % 10 == 0):
            print(f"concept warm-up epoch {epoch + 1}/{epochs}: loss {total / len(pooled):.4f}", flush=True)


def epoch_batches(dataset: CaptionGroups, batch_size: int, seed: int, epoch_key: str, rank: int, world: int):
    """One epoch of batches in a shuffled order that depends only on the seed and the epoch
    (so --resume replays the same order); each process of a distributed run takes every
    world-th image."""
    generator = torch.Generator().manual_seed(seed * 2**32 + zlib.crc32(epoch_key.encode()))
    order = torch.randperm(len(dataset), generator=generator)[rank::world]
    for start in range(0, len(order), batch_size):
        yield dataset.batch(order[start : start + batch_size])


def warmup_cosine(steps: int, warmup: float):
    """Learning-rate factor per step: linear warm-up over the first `warmup` fraction of the
    stage (post-LayerNorm transformers trained from scratch diverge without it), then cosine."""
    warm = max(1, int(steps * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(step - warm, steps - warm) / max(1, steps - warm)))

    return factor


def stage_parameters(model, head: int | None) -> list[torch.nn.Parameter]:
    """Teacher and head 0: everything but the frozen backbone and other heads; later heads: only that head."""
    for p in model.parameters():
        p.requires_grad_(False)
    if head is None or head == 0:
        chosen = [p for name, p in model.named_parameters()
                  if not name.startswith("backbone.") and not (name.startswith("heads.") and not name.startswith("heads.0."))]
    else:
        chosen = list(model.heads[head].parameters())
    for p in chosen:
        p.requires_grad_(True)
    return chosen


def stage_loss(wrapped, teacher, head, grid, ids, caption_image, targets, labels, vocab, args,
               forward_precision=contextlib.nullcontext) -> torch.Tensor:
    """The loss of one batch: grid [B, ...] images, ids/targets [N, T] captions of image caption_image[n].
    The models run under `forward_precision` (bf16 autocast or nothing); losses are taken in float32."""
    if head is None or teacher is None:  # the teacher, or a student trained without one (head 0 only)
        with forward_precision():
            logits, concepts = wrapped(grid, ids, [0], vocab, caption_image)
        return caption_loss(logits.float(), targets) + F.binary_cross_entropy_with_logits(concepts.logits.float(), labels)
    with torch.no_grad(), forward_precision():
        teacher_logits, _ = teacher.teacher_forced_logits(grid, ids, [0], vocab, caption_image)
    teacher_logits = teacher_logits.float()
    t = args.temperature
    if head == 0:
        with forward_precision():
            logits, concepts = wrapped(grid, ids, [0], vocab, caption_image)
        logits = logits.float()
        student = torch.log_softmax(logits[0] / t, dim=-1)
        return (caption_loss(logits, targets)
                + F.binary_cross_entropy_with_logits(concepts.logits.float(), labels)
                + args.distill_weight * distill_loss(student, teacher_logits[0], targets, t))
    with forward_precision():
        logits, _ = wrapped(grid, ids, list(range(head + 1)), vocab, caption_image)
    logits = logits.float()
    earlier = logits[:head].detach()
    ensemble = torch.log(torch.cat([earlier, logits[head:]]).div(t).softmax(-1).mean(0))
    return (caption_loss(logits[head:], targets)
            + args.distill_weight * distill_loss(ensemble, teacher_logits[0], targets, t))


def forward_precision(device: str, bf16: bool):
    """What the models' forwards run under: a factory of bf16 autocast contexts for the
    device's type, or of empty contexts (float32)."""
    if not bf16:
        return contextlib.nullcontext
    return functools.partial(torch.autocast, device.split(":")[0], dtype=torch.bfloat16)


def has_fast_bf16(device: str) -> bool:
    """Whether bfloat16 products run natively: a CUDA GPU that supports them, or a CPU with
    AVX512-BF16 or AMX (measured on AVX512-BF16: a teacher step 2.5 s in float32, 0.8 s in
    bf16). Elsewhere oneDNN emulates bf16, which can be slower than float32."""
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def save_state(path: Path, student, teacher, done, stage, optimizer) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"student": student.state_dict(), "teacher": None if teacher is None else teacher.state_dict(), "done": done,
                "stage": stage, "optimizer": optimizer.state_dict()}, tmp)
    tmp.replace(path)


if __name__ == "__main__":
    main()
