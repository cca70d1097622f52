"""The words a chat message shows around its text: the status of an answer cut short, the note
about messages left out of the context window, and the stats of an answer. Qt-free, so that
the wording is tested without widgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUS_LINES = {
    "streaming": "Writing…",
    "stopped": "Stopped",
    "interrupted": "Interrupted by a crash",
    "failed": "Failed",
}
CONTINUABLE = frozenset({"stopped", "interrupted"})


def status_line(status: str, error: str | None = None) -> str | None:
    """The line under an answer that is not complete; None for a complete one."""
    line = STATUS_LINES.get(status)
    if line is None:
        return None
    if status == "failed" and error and error.strip():
        return f"{line}: {error.strip()}"
    return line


def can_continue(status: str) -> bool:
    """An answer cut short by Stop or by a crash can be written on from where it ended."""
    return status in CONTINUABLE


def dropped_note(stats: Mapping[str, Any] | None) -> str | None:
    """'3 earlier messages were left out…' when the prompt had to leave some out; else None."""
    dropped = int((stats or {}).get("dropped_messages") or 0)
    if dropped <= 0:
        return None
    if dropped == 1:
        return "1 earlier message was left out to fit the model's context window"
    return f"{dropped} earlier messages were left out to fit the model's context window"


def stats_tooltip(model_id: str | None, stats: Mapping[str, Any] | None) -> str:
    """One line per known figure: model, tokens, speed, first token, prompt (cached)."""
    stats = stats or {}
    lines = [f"Model: {model_id or 'unknown'}"]
    if (tokens := stats.get("generated_tokens")) is not None:
        lines.append(f"Tokens: {tokens}")
    if (speed := stats.get("generation_tokens_per_s")) is not None:
        lines.append(f"Speed: {speed:.1f} tokens/s")
    if (first := stats.get("time_to_first_token_s")) is not None:
        lines.append(f"Time to first token: {first:.2f} s")
    if (prompt := stats.get("prompt_tokens")) is not None:
        cached = stats.get("cached_prompt_tokens") or 0
        lines.append(f"Prompt: {prompt} tokens" + (f" ({cached} cached)" if cached else ""))
    if (window := stats.get("context_length")) is not None:
        lines.append(f"Context window: {window} tokens")
    return "\n".join(lines)
