"""LightCap in PyTorch: the reference the Rust core must match.

Sequence layout of the fusion model (one image):

    prefix  = K concept tokens + G*G visual tokens   (attend only to the prefix)
    caption = [CLS] w1 w2 ... [SEP]                  (attend to the prefix and,
                                                      causally, to earlier caption tokens)

Because prefix tokens never see captions, their keys and values in every layer
depend on the image alone. `encode_prefix` computes them once per image; each
`decode` call then only runs the new caption tokens against that cache plus the
caption cache so far. Training runs the same `decode` with the whole caption
at once, so there is one code path for training, evaluation and export.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import build_backbone
from .config import LightCapConfig


@dataclass
class Concepts:
    ids: torch.Tensor  # [B, K] int64, indices into the concept vocabulary
    scores: torch.Tensor  # [B, K] float, sigmoid scores, descending
    logits: torch.Tensor  # [B, num_concepts] pre-sigmoid, for training


class ConceptExtractor(nn.Module):
    """Alignment module + similarity with fixed concept text embeddings, top-K."""

    def __init__(self, config: LightCapConfig, num_concepts: int):
        super().__init__()
        c, j = config.backbone_channels, config.joint_dim
        self.align = nn.Sequential(nn.Linear(c, j), nn.ReLU(), nn.Linear(j, j))
        # Text-side embeddings of the concept vocabulary (CLIP text encoder in the
        # paper). Frozen: a buffer, replaced by load_concept_embeddings().
        self.register_buffer("concept_embeddings", F.normalize(torch.randn(num_concepts, j), dim=-1))
        # Sigmoid scores rather than a softmax: several concepts can be present.
        self.logit_scale = nn.Parameter(torch.tensor(10.0))
        self.logit_bias = nn.Parameter(torch.tensor(-5.0))
        self.k = config.num_concepts_k

    def forward(self, grid: torch.Tensor) -> Concepts:
        pooled = grid.mean(dim=(2, 3))
        image_embedding = F.normalize(self.align(pooled), dim=-1)
        cosine = image_embedding @ self.concept_embeddings.t()
        logits = cosine * self.logit_scale + self.logit_bias
        scores, ids = torch.sigmoid(logits).topk(self.k, dim=-1)
        return Concepts(ids=ids, scores=scores, logits=logits)


class FusionEmbeddings(nn.Module):
    """BERT embeddings for caption and concept tokens, plus a projection for visual tokens."""

    def __init__(self, config: LightCapConfig, num_concepts: int):
        super().__init__()
        h = config.hidden
        self.config = config
        self.word_embeddings = nn.Embedding(config.vocab_size, h)
        self.position_embeddings = nn.Embedding(config.max_caption_positions + config.num_concepts_k, h)
        self.token_type_embeddings = nn.Embedding(2, h)
        self.layer_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.visual_projection = nn.Linear(config.backbone_channels, h)
        self.visual_positions = nn.Parameter(torch.zeros(config.grid_size * config.grid_size, h))
        self.visual_layer_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        # Word-pieces of every concept name, padded; a concept's embedding is the
        # mean of its pieces' word embeddings.
        m = config.max_concept_pieces
        self.register_buffer("concept_piece_ids", torch.zeros(num_concepts, m, dtype=torch.long))
        self.register_buffer("concept_piece_mask", torch.zeros(num_concepts, m))
        self.concept_piece_mask[:, 0] = 1.0

    def concept_table(self) -> torch.Tensor:
        """[num_concepts, h]: each concept's word embedding (mean of its pieces)."""
        mask = self.concept_piece_mask.unsqueeze(-1)
        summed = (self.word_embeddings(self.concept_piece_ids) * mask).sum(dim=1)
        return summed / mask.sum(dim=1)

    def concepts(self, concept_word_embeddings: torch.Tensor) -> torch.Tensor:
        k = concept_word_embeddings.shape[1]
        first = self.config.max_caption_positions
        positions = self.position_embeddings.weight[first : first + k]
        x = concept_word_embeddings + positions + self.token_type_embeddings.weight[1]
        return self.layer_norm(x)

    def visual(self, grid: torch.Tensor) -> torch.Tensor:
        tokens = grid.flatten(2).transpose(1, 2)  # [B, G*G, C]
        return self.visual_layer_norm(self.visual_projection(tokens) + self.visual_positions)

    def caption(self, input_ids: torch.Tensor, first_position: torch.Tensor | int) -> torch.Tensor:
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device) + first_position
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings.weight[0]
        )
        return self.layer_norm(x)


