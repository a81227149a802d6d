"""Decoder graphs that carry only the word-embedding rows they can read or generate.

Training scores only the caption vocabulary (`LightCap.restrict_output_vocabulary` sets
every other token's bias to -1e4), yet the full decoder graph stores and multiplies all
30,522 rows of the tied word embeddings at every step. A pruned decoder keeps the rows of
the tokens a caption can contain plus [CLS], which is fed but never generated, in
tokenizer-id order, so the decoder's token ids are positions in that list:

    decoder id i  <->  tokenizer id token_ids[i]

The manifest lists `token_ids` (tokenizer.decoder_token_ids); the Rust core and the
reference search translate [CLS], [SEP] and the banned ids into decoder ids and the
chosen tokens back. Keeping the tokenizer's order keeps every tie between equal scores
broken the same way as over the full vocabulary, so captions are unchanged. The concept
table (mean word embeddings of each concept's pieces) is computed from the full matrix
before pruning, into the vision graph.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .model import LightCap

# A head bias at or below this marks a token that training made unreachable (-1e4).
UNREACHABLE_BIAS = -1e3


def reachable_token_ids(model: LightCap, always: list[int]) -> list[int] | None:
    """Tokenizer ids some head can generate, plus `always` (ids fed to the decoder), in
    ascending order; None when every token is reachable (nothing to prune)."""
    biases = torch.stack([head.bias.detach() for head in model.heads])
    reachable = (biases > UNREACHABLE_BIAS).any(dim=0)
    reachable[torch.tensor(always, dtype=torch.long)] = True
    if bool(reachable.all()):
        return None
    return torch.nonzero(reachable).flatten().tolist()


def pruned_decoder_model(model: LightCap, token_ids: list[int]) -> LightCap:
    """A copy of `model` whose word embeddings and head biases have only the rows of
    `token_ids`; its decoder takes and scores decoder ids (positions in `token_ids`).
    Only its decoder side is meaningful: the concept table needs the full matrix."""
    index = torch.tensor(token_ids, dtype=torch.long)
    pruned = copy.deepcopy(model)
    with torch.no_grad():
        words = model.embeddings.word_embeddings.weight[index].clone()
        pruned.embeddings.word_embeddings = nn.Embedding.from_pretrained(words, freeze=False)
        for head, source in zip(pruned.heads, model.heads):
            head.bias = nn.Parameter(source.bias.detach()[index].clone())
    pruned.config = model.config.replace(vocab_size=len(token_ids))
    return pruned.eval()


def to_decoder_ids(token_ids: list[int], ids: list[int]) -> list[int]:
    """Decoder ids of the tokenizer ids in `ids` that the pruned decoder has (others dropped)."""
    position = {token: i for i, token in enumerate(token_ids)}
    return [position[t] for t in ids if t in position]


def search_ids(manifest: dict, pruned: bool = True) -> tuple[int, int, list[int]]:
    """([CLS], [SEP], never_generate) as the pack's decoder numbers them (pruned: decoder
    ids when the manifest lists `decoder_token_ids`), or as the tokenizer does."""
    tok = manifest["tokenizer"]
    special, never = tok["special_ids"], tok["never_generate"]
    token_ids = tok.get("decoder_token_ids") if pruned else None
    if not token_ids:
        return special["cls"], special["sep"], list(never)
    cls, sep = to_decoder_ids(token_ids, [special["cls"], special["sep"]])
    return cls, sep, to_decoder_ids(token_ids, never)
