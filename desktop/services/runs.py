"""The contract of every long job a service starts (a chat turn, a summary, a translation, a
Playground run): a run. The GUI's one worker (`ui/runs.py`) and the CLI drive any of them the
same way:

- iterate it for its events, as they happen (in a thread of their own: it blocks);
- `cancel()` from any thread: the run stops at its next step, keeps what it has, and its
  iteration ends normally;
- `outcome`, set once the iteration has ended (also when it raised after it had saved
  something: a failed summary keeps the text written so far), None before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar

# A run saves what it has written at least this often, so that a crash loses little of it.
FLUSH_INTERVAL_S = 0.5

EventT_co = TypeVar("EventT_co", covariant=True)
OutcomeT_co = TypeVar("OutcomeT_co", covariant=True)


class ServiceRun(Protocol[EventT_co, OutcomeT_co]):
    @property
    def outcome(self) -> OutcomeT_co | None: ...

    def __iter__(self) -> Iterator[EventT_co]: ...

    def cancel(self) -> None: ...
