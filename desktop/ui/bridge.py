"""QObject adapters over the Qt-free services, so that blocking work stays off the GUI thread.

Two shapes: `ChatRun`, a worker object moved to its own QThread that streams one chat turn,
and `run_in_background()`, for short reads (conversation list, a conversation, the models)
on a QThreadPool. Both report through signals only; neither touches a widget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, Signal, Slot

from desktop.errors import LanternError
from desktop.services.chat import ChatService, ChatTurn, ConversationParameters, TurnOutcome
from desktop.store.repositories import MessageRecord

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """The sentence to show for an error: our own message, or a pointer to the log for a bug."""
    if isinstance(exc, LanternError):
        return exc.message
    return f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the log file."


@dataclass(frozen=True)
class TurnStart:
    """What a turn began with, read in the worker: the user's message the answer follows, the
    answer as stored (empty, or the text so far when continuing), and their branch positions."""

    conversation_id: int
    user: MessageRecord
    answer: MessageRecord
    user_branch: tuple[int, int]
    answer_branch: tuple[int, int]


class ChatRun(QObject):
    """One chat turn: starting it (a database write) and the streamed answer, both in a worker
    thread. `start` is any call that returns a ChatTurn (`chat.send`, `chat.regenerate`,
    `chat.edit`, `chat.continue_answer`); `ChatRun.sending(...)` builds the one for `send`.

    Emits `started` (a TurnStart) once the user's message is stored, `model_ready` once the
    model is loaded (which can take seconds), `token` per piece of the answer, then
    exactly one of `finished` (the TurnOutcome; stopped answers too) or `failed` (a message).
    """

    started = Signal(object)  # TurnStart
    model_ready = Signal()  # the model is loaded; the answer comes next
    token = Signal(str)
    finished = Signal(object)  # TurnOutcome
    failed = Signal(str)

    def __init__(self, chat: ChatService, start: Callable[[], ChatTurn]) -> None:
        super().__init__()
        self._chat = chat
        self._start = start
        # Stop may come before start() has returned a turn; remember it and apply it then.
        self._lock = threading.Lock()
        self._cancelled = False
        self._turn: ChatTurn | None = None

    @classmethod
    def sending(
        cls,
        chat: ChatService,
        text: str,
        *,
        conversation_id: int | None,
        model_id: str | None,
        max_tokens: int | None = None,
        parameters: ConversationParameters | None = None,
    ) -> ChatRun:
        return cls(
            chat,
            lambda: chat.send(
                text,
                conversation_id=conversation_id,
                model_id=model_id,
                max_tokens=max_tokens,
                parameters=parameters,
            ),
        )

    @property
    def outcome(self) -> TurnOutcome | None:
        """Set by the service before `finished` or `failed` is emitted (None if send() failed)."""
        turn = self._turn
        return turn.outcome if turn is not None else None

    def cancel(self) -> None:
        """Thread-safe: called from the GUI thread while `run()` iterates in the worker."""
        with self._lock:
            self._cancelled = True
            turn = self._turn
        if turn is not None:
            turn.cancel()

    @Slot()
    def run(self) -> None:
        try:
            turn = self._start()
            begun = TurnStart(
                turn.conversation.id,
                turn.user_message,
                self._chat.messages.get(turn.answer_id),
                self._chat.branches(turn.user_message.id),
                self._chat.branches(turn.answer_id),
            )
        except BaseException as exc:
            self._fail(exc)
            return
        with self._lock:
            self._turn = turn
            cancelled = self._cancelled
        if cancelled:
            turn.cancel()
        self.started.emit(begun)
        try:
            turn.load_model()  # apart from the answer, so the window can say "Loading…"
            self.model_ready.emit()
            for piece in turn:
                self.token.emit(piece)
        except BaseException as exc:  # the service has already saved the partial answer
            self._fail(exc)
            return
        self.finished.emit(turn.outcome)

    def _fail(self, exc: BaseException) -> None:
        if not isinstance(exc, LanternError):
            log.exception("Chat turn failed", exc_info=exc)
        self.failed.emit(user_message(exc))


def worker_thread(worker: Any, owner: QObject, name: str) -> QThread:
    """A new thread, not yet started, that runs `worker.run` and quits when the worker
    emits `finished` or `failed`. Connect to its `finished` before calling `start()`. A
    child of `owner`, so that it can be found (`owner.findChildren(QThread)`) until the
    owner deletes it."""
    thread = QThread(owner)
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: quit() is thread-safe, and a queued call would wait for the GUI thread, which
    # may itself be waiting for this thread (closing the window).
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    return thread


def chat_thread(run: ChatRun, owner: QObject) -> QThread:
    return worker_thread(run, owner, "lantern-chat-turn")


class _Relay(QObject):
    """Lives in the GUI thread; signals emitted from the pool arrive here queued, so the
    callbacks run on the GUI thread (Anki's taskman pattern)."""

    done = Signal(object)
    error = Signal(object)  # the exception

    def __init__(
        self, on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]
    ) -> None:
        super().__init__()
        self._on_done = on_done
        self._on_error = on_error
        self.done.connect(self._deliver_done)
        self.error.connect(self._deliver_error)

    @Slot(object)
    def _deliver_done(self, result: object) -> None:
        _pending.discard(self)
        self._on_done(result)

    @Slot(object)
    def _deliver_error(self, error: BaseException) -> None:
        _pending.discard(self)
        self._on_error(error)


# Relays waiting for their task; kept here so that Python does not collect them mid-flight.
_pending: set[_Relay] = set()


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:
            if not isinstance(exc, LanternError):
                log.exception("Background task failed", exc_info=exc)
            self._relay.error.emit(exc)
        else:
            self._relay.done.emit(result)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
    *,
    pool: QThreadPool | None = None,
) -> None:
    """Run `fn()` on a pool thread; then `on_done(result)` or `on_error(exception)` on the GUI
    thread (`error_text(exception)` is what to show).

    Call from the GUI thread. Pass the window's own pool so that closing it can wait for it.
    """
    relay = _Relay(on_done, on_error)
    _pending.add(relay)
    (pool or QThreadPool.globalInstance()).start(_Task(fn, relay))


class BackgroundTasks:
    """The reads and writes of one window, on the window's pool. After `close()` nothing new
    starts and results still on their way are dropped: the widgets they were for are closing.
    The window waits for the pool itself (`QThreadPool.waitForDone`)."""

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self.closed = False

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        if self.closed:
            return  # the pool is being joined; nothing may start on it now

        def deliver(result: Any) -> None:
            if not self.closed:
                on_done(result)

        def fail(error: BaseException) -> None:
            if not self.closed:
                on_error(error)

        run_in_background(fn, deliver, fail, pool=self._pool)

    def close(self) -> None:
        self.closed = True
