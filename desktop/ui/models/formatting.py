"""Numbers as the Models page shows them: sizes, counts, speeds, times left."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QLocale

UNKNOWN = "\N{EN DASH}"  # in a table cell, for a figure the Hub does not give


def size_text(n_bytes: int) -> str:
    """'98.4 MB', '4.7 GB': decimal units, as the Hub and disk tools show them."""
    return QLocale().formattedDataSize(n_bytes, 1, QLocale.DataSizeFormat.DataSizeSIFormat)


def count_text(n: int) -> str:
    """'5,000', '1.2 M': how many downloads or likes."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} M"
    return f"{n:,}"


def parameters_text(billions: float) -> str:
    """'135 M', '7 B', '1.5 B' parameters."""
    if billions < 1:
        return f"{billions * 1000:.0f} M"
    return f"{billions:.1f} B".replace(".0 B", " B")


def tokens_text(n: int | None) -> str:
    """A context length: '8,192 tokens', or a dash when unknown."""
    return f"{n:,} tokens" if n else UNKNOWN


# A count that waits for its model to be loaded by a run (loading it for a count alone
# would unload another model).
NOT_COUNTED_YET = "tokens counted once the model is loaded"


def token_count_text(n: int, *, estimated: bool = False) -> str:
    """'946 tokens'; '≈ 946 tokens' for an estimate (a server without a tokenizer to ask)."""
    return f"{'≈ ' if estimated else ''}{n:,} token{'' if n == 1 else 's'}"


def speed_text(bytes_per_second: float) -> str:
    return f"{size_text(int(bytes_per_second))}/s"


def time_left_text(seconds: float | None) -> str:
    """'40 s left', '3 min left', '1 h 5 min left'; '' when unknown."""
    if seconds is None:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min left"
    return f"{minutes // 60} h {minutes % 60} min left"


def stats_line(stats: Mapping[str, Any]) -> str:
    """'42 tokens · 95.3 tok/s · first token 0.15 s · prompt 38 tokens' from a turn's stats."""
    parts = [f"{stats.get('generated_tokens', 0)} tokens"]
    if (speed := stats.get("generation_tokens_per_s")) is not None:
        parts.append(f"{speed:.1f} tok/s")
    if (first := stats.get("time_to_first_token_s")) is not None:
        parts.append(f"first token {first:.2f} s")
    if (prompt := stats.get("prompt_tokens")) is not None:
        cached = stats.get("cached_prompt_tokens") or 0
        parts.append(f"prompt {prompt} tokens" + (f" ({cached} cached)" if cached else ""))
    return " · ".join(parts)
