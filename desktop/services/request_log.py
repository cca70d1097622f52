"""The API server's request log: the last requests, with who asked, what for, how it went and
how fast; what they said (prompt and answer) only while the user has that turned on. Kept in
memory, for the window to show live (a listener hears each entry as it is recorded)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

DEFAULT_SIZE = 500  # entries kept
CONTENT_LIMIT_CHARS = 64_000  # of a request's or an answer's text, when contents are kept


@dataclass(frozen=True)
class RequestLogEntry:
    at: datetime  # when the request came
    client: str  # its address and port
    method: str
    endpoint: str  # the path asked for: /v1/chat/completions
    status: int  # the HTTP status answered
    duration_s: float
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_per_s: float | None = None  # the answer's, as it was generated
    # How the answer ended: "stop", "length", or "cancelled" (the client left first).
    finish_reason: str | None = None
    error: str | None = None  # what an error answer said
    request_text: str | None = None  # the request's body: only with contents kept
    response_text: str | None = None  # the answer's text: only with contents kept


RequestLogListener = Callable[[RequestLogEntry], None]


class RequestLog:
    """Thread-safe. Listeners are called on the server's thread, as each entry is recorded:
    they must return at once (the window's hands the entry to its own thread)."""

    def __init__(self, size: int = DEFAULT_SIZE, *, keep_contents: bool = False) -> None:
        # Whether requests' and answers' text is kept: the server reads it at each request.
        self.keep_contents = keep_contents
        self._entries: deque[RequestLogEntry] = deque(maxlen=size)
        self._listeners: list[RequestLogListener] = []
        self._lock = threading.Lock()

    def record(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(entry)
            except Exception:  # a listener's bug must not fail the request it logs
                log.exception("A request log listener failed")

    def entries(self) -> list[RequestLogEntry]:
        """The entries kept, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def subscribe(self, listener: RequestLogListener) -> Callable[[], None]:
        """Call `listener` with each entry from now on; the function returned stops that."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe


def clipped(text: str) -> str:
    """A request's or answer's text as the log keeps it: at most CONTENT_LIMIT_CHARS."""
    if len(text) <= CONTENT_LIMIT_CHARS:
        return text
    return text[:CONTENT_LIMIT_CHARS] + f"… ({len(text) - CONTENT_LIMIT_CHARS:,} more characters)"
