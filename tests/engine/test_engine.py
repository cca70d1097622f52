"""The real llama.cpp engine process on the real starter model."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from desktop.engine.client import EngineClient
from desktop.engine.protocol import ChatMessage, GenerationRequest, Sampling
from desktop.errors import ContextOverflow, EngineCrashed, ModelLoadFailed, NoModelLoaded
from desktop.models.installed import InstalledModel
from desktop.tasks.chunking import split_into_chunks

pytestmark = pytest.mark.engine

STORY = (ChatMessage("user", "Write a very long story about a lighthouse keeper."),)


@pytest.fixture
def loaded(engine: EngineClient, installed_starter: InstalledModel) -> EngineClient:
    engine.load(
        installed_starter.path, context_length=2048, threads=2, shape=installed_starter.info.shape
    )
    return engine


def test_load_reports_the_model_and_offload(
    engine: EngineClient, installed_starter: InstalledModel
) -> None:
    info = engine.load(
        installed_starter.path, context_length=2048, shape=installed_starter.info.shape
    )
    assert info.context_length == 2048
    assert info.trained_context_length == 8192
    assert info.layers == 30
    assert info.has_chat_template
    hardware = engine.probe_hardware()
    # CI has no GPU: everything on the CPU. On a GPU build every layer would be offloaded.
    assert info.gpu_layers == (0 if hardware.backend == "CPU" else info.layers + 1)
    assert engine.pid is not None and engine.pid != os.getpid()


def test_a_chat_turn_streams_with_sane_stats(loaded: EngineClient) -> None:
    with loaded.generate(
        GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=64, temperature=0))
    ) as stream:
        pieces = list(stream)
    assert len(pieces) > 1, "the answer arrives in pieces, not all at once"
    assert "".join(pieces).strip()
    stats = stream.stats
    assert stats is not None
    assert stream.finished is not None and stream.finished.finish_reason in ("stop", "length")
    assert stats.prompt_tokens > 20  # the template's system prompt and the question
    assert 1 < stats.generated_tokens <= 64
    assert 0 < stats.time_to_first_token_s < stats.total_s
    assert stats.prompt_tokens_per_s > 0 and stats.generation_tokens_per_s > 0


def test_the_models_own_chat_template_frames_the_prompt(loaded: EngineClient) -> None:
    # SmolLM2's GGUF template wraps turns in <|im_start|>...<|im_end|> and adds a default
    # system prompt; the prompt token count shows it was applied.
    bare = len(loaded.tokenize("Write a very long story about a lighthouse keeper."))
    with loaded.generate(
        GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=2, temperature=0))
    ) as stream:
        list(stream)
    assert stream.stats is not None and stream.stats.prompt_tokens > bare + 10


def test_the_same_greedy_request_gives_the_same_answer(loaded: EngineClient) -> None:
    sampling = Sampling(max_tokens=48, temperature=0)
    answers = []
    for _ in range(2):
        with loaded.generate(
            GenerationRequest(messages=STORY, sampling=sampling, reuse_cached_prompt=False)
        ) as s:
            answers.append("".join(s))
            assert s.stats is not None and s.stats.cached_prompt_tokens == 0
    assert answers[0] == answers[1]


def test_a_repeated_prompt_reuses_the_cached_prefix(loaded: EngineClient) -> None:
    sampling = Sampling(max_tokens=4, temperature=0)
    for _ in range(2):
        with loaded.generate(GenerationRequest(messages=STORY, sampling=sampling)) as stream:
            list(stream)
    assert stream.stats is not None
    assert stream.stats.cached_prompt_tokens == stream.stats.prompt_tokens - 1


def test_cancel_stops_within_a_few_tokens(loaded: EngineClient) -> None:
    received = ""
    with loaded.generate(
        GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=400))
    ) as stream:
        for i, piece in enumerate(stream):
            if i == 0:
                stream.cancel()
                text_at_cancel = piece
            received += piece
    assert stream.finished is not None and stream.finished.finish_reason == "cancelled"
    assert stream.stats is not None
    tokens_at_cancel = len(loaded.tokenize(text_at_cancel))
    # Text already batched for sending may still arrive, but generation stops at once.
    assert stream.stats.generated_tokens - tokens_at_cancel <= 8
    assert len(loaded.tokenize(received)) <= stream.stats.generated_tokens + 1


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGABRT], ids=["kill-9", "abort"])
def test_engine_death_mid_answer_gives_a_typed_error_and_the_next_request_works(
    loaded: EngineClient, installed_starter: InstalledModel, how: signal.Signals
) -> None:
    pid = loaded.pid
    assert pid is not None
    stream = loaded.generate(GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=400)))
    with pytest.raises(EngineCrashed) as raised, stream:
        for i, _ in enumerate(stream):
            if i == 2:
                os.kill(pid, how)
    assert how.name in raised.value.message and "next request" in raised.value.message
    assert loaded.loaded is None
    loaded.load(installed_starter.path, context_length=2048)
    assert loaded.pid not in (None, pid)
    with loaded.generate(
        GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=8))
    ) as stream:
        assert "".join(stream)


def test_generating_with_no_model_loaded_is_a_clear_error(engine: EngineClient) -> None:
    with (
        pytest.raises(NoModelLoaded, match="No model is loaded"),
        engine.generate(GenerationRequest(messages=STORY)) as stream,
    ):
        list(stream)


def test_a_prompt_longer_than_the_context_is_refused(
    engine: EngineClient, installed_starter: InstalledModel
) -> None:
    engine.load(installed_starter.path, context_length=64)
    long = (ChatMessage("user", "lighthouse " * 200),)
    with (
        pytest.raises(ContextOverflow, match="context window"),
        engine.generate(GenerationRequest(messages=long)) as s,
    ):
        list(s)
    with engine.generate(
        GenerationRequest(messages=(ChatMessage("user", "hi"),), sampling=Sampling(max_tokens=4))
    ) as s:
        assert s.stats is None
        list(s)
    assert s.stats is not None


def test_a_cut_off_model_fails_to_load_and_the_app_survives(
    engine: EngineClient, installed_starter: InstalledModel, half_model: Path
) -> None:
    # Past the import check (a file swapped on disk, say), llama.cpp itself refuses it.
    with pytest.raises(ModelLoadFailed, match=r"Could not load cut\.gguf"):
        engine.load(half_model, context_length=512)
    info = engine.load(installed_starter.path, context_length=512)  # still works afterwards
    assert info.layers == 30


def test_tokenize_uses_the_models_tokenizer(loaded: EngineClient) -> None:
    tokens = loaded.tokenize("Hello world")
    assert 1 <= len(tokens) <= 4
    assert loaded.tokenize("Hello world, hello world") != tokens


def test_an_engine_that_died_while_idle_is_replaced_by_the_next_request(
    loaded: EngineClient, installed_starter: InstalledModel
) -> None:
    pid = loaded.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while loaded.loaded is not None and time.monotonic() < deadline:  # the client notices
        time.sleep(0.01)
    assert loaded.loaded is None and loaded.pid is None
    info = loaded.load(installed_starter.path, context_length=1024)
    assert info.context_length == 1024 and loaded.pid not in (None, pid)
    assert loaded.tokenize("still here")


def test_chunks_fit_the_models_own_token_count(loaded: EngineClient) -> None:
    """The writing tools cut long documents with the model's tokenizer: every chunk, counted
    by the model itself, is within the budget, and together they are the whole text."""
    paragraph = (
        "The keeper trimmed the wicks at dusk, wound the clockwork that turned the lens, and "
        "wrote down the ships: a collier at seven, two trawlers at nine, a liner at midnight. "
    )
    text = "\n\n".join(f"Night {n}. " + paragraph * (1 + n % 4) for n in range(60))

    def count(piece: str) -> int:
        return len(loaded.tokenize(piece))

    assert count(text) > 5 * 512  # several chunks' worth
    chunks = split_into_chunks(text, 512, count)
    assert "".join(chunk.text for chunk in chunks) == text
    assert all(count(chunk.text) == chunk.tokens <= 512 for chunk in chunks)
    assert all(chunk.text.rstrip().endswith(".") for chunk in chunks)  # never mid-sentence
    assert len(chunks) <= count(text) // 512 + 2  # filled, not scattered
