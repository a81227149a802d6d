"""Training lowers the loss, runs end to end on a small dataset the test builds,
resumes, and evaluation scores with pycocoevalcap."""

import json
import shutil

import pytest
import torch

from lightcap import synthetic, train
from lightcap.checkpoint import load_checkpoint
from lightcap.data import CaptionGroups, read_dataset, split
from lightcap.evaluate import caption_examples, score_captions
from lightcap.decoding import DecodeOptions

java = pytest.mark.skipif(shutil.which("java") is None, reason="pycocoevalcap needs Java")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return synthetic.build(tmp_path_factory.mktemp("shapes"), count=40, seed=0)


def test_coco_captions_format_is_read(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    data = {"images": [{"id": 7, "file_name": "a.png"}, {"id": 8, "file_name": "b.png"}],
            "annotations": [{"image_id": 7, "caption": " A cat. "}, {"image_id": 7, "caption": "a dog"}]}
    (tmp_path / "captions.json").write_text(json.dumps(data))
    examples = read_dataset(tmp_path / "captions.json", coco_split="val")
    assert [(e.image_id, e.captions, e.split) for e in examples] == [(7, ("A cat.", "a dog"), "val")]


def one_batch(model, concepts, tokenizer, dataset, images: int):
    """The first `images` training images with all their captions as one batch (random grids),
    scored over the caption vocabulary: (grid, ids, caption_image, targets, labels, vocab)."""
    examples = split(read_dataset(dataset), "train")[:images]
    grids = torch.stack([model.backbone_grid(torch.rand(1, 3, 224, 224))[0] for _ in examples]).detach().numpy()
    groups = CaptionGroups(grids, examples, tokenizer, concepts, max_tokens=16)
    grid, ids, caption_image, labels = groups.batch(torch.arange(len(groups)))
    vocab = train.output_vocabulary(groups.caption_ids(), tokenizer.special.pad)
    targets = train.target_lookup(vocab, model.config.vocab_size, tokenizer.special.pad)[ids]
    return grid, ids, caption_image, targets, labels, vocab


def test_a_few_optimizer_steps_lower_the_loss(tiny_model, tokenizer, dataset):
    model, concepts = tiny_model
    model = load_copy(model)
    grid, ids, caption_image, targets, labels, vocab = one_batch(model, concepts, tokenizer, dataset, images=8)
    params = train.stage_parameters(model, None)
    optimizer = torch.optim.AdamW(params, lr=3e-3)
    args = type("Args", (), {"temperature": 2.0, "distill_weight": 1.0})
    losses = []
    for _ in range(15):
        loss = train.stage_loss(model, None, None, grid, ids, caption_image, targets, labels, vocab, args)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.8, losses


def test_bf16_products_give_the_float32_losses_and_gradients_within_rounding(tiny_model, tokenizer, dataset):
    # Every stage's loss (teacher, head 0 with distillation, a later head against the
    # ensemble) under bf16 autocast stays within bf16 rounding of float32's, and the
    # gradients point the same way: the precision flag speeds training up, it does not change it.
    model, concepts = tiny_model
    student, teacher = load_copy(model), load_copy(model)
    grid, ids, caption_image, targets, labels, vocab = one_batch(student, concepts, tokenizer, dataset, images=6)
    args = type("Args", (), {"temperature": 2.0, "distill_weight": 1.0})
    for model_, head in ((teacher, None), (student, 0), (student, 1)):
        params = train.stage_parameters(model_, head)
        results = []
        for precision in (train.forward_precision("cpu", bf16=False), train.forward_precision("cpu", bf16=True)):
            model_.eval()  # no dropout: the two runs must see the same network
            loss = train.stage_loss(model_, teacher, head, grid, ids, caption_image, targets, labels, vocab, args,
                                    precision)
            assert loss.dtype == torch.float32
            grads = torch.autograd.grad(loss, params)
            results.append((loss.item(), torch.cat([g.flatten() for g in grads])))
        (loss32, grad32), (loss16, grad16) = results
        assert abs(loss16 - loss32) < 0.02 * abs(loss32), (head, loss32, loss16)
        assert torch.nn.functional.cosine_similarity(grad32, grad16, dim=0) > 0.99, head


def test_grouped_captions_share_one_prefix_and_match_a_prefix_per_caption(tiny_model, tokenizer, dataset):
    model, concepts = tiny_model
    model = load_copy(model).eval()
    examples = [e for e in split(read_dataset(dataset), "train") if len(e.captions) > 1][:4]
    grids = torch.stack([model.backbone_grid(torch.rand(1, 3, 224, 224))[0] for _ in examples]).detach().numpy()
    groups = CaptionGroups(grids, examples, tokenizer, concepts, max_tokens=16)
    grid, ids, caption_image, labels = groups.batch(torch.arange(len(groups)))
    assert len(ids) == sum(len(e.captions) for e in examples) > len(examples)
    assert caption_image.tolist() == [i for i, e in enumerate(examples) for _ in e.captions]
    assert labels.shape == (len(examples), len(concepts))
    with torch.no_grad():
        grouped, concepts_out = model.teacher_forced_logits(grid, ids, caption_image=caption_image)
        one_per_caption, _ = model.teacher_forced_logits(grid[caption_image], ids)
    torch.testing.assert_close(grouped, one_per_caption, atol=1e-5, rtol=1e-5)
    assert concepts_out.logits.shape[0] == len(examples)


def load_copy(model):
    import copy

    return copy.deepcopy(model).train()


def test_distillation_loss_is_zero_when_student_equals_teacher():
    logits = torch.randn(2, 5, 11)
    targets = torch.randint(0, 11, (2, 5))
    loss = train.distill_loss(torch.log_softmax(logits[:, :] / 2.0, -1), logits, targets, temperature=2.0)
    assert abs(loss.item()) < 1e-5


def test_training_on_the_caption_vocabulary_equals_full_softmax_once_the_rest_is_masked(tiny_model, tokenizer, dataset):
    model, concepts = tiny_model
    model = load_copy(model).eval()
    examples = split(read_dataset(dataset), "train")[:8]
    grids = torch.stack([model.backbone_grid(torch.rand(1, 3, 224, 224))[0] for _ in examples]).detach().numpy()
    groups = CaptionGroups(grids, examples, tokenizer, concepts, max_tokens=16)
    grid, ids, caption_image, _ = groups.batch(torch.arange(len(groups)))
    grid = grid[caption_image]  # one grid row per caption
    vocab = train.output_vocabulary(groups.caption_ids(), tokenizer.special.pad)
    assert tokenizer.special.sep in vocab and tokenizer.special.pad not in vocab
    assert len(vocab) < 200  # a few captions use a few tokens, not 30,522

    with torch.no_grad():
        restricted, _ = model.teacher_forced_logits(grid, ids, vocab=vocab)
        model.restrict_output_vocabulary(vocab)
        full, _ = model.teacher_forced_logits(grid, ids)
    # The restricted logits are the full ones at those ids...
    torch.testing.assert_close(restricted, full[..., vocab])
    # ...and once the other tokens are masked, the two losses agree.
    pad = tokenizer.special.pad
    full_targets = train.target_lookup(None, model.config.vocab_size, pad)[ids]
    restricted_targets = train.target_lookup(vocab, model.config.vocab_size, pad)[ids]
    assert (full_targets[ids == pad] == train.IGNORE).all()
    torch.testing.assert_close(train.caption_loss(restricted, restricted_targets),
                               train.caption_loss(full, full_targets))


@java
def test_train_end_to_end_resume_and_evaluate(dataset, tmp_path, tokenizer):
    out = tmp_path / "run"
    common = ["--config", "tiny", "--data", str(dataset), "--out", str(out), "--concepts", "30",
              "--batch-size", "32", "--teacher-epochs", "1", "--student-epochs", "1", "--head-epochs", "1"]
    train.main(common + ["--resume"])  # nothing to resume yet: trains every stage
    trained = load_checkpoint(out / "student.pt", tokenizer)[0].state_dict()
    state = torch.load(out / "state.pt", weights_only=False)
    assert state["done"] == {"teacher": 1, "student-head-0": 1, "student-head-1": 1}
    train.main(common + ["--resume"])  # everything done: nothing retrained
    model, concepts, meta = load_checkpoint(out / "student.pt", tokenizer)
    assert meta["stages"] == state["done"]
    assert all(torch.equal(a, b) for a, b in zip(trained.values(), model.state_dict().values()))
    test = split(read_dataset(dataset), "test")
    candidates = caption_examples(model, test, tokenizer, DecodeOptions(max_length=8))
    scores = score_captions({e.image_id: list(e.captions) for e in test}, candidates)
    assert set(scores) == {"BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D"}
    assert all(v >= 0 for v in scores.values())


def test_without_teacher_trains_one_student_head_and_will_not_resume_a_distilled_run(dataset, tmp_path, tokenizer):
    out = tmp_path / "student-alone"
    common = ["--config", "tiny", "--data", str(dataset), "--concepts", "30", "--student-epochs", "1",
              "--head-epochs", "1"]
    train.main(common + ["--out", str(out), "--without-teacher"])
    state = torch.load(out / "state.pt", weights_only=False)
    assert state["done"] == {"student-head-0": 1} and state["teacher"] is None
    assert not (out / "teacher.pt").exists()
    model, _, meta = load_checkpoint(out / "student.pt", tokenizer)
    assert len(model.heads) == 1 and meta["stages"] == {"student-head-0": 1}

    distilled = tmp_path / "distilled"
    train.main(common + ["--out", str(distilled), "--teacher-epochs", "1", "--stop-after", "teacher"])
    with pytest.raises(SystemExit):
        train.main(common + ["--out", str(distilled), "--without-teacher", "--resume"])


def test_stop_after_trains_only_the_stages_up_to_it(dataset, tmp_path, tokenizer):
    out = tmp_path / "teacher-only"
    train.main(["--config", "tiny", "--data", str(dataset), "--out", str(out), "--concepts", "30",
                "--teacher-epochs", "1", "--stop-after", "teacher"])
    assert torch.load(out / "state.pt", weights_only=False)["done"] == {"teacher": 1}
    assert load_checkpoint(out / "teacher.pt", tokenizer)[2]["stages"] == {"teacher": 1}
    with pytest.raises(SystemExit):
        train.main(["--config", "tiny", "--data", str(dataset), "--out", str(out), "--stop-after", "student"])


@java
def test_cider_d_on_a_hand_checked_example():
    refs = {1: ["a red circle"], 2: ["a blue square on the left"]}
    # Identical captions: every n-gram matches; 3-word captions have no 4-grams.
    # Image 1: n=1..3 cosine 1, n=4 empty -> 10 * 3/4 = 7.5.
    # Image 2: "a" occurs in both images (idf 0); cosines 2/sqrt(10), 2/sqrt(10), 1/2, 0;
    # length gap 3 -> penalty exp(-9/72). Score 10 * mean * penalty.
    cands = {1: "a red circle", 2: "a blue square"}
    image2 = 10 * (2 / 10**0.5 * 2 + 0.5) / 4 * 2.718281828 ** (-9 / 72)
    scores = score_captions(refs, cands)
    assert scores["CIDEr-D"] == pytest.approx((7.5 + image2) / 2, abs=1e-3)


@java
def test_scores_by_source_group_images_by_their_folder():
    from pathlib import Path

    from lightcap.data import Example
    from lightcap.evaluate import score_by_source

    examples = [Example(1, Path("images/emoji/a.png"), ("red apple",), "test"),
                Example(2, Path("images/emoji/b.png"), ("green apple",), "test"),
                Example(3, Path("images/scenes/c.png"), ("a blue square on the left",), "test")]
    scores = score_by_source(examples, {1: "red apple", 2: "green apple", 3: "a red circle"})
    assert set(scores) == {"all", "emoji", "scenes"}
    assert scores["emoji"]["ROUGE-L"] == pytest.approx(1.0)
    assert scores["scenes"]["ROUGE-L"] < 0.5
