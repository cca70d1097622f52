"""From the engine's blocking stream to the server's event loop, which must never block: the
work runs in a thread of its own and hands each piece to the loop as it comes (`PieceFeed`);
a client that hangs up cancels the work at once (`cancelled_if_client_leaves`), so that the
engine is free for the next request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio
from starlette.types import Receive

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class _Ended:
    error: BaseException | None


class PieceFeed(Generic[T]):
    """`items` iterated in a thread of its own, each handed to this event loop; `next()`
    gives them in order (None at the end, or raises the work's error). `aclose()` stops the
    work with `cancel` and waits for its thread to end."""

    def __init__(self, items: Iterable[T], cancel: Callable[[], None], name: str) -> None:
        self._cancel = cancel
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[T | _Ended] = asyncio.Queue()
        self._ended = False
        threading.Thread(target=self._produce, args=(items,), name=name, daemon=True).start()

    def _produce(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                self._hand(item)
        except BaseException as exc:  # raised where the loop reads it
            self._hand(_Ended(exc))
        else:
            self._hand(_Ended(None))

    def _hand(self, item: T | _Ended) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server has stopped
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def next(self) -> T | None:
        if self._ended:
            return None
        item = await self._queue.get()
        if isinstance(item, _Ended):
            self._ended = True
            if item.error is not None:
                raise item.error
            return None
        return item

    async def __aiter__(self) -> AsyncIterator[T]:
        while (item := await self.next()) is not None:
            yield item

    async def aclose(self) -> None:
        """Stop the work and wait until its thread is done (also while being cancelled)."""
        if self._ended:
            return
        self._cancel()
        with anyio.CancelScope(shield=True):
            while not self._ended:
                try:
                    await self.next()
                except Exception as exc:  # its client has gone: nobody to tell
                    log.info("Work stopped for a client that left ended with: %r", exc)


async def run_in_thread(work: Callable[[], T], cancel: Callable[[], None], name: str) -> T:
    """`work()` in a thread of its own, awaited; `cancel` stops it if this is cancelled."""
    feed = PieceFeed(_called(work), cancel, name)
    try:
        result = await feed.next()
    finally:
        await feed.aclose()
    assert result is not None
    return result


def _called(work: Callable[[], T]) -> Iterator[T]:
    yield work()


@contextlib.asynccontextmanager
async def cancelled_if_client_leaves(
    receive: Receive, cancel: Callable[[], None]
) -> AsyncIterator[None]:
    """While the block runs, a client that hangs up calls `cancel()` at once. The request's
    body must have been read: what is received next is whether the client left."""

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        cancel()

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
