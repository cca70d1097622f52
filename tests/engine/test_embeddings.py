"""Embeddings from the real engine process on the real starter model, checked against
llama-cpp-python's own `Llama.embed` on the same file in this process.

SmolLM2 is a chat model: its GGUF declares no pooling, so the engine pools by the mean of the
token vectors, and the reference is told to do the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from desktop.engine.client import EMBED_TEXTS_PER_REQUEST, EngineClient
from desktop.engine.protocol import ChatMessage, GenerationRequest, ModelLoaded
from desktop.errors import ContextOverflow, EngineFailed

pytestmark = pytest.mark.engine

CONTEXT = 512
THREADS = 2
LONG_TEXT = " ".join(
    f"Paragraph {n}: the lighthouse keeper climbed the stairs, trimmed the wick, and "
    "wrote the weather in the log before the ships came round the point."
    for n in range(12)
)
VARIED_TEXTS = (
    "Hi",
    LONG_TEXT,
    "Le gardien du phare monte l'escalier et note le temps qu'il fait.",
    "灯台守は階段を上り、天気を記録した。",
    "def add(a: int, b: int) -> int:\n    return a + b\n",
    "   \n\t ",
    "🌊🌊 storm warning 🚢",
    "",
)
MATCH = 0.999  # cosine: the same vector up to float rounding in another batch


@pytest.fixture(scope="module")
def embedder(
    starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[EngineClient, ModelLoaded]]:
    """One engine loaded for embeddings, shared by the module: a load is slow on 2 cores."""
    client = EngineClient(tmp_path_factory.mktemp("embedder") / "engine.log")
    loaded = client.load(
        starter_model_path, context_length=CONTEXT, threads=THREADS, embedding=True
    )
    yield client, loaded
    client.close()


@pytest.fixture(scope="module")
def reference(starter_model_path: Path) -> Iterator[Any]:
    """llama-cpp-python itself, as a script would use it: mean pooling, batches of the
    context."""
    from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama

    llm = Llama(
        model_path=str(starter_model_path),
        embedding=True,
        pooling_type=LLAMA_POOLING_TYPE_MEAN,
        n_ctx=CONTEXT,
        n_batch=CONTEXT,
        n_ubatch=CONTEXT,
        n_threads=THREADS,
        n_threads_batch=THREADS,
        verbose=False,
    )
    yield llm
    llm.close()


def _reference_vectors(reference: Any, texts: list[str]) -> npt.NDArray[np.float32]:
    return np.asarray(reference.embed(texts, normalize=True), dtype=np.float32)


def _cosines(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.asarray((a * b).sum(axis=1) / norms, dtype=np.float32)


def test_vectors_match_llama_cpp_python(
    embedder: tuple[EngineClient, ModelLoaded], reference: Any
) -> None:
    client, _ = embedder
    vectors = client.embed(VARIED_TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(VARIED_TEXTS), reference.n_embd())
    texts = [text for text in VARIED_TEXTS if text]
    expected = _reference_vectors(reference, texts)
    found = vectors[[i for i, text in enumerate(VARIED_TEXTS) if text]]
    cosines = _cosines(found, expected)
    assert cosines.min() >= MATCH, dict(zip(texts, cosines.tolist(), strict=True))
    np.testing.assert_allclose(np.linalg.norm(found, axis=1), 1.0, rtol=1e-5)
    # Different texts give different vectors: a constant would also be normalized.
    assert _cosines(found[:1], found[1:2])[0] < MATCH


def test_an_empty_text_gives_a_zero_vector_and_leaves_the_others_alone(
    embedder: tuple[EngineClient, ModelLoaded],
) -> None:
    client, _ = embedder
    alone = client.embed(["The keeper lit the lamp."])
    beside_empty = client.embed(["", "The keeper lit the lamp.", ""])
    assert not beside_empty[0].any() and not beside_empty[2].any()
    assert _cosines(alone, beside_empty[1:2])[0] >= MATCH


def test_the_loaded_event_gives_the_dimension_and_pooling(
    embedder: tuple[EngineClient, ModelLoaded], reference: Any
) -> None:
    client, loaded = embedder
    assert loaded.embedding_size == reference.n_embd() == 576
    assert loaded.pooling == "mean"  # SmolLM2's GGUF declares none
    assert loaded.context_length == CONTEXT
    assert client.embed([]).shape == (0, 576)


def test_many_texts_in_several_requests_match_one_call(
    embedder: tuple[EngineClient, ModelLoaded], reference: Any
) -> None:
    client, _ = embedder
    pid = client.pid
    texts = [
        f"Log entry {n}: wind from the {('north', 'east', 'south', 'west')[n % 4]}, "
        f"{n % 9 + 1} ships passed, " + "the lamp burned all night. " * (n % 3)
        for n in range(2 * EMBED_TEXTS_PER_REQUEST + 5)  # three requests, each of two batches
    ]
    vectors = client.embed(texts)
    assert vectors.shape == (len(texts), 576)
    assert _cosines(vectors, _reference_vectors(reference, texts)).min() >= MATCH
    assert client.pid == pid, "the engine served every request without a restart"


def test_a_text_longer_than_the_context_is_refused_not_cut(
    embedder: tuple[EngineClient, ModelLoaded],
) -> None:
    client, _ = embedder
    too_long = "Storm after storm broke over the lighthouse. " * 80
    with pytest.raises(ContextOverflow) as refused:
        client.embed(["A short one.", too_long])
    assert 'begins "Storm after storm broke over the lighthouse. Storm"' in refused.value.message
    assert f"at most {CONTEXT:,} tokens" in refused.value.message
    # What the user can do: the pool loads every embedder at a passage's context, which no
    # setting changes, so a longer context is not on offer.
    assert refused.value.message.endswith("Cut it into shorter passages.")
    assert client.embed(["A short one."]).shape == (1, 576)  # the engine is still serving


def test_generate_on_a_model_loaded_for_embeddings_fails_clearly(
    embedder: tuple[EngineClient, ModelLoaded],
) -> None:
    client, _ = embedder
    with (
        pytest.raises(EngineFailed, match="loaded for embeddings, not for generating text"),
        client.generate(GenerationRequest(messages=(ChatMessage("user", "Hello"),))) as stream,
    ):
        list(stream)
    assert client.embed(["Still embedding."]).shape == (1, 576)


def test_embed_on_a_model_loaded_for_chat_fails_clearly(
    starter_model_path: Path, tmp_path: Path
) -> None:
    with EngineClient(tmp_path / "engine.log") as client:
        loaded = client.load(starter_model_path, context_length=CONTEXT, threads=THREADS)
        assert loaded.pooling is None
        with pytest.raises(EngineFailed, match="loaded for generating text, not for embeddings"):
            client.embed(["Hello"])
        assert client.tokenize("Hello")  # the engine is still serving
