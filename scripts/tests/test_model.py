"""The model's attention pattern, its cache, its size, and decoding."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lightcap.checkpoint import COCO_CATEGORIES, build_model
from lightcap.config import CONFIGS, get_config
from lightcap.decoding import DecodeOptions, TorchStepper, beam_search, greedy
from lightcap.model import count_parameters


def joint_reference(model, prefix_tokens, caption_ids):
    """The whole sequence [prefix; caption] through the layers with an explicit mask,
    written independently of the cached code path."""
    x_p = prefix_tokens
    x_c = model.embeddings.caption(caption_ids, 0)
    x = torch.cat([x_p, x_c], dim=1)
    p, t = x_p.shape[1], x_c.shape[1]
    allowed = torch.zeros(p + t, p + t, dtype=torch.bool)
    allowed[:p, :p] = True  # prefix sees only prefix
    allowed[p:, :p] = True  # captions see the whole prefix
    allowed[p:, p:] = torch.ones(t, t).tril().bool()  # and earlier captions
    for layer in model.layers:
        q = layer.split_heads(layer.query(x))
        k, v = layer.keys_values(x)
        scores = q @ k.transpose(-1, -2) / math.sqrt(layer.head_dim)
        scores = scores.masked_fill(~allowed, float("-inf"))
        x = layer.finish(x, torch.softmax(scores, -1) @ v)
    return x[:, p:]


@pytest.fixture(scope="module")
def prefix(tiny_model):
    model, _ = tiny_model
    with torch.no_grad():
        grid = model.backbone_grid(torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(3)))
        return grid, model.encode_prefix(grid)


@torch.no_grad()
def test_cached_decoding_equals_the_explicitly_masked_joint_sequence(tiny_model, prefix):
    model, _ = tiny_model
    grid, cached = prefix
    concept_words = model.embeddings.concept_table()[cached.concepts.ids]
    modulated = model.modulator(grid, concept_words)
    prefix_tokens = torch.cat([model.embeddings.concepts(concept_words), model.embeddings.visual(modulated)], 1)
    ids = torch.tensor([[101, 1037, 2417, 4418, 2682, 102]])
    expected = joint_reference(model, prefix_tokens, ids)
    empty = model.empty_cache(1)
    hidden, _, _ = model.decode(ids, cached.keys, cached.values, empty, empty)
    torch.testing.assert_close(hidden, expected, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_a_caption_token_never_sees_a_later_one(tiny_model, prefix):
    model, _ = tiny_model
    _, cached = prefix
    empty = model.empty_cache(1)
    a = torch.tensor([[101, 1037, 2417, 4418, 2682]])
    b = a.clone()
    b[0, 3] = 3899  # change the fourth token only
    ha, _, _ = model.decode(a, cached.keys, cached.values, empty, empty)
    hb, _, _ = model.decode(b, cached.keys, cached.values, empty, empty)
    torch.testing.assert_close(ha[:, :3], hb[:, :3])
    assert not torch.allclose(ha[:, 3:], hb[:, 3:])


@torch.no_grad()
def test_prefix_cache_does_not_depend_on_captions(tiny_model, prefix):
    model, _ = tiny_model
    _, cached = prefix
    empty = model.empty_cache(1)
    # The prefix keys/values are produced once, before any caption exists, and
    # decoding returns only caption keys/values: nothing can flow back.
    _, keys, _ = model.decode(torch.tensor([[101, 1037]]), cached.keys, cached.values, empty, empty)
    assert keys.shape[3] == 2
    again = model.encode_prefix(prefix[0])
    torch.testing.assert_close(again.keys, cached.keys)


@torch.no_grad()
def test_step_by_step_decoding_equals_full_recomputation(tiny_model, prefix):
    model, _ = tiny_model
    _, cached = prefix
    ids = torch.tensor([[101, 1037, 2417, 4418, 2682, 1037]])
    empty = model.empty_cache(1)
    full, _, _ = model.decode(ids, cached.keys, cached.values, empty, empty)
    full_log_probs = model.log_probs(full)
    past_k, past_v = empty, empty
    for t in range(ids.shape[1]):
        hidden, past_k, past_v = model.decode(ids[:, t : t + 1], cached.keys, cached.values, past_k, past_v)
        torch.testing.assert_close(model.log_probs(hidden[:, -1]), full_log_probs[:, t], atol=1e-5, rtol=1e-5)


def test_ensemble_log_probs_are_the_log_of_mean_probabilities(tiny_model, prefix):
    model, _ = tiny_model
    hidden = torch.randn(2, 3, model.config.hidden)
    logits = model.head_logits(hidden)
    expected = torch.log(torch.softmax(logits, -1).mean(0))
    torch.testing.assert_close(model.log_probs(hidden), expected, atol=1e-5, rtol=1e-4)


def test_parameter_counts(tokenizer):
    counts = {}
    for name in CONFIGS:
        model = build_model(get_config(name), COCO_CATEGORIES, tokenizer)
        counts[name] = count_parameters(model)
        print(name, {k: f"{v / 1e6:.2f}M" for k, v in counts[name].items()})
    # The paper reports ~40M for LightCap; the 2048-d concept alignment module is included.
    assert 38e6 < counts["lightcap-rn50"]["total"] < 45e6
    assert counts["tiny"]["total"] < 2e6


def test_beam_search_with_beam_one_equals_greedy_and_wider_beams_score_no_worse(tiny_model, prefix, tokenizer):
    model, _ = tiny_model
    _, cached = prefix
    s = tokenizer.special
    never = tokenizer.never_generate
    stepper = TorchStepper(model, cached.keys, cached.values)
    g = greedy(stepper.step, stepper.initial_cache(), s.cls, s.sep, never, DecodeOptions(max_length=6))
    b1 = beam_search(stepper.step, stepper.reorder, stepper.initial_cache(), s.cls, s.sep, never,
                     DecodeOptions(max_length=6, beam_size=1, length_penalty=0.0))
    assert b1.tokens == g.tokens
    b4 = beam_search(stepper.step, stepper.reorder, stepper.initial_cache(), s.cls, s.sep, never,
                     DecodeOptions(max_length=6, beam_size=4, length_penalty=0.0))
    assert b4.log_prob >= g.log_prob - 1e-5
