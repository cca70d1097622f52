"""A chat streamed from an OpenAI-compatible server through the official `openai` client, as
the server benchmarks ask it: every sampling field named (two servers with other defaults
then sample alike; greedy gives both the same answer), and when each piece of text came."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionChunk

    from desktop.engine.protocol import Sampling


def chat_chunks(
    client: openai.OpenAI, model: str, question: str, sampling: Sampling, *, usage: bool = False
) -> Iterator[ChatCompletionChunk]:
    """The streamed answer's chunks; with `usage`, a last one with the server's token counts
    (a server that does not know the option sends none)."""
    options = {"stream_options": {"include_usage": True}} if usage else {}
    return iter(
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": question}],
            stream=True,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            extra_body={
                "top_k": sampling.top_k,
                "min_p": sampling.min_p,
                "repeat_penalty": sampling.repeat_penalty,
            },
            **options,
        )
    )


def pieces(chunks: Iterable[ChatCompletionChunk]) -> Iterator[str]:
    """The text of each chunk (empty where a chunk has none)."""
    for chunk in chunks:
        if chunk.choices:
            yield chunk.choices[0].delta.content or ""


@dataclass(frozen=True)
class TimedAnswer:
    sent_at: float  # time.perf_counter() as the request left
    arrivals: tuple[float, ...]  # as each chunk with text came
    text: str
    completion_tokens: int | None  # the server's count, where it sent usage

    @property
    def first_token_s(self) -> float:
        return self.arrivals[0] - self.sent_at

    def decode_tok_per_s(self, tokens: int) -> float:
        """Decode speed as the client sees it, for an answer of `tokens` tokens: those after
        the first over the time from the first piece to the last (a server may send several
        tokens in one chunk, so chunks are not counted)."""
        if len(self.arrivals) < 2:
            raise SystemExit("the server sent fewer than 2 pieces: nothing to time")
        return (tokens - 1) / (self.arrivals[-1] - self.arrivals[0])


def timed_chat(
    client: openai.OpenAI, model: str, question: str, sampling: Sampling, *, usage: bool = False
) -> TimedAnswer:
    sent_at = time.perf_counter()
    arrivals, text, tokens = [], [], None
    for chunk in chat_chunks(client, model, question, sampling, usage=usage):
        piece = chunk.choices[0].delta.content if chunk.choices else None
        if piece:
            arrivals.append(time.perf_counter())
            text.append(piece)
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    if not arrivals:
        raise SystemExit("the server sent no text")
    return TimedAnswer(sent_at, tuple(arrivals), "".join(text), tokens)
