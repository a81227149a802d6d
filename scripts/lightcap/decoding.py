"""Greedy and beam search over a cached decoder step: the reference algorithm.

The Rust core (core/src/decode.rs) implements the same rules, so that both
produce identical token sequences for the same log-probabilities:

- Step t (0-based) feeds the previous token ([CLS] first) and gets log-probs.
- Constraints: ids in `never_generate` are -inf; [SEP] is -inf while t < min_length;
  a token that would repeat an n-gram already generated is -inf (no_repeat_ngram_size);
  then, for a pack with `concepts.grounding`, the grounding rules (lightcap.grounding).
- Greedy picks the first maximum. Generation ends at [SEP] or after max_length tokens.
- Beam search ranks all (beam, token) continuations by summed log-prob, descending,
  ties by beam index then token id, and walks the best 2*beam_size: a [SEP]
  among the first beam_size ranks finishes a hypothesis, any other token extends
  a live beam until beam_size beams are live. It stops once beam_size hypotheses
  have finished; at max_length the live beams join the finished ones. The winner
  has the best score / length**length_penalty (length counts [SEP]); ties go to
  the earliest finished.
Scores are accumulated in float32 on both sides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .grounding import Grounding

# step(input_ids [B, 1] int64, cache) -> (log_probs [B, V] float32 numpy, new cache)
StepFn = Callable[[np.ndarray, object], tuple[np.ndarray, object]]
ReorderFn = Callable[[object, list[int]], object]


@dataclass(frozen=True)
class DecodeOptions:
    max_length: int = 20
    min_length: int = 0
    beam_size: int = 1
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0


@dataclass
class Hypothesis:
    tokens: list[int]  # generated ids, [SEP] included when the caption finished
    log_prob: float  # summed log-probabilities of the tokens
    step_log_probs: list[float] = field(default_factory=list)


def repeated_ngram_bans(tokens: list[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram that already occurs in `tokens`."""
    if n <= 0 or len(tokens) < n - 1:
        return set()
    context = tuple(tokens[len(tokens) - (n - 1) :]) if n > 1 else ()
    return {
        tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n - 1]) == context
    }


def constrain(log_probs: np.ndarray, tokens: list[int], step: int, options: DecodeOptions,
              sep: int, never_generate: list[int], grounding: Grounding | None = None) -> np.ndarray:
    out = log_probs.astype(np.float32).copy()
    out[never_generate] = -np.inf
    if step < options.min_length:
        out[sep] = -np.inf
    for banned in repeated_ngram_bans(tokens, options.no_repeat_ngram_size):
        out[banned] = -np.inf
    out[np.isnan(out)] = -np.inf
    if grounding is not None:
        out = grounding.apply(out, log_probs.astype(np.float32), tokens, step)
    return out


def greedy(step: StepFn, cache, cls: int, sep: int, never_generate: list[int],
           options: DecodeOptions, grounding: Grounding | None = None) -> Hypothesis:
    hyp = Hypothesis(tokens=[], log_prob=0.0)
    score = np.float32(0.0)
    token = cls
    for t in range(options.max_length):
        log_probs, cache = step(np.array([[token]], dtype=np.int64), cache)
        row = constrain(log_probs[0], hyp.tokens, t, options, sep, never_generate, grounding)
        token = int(np.argmax(row))
        score = np.float32(score + row[token])
        hyp.tokens.append(token)
        hyp.step_log_probs.append(float(row[token]))
        if token == sep:
            break
    hyp.log_prob = float(score)
    return hyp


def beam_search(step: StepFn, reorder: ReorderFn, cache, cls: int, sep: int,
                never_generate: list[int], options: DecodeOptions,
                grounding: Grounding | None = None) -> Hypothesis:
    beam = options.beam_size
    live: list[tuple[list[int], np.float32]] = [([], np.float32(0.0))]
    finished: list[tuple[float, list[int], float]] = []
    last_tokens = [cls]
    for t in range(options.max_length):
        log_probs, cache = step(np.array(last_tokens, dtype=np.int64)[:, None], cache)
        rows = np.stack([
            constrain(log_probs[i], tokens, t, options, sep, never_generate, grounding) + score
            for i, (tokens, score) in enumerate(live)
        ]).astype(np.float32)
        vocab = rows.shape[1]
        flat = rows.reshape(-1)
        order = np.argsort(-flat, kind="stable")[: 2 * beam]
        next_live, parents = [], []
        for rank, index in enumerate(order):
            total = flat[index]
            if total == -np.inf:
                break
            parent, token = divmod(int(index), vocab)
            tokens = live[parent][0] + [token]
            if token == sep:
                if rank < beam:
                    finished.append((float(total) / len(tokens) ** options.length_penalty, tokens, float(total)))
            else:
                next_live.append((tokens, np.float32(total)))
                parents.append(parent)
                if len(next_live) == beam:
                    break
        if len(finished) >= beam or not next_live:
            live = []
            break
        cache = reorder(cache, parents)
        live = next_live
        last_tokens = [tokens[-1] for tokens, _ in live]
    for tokens, score in live:
        finished.append((float(score) / len(tokens) ** options.length_penalty, tokens, float(score)))
    best = finished[0]
    for candidate in finished[1:]:
        if candidate[0] > best[0]:
            best = candidate
    return Hypothesis(tokens=best[1], log_prob=best[2])


def decode(step: StepFn, reorder: ReorderFn, cache, cls: int, sep: int,
           never_generate: list[int], options: DecodeOptions, grounding: Grounding | None = None) -> Hypothesis:
    if grounding is not None:
        # The subject must fit in the caption's own length limit, not the pack's default.
        grounding = dataclasses.replace(grounding, max_length=options.max_length)
    if options.beam_size <= 1:
        return greedy(step, cache, cls, sep, never_generate, options, grounding)
    return beam_search(step, reorder, cache, cls, sep, never_generate, options, grounding)


class TorchStepper:
    """Adapts a LightCap model and one image's prefix to StepFn / ReorderFn."""

    def __init__(self, model, prefix_keys: torch.Tensor, prefix_values: torch.Tensor,
                 heads: list[int] | None = None):
        self.model = model
        self.prefix_keys = prefix_keys
        self.prefix_values = prefix_values
        self.heads = heads  # None: the whole ensemble

    def initial_cache(self):
        empty = self.model.empty_cache(1)
        return (empty, empty)

    @torch.no_grad()
    def step(self, input_ids: np.ndarray, cache):
        past_keys, past_values = cache
        hidden, keys, values = self.model.decode(
            torch.from_numpy(input_ids), self.prefix_keys, self.prefix_values, past_keys, past_values
        )
        log_probs = self.model.log_probs(hidden[:, -1], self.heads)
        return log_probs.numpy(), (keys, values)

    @staticmethod
    def reorder(cache, parents: list[int]):
        index = torch.tensor(parents, dtype=torch.long)
        return (cache[0][:, index], cache[1][:, index])
