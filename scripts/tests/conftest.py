import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightcap.checkpoint import random_model  # noqa: E402
from lightcap.text import CaptionTokenizer  # noqa: E402


@pytest.fixture(scope="session")
def tokenizer():
    return CaptionTokenizer()


@pytest.fixture(scope="session")
def tiny_model(tokenizer):
    model, concepts = random_model("tiny", tokenizer, seed=0)
    return model, concepts


@pytest.fixture(scope="session")
def tiny_pack(tiny_model, tokenizer, tmp_path_factory):
    from lightcap.export import export_pack

    model, concepts = tiny_model
    out = tmp_path_factory.mktemp("tiny_pack")
    manifest = export_pack(model, concepts, tokenizer, out)
    return out, manifest
