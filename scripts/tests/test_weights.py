"""Pretrained-weight loaders read the published checkpoint layouts and refuse others."""

import numpy as np
import pytest
import torch

from lightcap.backbones import ClipResNet50Grid
from lightcap.checkpoint import COCO_CATEGORIES, build_model
from lightcap.config import get_config
from lightcap.weights import _TINYBERT_EMBEDDINGS, _TINYBERT_LAYER, load_clip_visual, load_concept_embeddings, load_tinybert


def test_clip_checkpoint_in_openai_and_openclip_layouts(tmp_path):
    source = ClipResNet50Grid()
    for p in source.parameters():
        torch.nn.init.normal_(p)
    visual = {f"visual.{k}": v for k, v in source.state_dict().items()}
    extra = {"visual.attnpool.c_proj.weight": torch.zeros(3), "token_embedding.weight": torch.zeros(2, 2)}
    torch.save({**visual, **extra}, tmp_path / "RN50.pt")
    torch.save({"state_dict": {f"module.{k}": v for k, v in {**visual, **extra}.items()}}, tmp_path / "open_clip.bin")
    for name in ("RN50.pt", "open_clip.bin"):
        target = ClipResNet50Grid()
        load_clip_visual(target, tmp_path / name)
        for (k, a), b in zip(source.state_dict().items(), target.state_dict().values()):
            assert torch.equal(a, b), k


def test_clip_loader_refuses_other_checkpoints(tmp_path):
    torch.save({"fc.weight": torch.zeros(2)}, tmp_path / "resnet.pt")
    with pytest.raises(ValueError, match="not a CLIP checkpoint"):
        load_clip_visual(ClipResNet50Grid(), tmp_path / "resnet.pt")
    with pytest.raises(FileNotFoundError):
        load_clip_visual(ClipResNet50Grid(), tmp_path / "missing.pt")


def test_tinybert_checkpoint_initialises_the_fusion_model(tmp_path, tokenizer):
    config = get_config("tiny")
    source = build_model(config, COCO_CATEGORIES, tokenizer)
    hf = {}
    for ours, theirs in _TINYBERT_EMBEDDINGS.items():
        for p in ("weight", "bias"):
            if hasattr(getattr(source.embeddings, ours), p):
                hf[f"bert.embeddings.{theirs}.{p}"] = getattr(getattr(source.embeddings, ours), p).detach() + 1
    hf["bert.embeddings.position_embeddings.weight"] = torch.randn(512, config.hidden)
    for i, layer in enumerate(source.layers):
        for ours, theirs in _TINYBERT_LAYER.items():
            for p in ("weight", "bias"):
                hf[f"bert.encoder.layer.{i}.{theirs}.{p}"] = getattr(getattr(layer, ours), p).detach() + 1
    torch.save(hf, tmp_path / "pytorch_model.bin")
    target = build_model(config, COCO_CATEGORIES, tokenizer)
    load_tinybert(target, tmp_path / "pytorch_model.bin")
    assert torch.equal(target.layers[1].intermediate.weight, hf["bert.encoder.layer.1.intermediate.dense.weight"])
    assert torch.equal(target.embeddings.position_embeddings.weight,
                       hf["bert.embeddings.position_embeddings.weight"][: config.max_caption_positions + config.num_concepts_k])
    del hf["bert.encoder.layer.0.attention.self.query.weight"]
    torch.save(hf, tmp_path / "broken.bin")
    with pytest.raises(ValueError, match="attention.self.query"):
        load_tinybert(target, tmp_path / "broken.bin")


def test_concept_embeddings_are_normalised_and_shape_checked(tmp_path, tokenizer):
    model = build_model(get_config("tiny"), COCO_CATEGORIES, tokenizer)
    table = np.random.default_rng(0).normal(size=(len(COCO_CATEGORIES), model.config.joint_dim)).astype(np.float32)
    np.save(tmp_path / "c.npy", table)
    load_concept_embeddings(model, tmp_path / "c.npy", COCO_CATEGORIES)
    norms = model.concept_extractor.concept_embeddings.norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    np.save(tmp_path / "bad.npy", table[:, :5])
    with pytest.raises(ValueError, match="shape"):
        load_concept_embeddings(model, tmp_path / "bad.npy", COCO_CATEGORIES)
