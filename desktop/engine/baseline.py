"""The benchmark's baseline: llama-cpp-python used directly, as a plain script would, in one
process of its own (so the app process still never maps model weights)."""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from typing import Any


def run_baseline(
    conn: Connection, model_path: str, context_length: int, threads: int, gpu_layers: int
) -> None:
    """Load the model, then answer each (messages, sampling) with its timings until None."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=model_path,
        n_ctx=context_length,
        n_threads=threads,
        n_threads_batch=threads,
        n_gpu_layers=gpu_layers,
        verbose=False,
    )
    while (job := conn.recv()) is not None:
        messages, sampling = job
        conn.send(_timed_chat(llm, messages, sampling))
    llm.close()


def _timed_chat(
    llm: Any, messages: list[dict[str, str]], sampling: dict[str, Any]
) -> dict[str, Any]:
    started = time.perf_counter()
    first_at = None
    prompt_tokens = 0
    finish_reason = None
    text = []
    for chunk in llm.create_chat_completion(messages, stream=True, **sampling):
        choice = chunk["choices"][0]
        content = choice["delta"].get("content")
        if content:
            if first_at is None:
                first_at = time.perf_counter()
                prompt_tokens = llm.n_tokens  # only the prompt is evaluated before the first token
            text.append(content)
        finish_reason = choice["finish_reason"] or finish_reason
    ended = time.perf_counter()
    generated = llm.n_tokens - prompt_tokens + (finish_reason == "length")
    return {
        "started": started,
        "first_at": first_at or ended,
        "ended": ended,
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated,
        "text": "".join(text),
    }
