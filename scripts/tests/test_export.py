"""The exported graphs run in onnxruntime exactly as the PyTorch model, and the
manifest describes the files it ships."""

import hashlib
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from lightcap.export import FORMAT_VERSION


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_manifest_lists_every_file_with_its_checksum(tiny_pack):
    pack, manifest = tiny_pack
    on_disk = json.loads((pack / "manifest.json").read_text())
    assert on_disk == manifest
    assert on_disk["format_version"] == FORMAT_VERSION
    names = {f["path"] for f in on_disk["files"]}
    assert names == {"tokenizer.json", "concepts.txt", "vision.onnx", "decoder.onnx"}
    for entry in on_disk["files"]:
        data = (pack / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    concepts = (pack / "concepts.txt").read_text().splitlines()
    assert len(concepts) == on_disk["concepts"]["count"]


def test_graph_signatures_match_the_manifest(tiny_pack):
    pack, manifest = tiny_pack
    for graph in manifest["graphs"].values():
        s = session(pack / graph["file"])
        for declared, actual in ((graph["inputs"], s.get_inputs()), (graph["outputs"], s.get_outputs())):
            assert [t["name"] for t in declared] == [t.name for t in actual]
            for t, a in zip(declared, actual):
                assert t["shape"] == a.shape, t["name"]


@torch.no_grad()
def test_vision_graph_matches_pytorch(tiny_model, tiny_pack):
    model, _ = tiny_model
    pack, _ = tiny_pack
    image = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    prefix = model.encode_prefix(model.backbone_grid(image))
    ids, scores, keys, values = session(pack / "vision.onnx").run(None, {"image": image.numpy()})
    assert ids.tolist() == prefix.concepts.ids.tolist()
    np.testing.assert_allclose(scores, prefix.concepts.scores.numpy(), atol=1e-5)
    np.testing.assert_allclose(keys, prefix.keys.numpy(), atol=1e-4)
    np.testing.assert_allclose(values, prefix.values.numpy(), atol=1e-4)


@pytest.mark.parametrize("beams,past,new", [(1, 0, 1), (3, 4, 1), (2, 0, 5), (2, 3, 2)])
@torch.no_grad()
def test_decoder_graph_matches_pytorch(tiny_model, tiny_pack, beams, past, new):
    model, _ = tiny_model
    pack, _ = tiny_pack
    c = model.config
    g = torch.Generator().manual_seed(2)
    prefix = model.encode_prefix(model.backbone_grid(torch.rand(1, 3, 224, 224, generator=g)))
    ids = torch.randint(1000, 5000, (beams, new), generator=g)
    past_k = torch.randn(c.layers, beams, c.heads, past, c.head_dim, generator=g)
    past_v = torch.randn(c.layers, beams, c.heads, past, c.head_dim, generator=g)
    hidden, k, v = model.decode(ids, prefix.keys, prefix.values, past_k, past_v)
    expected = model.log_probs(hidden[:, -1])
    log_probs, present_k, present_v = session(pack / "decoder.onnx").run(None, {
        "input_ids": ids.numpy(), "prefix_keys": prefix.keys.numpy(), "prefix_values": prefix.values.numpy(),
        "past_keys": past_k.numpy(), "past_values": past_v.numpy(),
    })
    assert log_probs.shape == (beams, c.vocab_size)
    assert present_k.shape == (c.layers, beams, c.heads, past + new, c.head_dim)
    np.testing.assert_allclose(log_probs, expected.numpy(), atol=1e-4)
    np.testing.assert_allclose(present_k, k.numpy(), atol=1e-5)
    np.testing.assert_allclose(present_v, v.numpy(), atol=1e-5)


@torch.no_grad()
def test_int8_pack_stores_int8_weights_and_matches_the_rounded_model(tiny_model, tokenizer, tmp_path):
    import copy

    import onnx

    from lightcap.export import export_pack
    from lightcap.quantize import fake_quantize_

    model, concepts = tiny_model
    rounded_model = copy.deepcopy(model)
    rounded = fake_quantize_(rounded_model)
    assert "embeddings.word_embeddings.weight" in rounded
    manifest = export_pack(rounded_model, concepts, tokenizer, tmp_path, int8=True)
    sizes = {f["path"]: f["bytes"] for f in manifest["files"]}
    decoder = onnx.load(str(tmp_path / "decoder.onnx"))
    dequantized = [n for n in decoder.graph.node if n.op_type == "DequantizeLinear"]
    assert "embeddings.word_embeddings.weight" in {n.output[0].split("model.", 1)[-1] for n in dequantized}
    int8 = {i.name for i in decoder.graph.initializer if i.data_type == onnx.TensorProto.INT8}
    assert {n.input[0] for n in dequantized} <= int8
    # The 30,522-row embedding table dominates: the int8 decoder is well under half the float one.
    float_bytes = 4 * model.embeddings.word_embeddings.weight.numel()
    assert sizes["decoder.onnx"] < float_bytes / 2

    g = torch.Generator().manual_seed(3)
    image = torch.rand(1, 3, 224, 224, generator=g)
    prefix = rounded_model.encode_prefix(rounded_model.backbone_grid(image))
    ids, scores, keys, values = session(tmp_path / "vision.onnx").run(None, {"image": image.numpy()})
    assert ids.tolist() == prefix.concepts.ids.tolist()
    np.testing.assert_allclose(keys, prefix.keys.numpy(), atol=1e-4)
    c = model.config
    empty = np.zeros((c.layers, 2, c.heads, 0, c.head_dim), np.float32)
    step_ids = torch.tensor([[101], [1037]])
    hidden, _, _ = rounded_model.decode(step_ids, prefix.keys, prefix.values, torch.from_numpy(empty),
                                        torch.from_numpy(empty))
    log_probs, _, _ = session(tmp_path / "decoder.onnx").run(None, {
        "input_ids": step_ids.numpy(), "prefix_keys": keys, "prefix_values": values,
        "past_keys": empty, "past_values": empty})
    np.testing.assert_allclose(log_probs, rounded_model.log_probs(hidden[:, -1]).numpy(), atol=1e-4)


def test_int8_grid_round_trips_and_leaves_off_grid_tensors_alone():
    from lightcap.quantize import _grid_axis, int8_grid

    w = torch.randn(6, 40)
    q, scale = int8_grid(w, axis=1)
    assert q.dtype == torch.int8 and scale.shape == (40,)
    assert (q.float() * scale - w).abs().max() <= scale.max() / 2 + 1e-6
    on_grid = (q.float() * scale).numpy()
    axis, q2, _ = _grid_axis(on_grid)
    assert axis == 1 and np.array_equal(q2, q.numpy())
    assert _grid_axis(w.numpy()) is None


@torch.no_grad()
def test_a_pruned_decoder_scores_only_reachable_tokens_and_captions_as_the_full_model(tiny_model, tokenizer,
                                                                                       tmp_path):
    """A model trained on a small caption vocabulary exports a decoder with only those rows
    (lightcap.prune): the same log-probs on them, the same captions at beams 1 and 3."""
    import copy

    from lightcap.bench import OrtStepper
    from lightcap.decoding import DecodeOptions, TorchStepper, decode
    from lightcap.export import export_pack
    from lightcap.prune import search_ids

    model, concepts = tiny_model
    restricted = copy.deepcopy(model)
    special = tokenizer.special
    vocab = torch.tensor(sorted({special.sep, *range(1996, 2296)}))
    restricted.restrict_output_vocabulary(vocab)
    manifest = export_pack(restricted, concepts, tokenizer, tmp_path)
    kept = manifest["tokenizer"]["decoder_token_ids"]
    assert kept == sorted({special.cls, *vocab.tolist()})
    log_probs_spec = manifest["graphs"]["decoder"]["outputs"][0]
    assert log_probs_spec["shape"] == ["batch", len(kept)]
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest
    assert '"decoder_token_ids": [' + ", ".join(map(str, kept)) + "]" in (tmp_path / "manifest.json").read_text()

    c = model.config
    g = torch.Generator().manual_seed(4)
    prefix = restricted.encode_prefix(restricted.backbone_grid(torch.rand(1, 3, 224, 224, generator=g)))
    decoder = session(tmp_path / "decoder.onnx")
    # One step from [CLS]: the pruned graph's rows are the full model's scores of the kept ids.
    empty = np.zeros((c.layers, 1, c.heads, 0, c.head_dim), np.float32)
    cls, sep, never = search_ids(manifest)
    pruned, _, _ = decoder.run(None, {"input_ids": np.array([[cls]]), "prefix_keys": prefix.keys.numpy(),
                                      "prefix_values": prefix.values.numpy(), "past_keys": empty,
                                      "past_values": empty})
    hidden, _, _ = restricted.decode(torch.tensor([[special.cls]]), prefix.keys, prefix.values,
                                     torch.from_numpy(empty), torch.from_numpy(empty))
    full = restricted.log_probs(hidden[:, -1]).numpy()
    assert pruned.shape == (1, len(kept))
    np.testing.assert_allclose(pruned[0], full[0, kept], atol=1e-4)

    for beam in (1, 3):
        options = DecodeOptions(max_length=8, beam_size=beam)
        torch_stepper = TorchStepper(restricted, prefix.keys, prefix.values)
        expected = decode(torch_stepper.step, torch_stepper.reorder, torch_stepper.initial_cache(),
                          special.cls, special.sep, tokenizer.never_generate, options)
        ort_stepper = OrtStepper(decoder, prefix.keys.numpy(), prefix.values.numpy(),
                                 (c.layers, c.heads, c.head_dim))
        found = decode(ort_stepper.step, ort_stepper.reorder, ort_stepper.initial_cache(), cls, sep, never,
                       options)
        assert [kept[t] for t in found.tokens] == expected.tokens, f"beam {beam}"