class CrossModalModulator(nn.Module):
    """Squeeze-and-excite gate on the backbone channels, driven by the concepts."""

    def __init__(self, config: LightCapConfig):
        super().__init__()
        self.squeeze = nn.Linear(config.hidden, config.modulator_squeeze)
        self.expand = nn.Linear(config.modulator_squeeze, config.backbone_channels)

    def forward(self, grid: torch.Tensor, concept_word_embeddings: torch.Tensor) -> torch.Tensor:
        summary = concept_word_embeddings.mean(dim=1)
        gate = torch.sigmoid(self.expand(F.relu(self.squeeze(summary))))
        return grid * gate[:, :, None, None]


class FusionLayer(nn.Module):
    """One post-LayerNorm BERT layer whose attention takes an explicit key/value cache."""

    def __init__(self, config: LightCapConfig):
        super().__init__()
        h = config.hidden
        self.heads, self.head_dim = config.heads, config.head_dim
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.attention_output = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(h, config.ffn)
        self.output = nn.Linear(config.ffn, h)
        self.output_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split_heads(self.key(x)), self.split_heads(self.value(x))

    def finish(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, _, t, _ = context.shape
        context = context.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        x = self.attention_norm(x + self.attention_output(context))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))

    def forward_prefix(self, x: torch.Tensor):
        """Prefix tokens attend to each other only. Returns (output, keys, values)."""
        k, v = self.keys_values(x)
        q = self.split_heads(self.query(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        return self.finish(x, weights @ v), k, v

    def forward_caption(self, x, prefix_k, prefix_v, past_k, past_v):
        """Caption tokens attend to the whole prefix and causally to the caption.

        prefix_k/v: [1 or B, heads, P, dh]; past_k/v: [B, heads, Tp, dh]; x: [B, T, h].
        Returns (output, keys, values) where keys/values cover past + new tokens.
        """
        new_k, new_v = self.keys_values(x)
        k = torch.cat([past_k, new_k], dim=2)
        v = torch.cat([past_v, new_v], dim=2)
        q = self.split_heads(self.query(x)) / math.sqrt(self.head_dim)
        prefix_scores = q @ prefix_k.transpose(-1, -2)  # [B, heads, T, P]
        caption_scores = q @ k.transpose(-1, -2)  # [B, heads, T, Tp+T]
        t, total = x.shape[1], k.shape[2]
        query_positions = torch.arange(t, device=x.device) + (total - t)
        key_positions = torch.arange(total, device=x.device)
        future = key_positions[None, :] > query_positions[:, None]
        caption_scores = caption_scores.masked_fill(future, float("-inf"))
        weights = torch.softmax(torch.cat([prefix_scores, caption_scores], dim=-1), dim=-1)
        p = prefix_k.shape[2]
        context = weights[..., :p] @ prefix_v + weights[..., p:] @ v
        return self.finish(x, context), k, v


class PredictionHead(nn.Module):
    """BERT-style head: a transform of the hidden state and a bias per token; the scores
    against the tied word embeddings are one product for all heads (`head_logits`)."""

    def __init__(self, config: LightCapConfig):
        super().__init__()
        self.transform = nn.Linear(config.hidden, config.hidden)
        self.norm = nn.LayerNorm(config.hidden, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def transformed(self, hidden: torch.Tensor) -> torch.Tensor:
        """The hidden state as this head compares it with the word embeddings."""
        return self.norm(F.gelu(self.transform(hidden)))


def ensemble_log_probs(head_logits: torch.Tensor) -> torch.Tensor:
    """log(mean_h softmax(logits_h)) over dim 0, computed without underflow.

    The heads are combined element-wise (Max, Add) rather than by reductions over dim 0:
    tract runs a reduction over a leading axis one output element at a time, which took
    half of each decoder step of the exported graph; element-wise ops are vectorised."""
    heads = torch.log_softmax(head_logits, dim=-1).unbind(0)
    # Any finite `top` gives the same result; the floor keeps it finite where every head
    # says -inf (tract's log-softmax underflows for never-emitted tokens), which would
    # otherwise make -inf - -inf = NaN instead of -inf.
    top = functools.reduce(torch.maximum, heads).clamp(min=-1e4)
    total = functools.reduce(torch.add, [torch.exp(h - top) for h in heads])
    return top + torch.log(total / len(heads))


@dataclass
class Prefix:
    concepts: Concepts
    keys: torch.Tensor  # [L, B, heads, P, dh]
    values: torch.Tensor  # [L, B, heads, P, dh]
    evidence: torch.Tensor  # [B, 1]: the grid's standard deviation (image_evidence)


def image_evidence(grid: torch.Tensor) -> torch.Tensor:
    """[B, C, G, G] -> [B, 1]: the standard deviation of each image's feature grid, how
    strongly the backbone responds to it at all (written out so that it exports as plain
    means, a subtraction and a square root)."""
    mean = grid.mean(dim=(1, 2, 3), keepdim=True)
    return ((grid - mean) ** 2).mean(dim=(1, 2, 3)).sqrt().unsqueeze(1)


class LightCap(nn.Module):
    def __init__(self, config: LightCapConfig, num_concepts: int, backbone_weights: str | None = None):
        super().__init__()
        self.config = config
        self.num_concepts = num_concepts
        self.backbone = build_backbone(config, backbone_weights)
        if config.concept_head == "hedged":
            from .hedged_concepts import HedgedConceptExtractor

            self.concept_extractor = HedgedConceptExtractor(config, num_concepts)
            self.concept_extractor.classifier = self.backbone.net._fc
        else:
            self.concept_extractor = ConceptExtractor(config, num_concepts)
        self.embeddings = FusionEmbeddings(config, num_concepts)
        self.modulator = CrossModalModulator(config)
        self.layers = nn.ModuleList(FusionLayer(config) for _ in range(config.layers))
        self.heads = nn.ModuleList(PredictionHead(config) for _ in range(config.ensemble_heads))
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1))
        # The backbone keeps what it was built with (pretrained weights, the ImageNet
        # classifier included): _init_weights would redraw every Linear in it. Restoring it
        # afterwards, rather than skipping it, leaves the random stream of the rest as it was.
        built = {k: v.clone() for k, v in self.backbone.state_dict().items()}
        self.apply(self._init_weights)
        self.backbone.load_state_dict(built)
        self.freeze_backbone()

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def freeze_backbone(self) -> None:
        """The backbone is frozen in LightCap: no gradients, BatchNorm in eval mode."""
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    # -- image side -------------------------------------------------------------
    def backbone_grid(self, image: torch.Tensor) -> torch.Tensor:
        """image: [B, 3, S, S] RGB in [0, 1] -> grid [B, C, G, G]."""
        return self.backbone((image - self.mean) / self.std)

    def encode_prefix(self, grid: torch.Tensor, concept_table: torch.Tensor | None = None) -> Prefix:
        """Concepts, modulation and the prefix's cached keys/values per layer.

        concept_table: precomputed FusionEmbeddings.concept_table() (the exported
        vision graph stores it, not the whole word-embedding matrix)."""
        concepts = self.concept_extractor(grid)
        evidence = image_evidence(grid)
        table = self.embeddings.concept_table() if concept_table is None else concept_table
        concept_words = table[concepts.ids]
        grid = self.modulator(grid, concept_words)
        x = torch.cat([self.embeddings.concepts(concept_words), self.embeddings.visual(grid)], dim=1)
        keys, values = [], []
        for layer in self.layers:
            x, k, v = layer.forward_prefix(x)
            keys.append(k)
            values.append(v)
        return Prefix(concepts=concepts, keys=torch.stack(keys), values=torch.stack(values), evidence=evidence)

    # -- text side ----------------------------------------------------------------
    def decode(self, input_ids, prefix_keys, prefix_values, past_keys, past_values):
        """Run new caption tokens against the prefix and caption caches.

        input_ids: [B, T]; prefix_*: [L, 1 or B, heads, P, dh]; past_*: [L, B, heads, Tp, dh].
        Returns (hidden [B, T, h], present_keys, present_values) with Tp+T cached tokens.
        """
        x = self.embeddings.caption(input_ids, past_keys.shape[3])
        keys, values = [], []
        for i, layer in enumerate(self.layers):
            x, k, v = layer.forward_caption(x, prefix_keys[i], prefix_values[i], past_keys[i], past_values[i])
            keys.append(k)
            values.append(v)
        return x, torch.stack(keys), torch.stack(values)

    def head_logits(self, hidden: torch.Tensor, heads: range | list[int] | None = None,
                    vocab: torch.Tensor | None = None) -> torch.Tensor:
        """[N, ..., V] logits of the chosen prediction heads (all by default), over the
        token ids in `vocab` (all by default; training uses the small caption vocabulary,
        as the other rows of the 30,522 would cost most of the time and learn nothing)."""
        chosen = list(range(len(self.heads)) if heads is None else heads)
        words = self.embeddings.word_embeddings.weight
        biases = torch.stack([self.heads[i].bias for i in chosen])  # [N, V]
        if vocab is not None:
            words, biases = words[vocab], biases[:, vocab]
        # One product with the word embeddings for all heads, as rows of one matrix: a
        # decoder step is bound by reading that 30,522 x H matrix, now once, not per head.
        transformed = torch.stack([self.heads[i].transformed(hidden) for i in chosen])  # [N, ..., H]
        rows = transformed.reshape(-1, transformed.shape[-1])
        logits = (rows @ words.t()).reshape(*transformed.shape[:-1], words.shape[0])
        return logits + biases.reshape(len(chosen), *[1] * (hidden.dim() - 1), -1)

    def log_probs(self, hidden: torch.Tensor, heads: range | list[int] | None = None) -> torch.Tensor:
        return ensemble_log_probs(self.head_logits(hidden, heads))

    def empty_cache(self, batch: int) -> torch.Tensor:
        c = self.config
        return torch.zeros(c.layers, batch, c.heads, 0, c.head_dim, device=self.mean.device)

    def forward(self, grid: torch.Tensor, input_ids: torch.Tensor, heads=None, vocab=None, caption_image=None):
        return self.teacher_forced_logits(grid, input_ids, heads, vocab, caption_image)

    def teacher_forced_logits(self, grid: torch.Tensor, input_ids: torch.Tensor, heads=None, vocab=None,
                              caption_image: torch.Tensor | None = None):
        """Training: per-head logits [N, B, T, V] for every caption position, and concepts.

        caption_image [B] (optional) names the grid row each caption belongs to, so an image
        with several captions has its prefix computed once; by default caption b is image b."""
        prefix = self.encode_prefix(grid)
        keys, values = prefix.keys, prefix.values
        if caption_image is not None:
            keys, values = keys[:, caption_image], values[:, caption_image]
        empty = self.empty_cache(input_ids.shape[0])
        hidden, _, _ = self.decode(input_ids, keys, values, empty, empty)
        return self.head_logits(hidden, heads, vocab), prefix.concepts

    def restrict_output_vocabulary(self, vocab: torch.Tensor) -> None:
        """Make every token outside `vocab` (ids) unreachable: its bias in every head goes
        to -1e4, so after training on a restricted vocabulary the full-vocabulary heads,
        and the exported graphs, never produce a token the model was not trained on."""
        outside = torch.ones(self.config.vocab_size, dtype=torch.bool)
        outside[vocab.cpu()] = False
        with torch.no_grad():
            for head in self.heads:
                head.bias[outside.to(head.bias.device)] = -1e4


def count_parameters(model: nn.Module) -> dict[str, int]:
    parts = {
        "backbone": model.backbone,
        "concept_extractor": model.concept_extractor,
        "modulator": model.modulator,
        "embeddings": model.embeddings,
        "fusion_layers": model.layers,
        "heads": model.heads,
    }
    counts = {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts
