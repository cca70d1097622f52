"""How long the GUI thread stops answering while an answer streams into the chat view: the
gaps between ticks of a 1 ms timer in the event loop (a gap is time the loop spent elsewhere:
rendering, laying out and painting the answer).

A ChatView in a shown 1000x700 window holds a conversation of N messages whose answers are
long Markdown (headings, lists, tables, fenced code); then an answer streams in at a steady
rate, in pieces of 1 to 6 characters as a tokenizer cuts them. Two cases, in turn: a
2,000-token answer (Markdown with code blocks, at 80 tokens/s), and an answer that is mostly
one 400-line Python block (at 200 tokens/s), whose last block keeps growing for the whole
stream. The pieces come from a worker QThread through a queued signal, as a PageRun relays a
chat run's text pieces (desktop/ui/runs.py), into `begin_answer` / `append_answer` /
`end_answer`. No model runs: its speed is not what is measured here, the GUI's is, so the
tokens come at a fixed rate.

Targets (issue): no stall over 50 ms, and 99% of stalls under 16 ms. The p99 is given over
all the timer's gaps, and over the "busy" gaps alone (those over 2 ms: the ones in which the
loop did some work, each update of the answer among them); most gaps are a quiet 1 ms, so
the first alone would pass with one update in ten over 16 ms. PASS needs both under 16 ms.
The noise floor is the same timer while the loop idles for a second. "In all" is the GUI
thread's time the busy gaps add up to.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/chat_stream_stall.py [--case long-code]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, Qt, QThread, QTimer, Signal, SignalInstance, Slot

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chat_samples import (
    MOMENT,
    conversation,
    long_code_answer,
    shown_chat_view,
    streamed_answer,
    tokens,
)

from desktop.store.repositories import MessageRecord
from desktop.ui.chat.view import ChatView

LONGEST_STALL_TARGET_MS = 50.0
P99_STALL_TARGET_MS = 16.0
BUSY_GAP_MS = 2.0  # a gap longer than this is time the loop spent on something


class StallMeter:
    """Every gap between ticks of a 1 ms timer."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._tick)
        self._last = time.perf_counter()
        self.gaps: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        self._tick()
        return self.gaps


class TokenSource(QObject):
    """In a worker thread: emits the pieces at `rate` per second, as a PageRun relays them."""

    token = Signal(str)
    finished = Signal()

    def __init__(self, pieces: list[str], rate: float) -> None:
        super().__init__()
        self._pieces = pieces
        self._interval = 1.0 / rate

    @Slot()
    def run(self) -> None:
        start = time.perf_counter()
        for n, piece in enumerate(self._pieces):
            delay = start + n * self._interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.token.emit(piece)
        self.finished.emit()


def run_loop(until: SignalInstance | None = None, seconds: float = 300) -> float:
    """Runs the event loop until `until` is emitted, or for `seconds`."""
    loop = QEventLoop()
    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(loop.quit)
    timeout.start(int(seconds * 1000))
    if until is not None:
        until.connect(loop.quit)
    start = time.perf_counter()
    loop.exec()
    elapsed = time.perf_counter() - start
    if until is not None:
        until.disconnect(loop.quit)
        if not timeout.isActive():
            raise TimeoutError("the answer never finished streaming")
    return elapsed


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(gaps: list[float]) -> dict[str, float | int]:
    ms = [gap * 1000 for gap in gaps]
    busy = [gap for gap in ms if gap > BUSY_GAP_MS]
    return {
        "gaps": len(ms),
        "longest_ms": round(max(ms, default=0.0), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "p50_ms": round(statistics.median(ms) if ms else 0.0, 2),
        "over_16_ms": sum(gap > 16 for gap in ms),
        "over_50_ms": sum(gap > 50 for gap in ms),
        "busy_gaps": len(busy),
        "busy_p99_ms": round(percentile(busy, 0.99), 1),
        "busy_p50_ms": round(statistics.median(busy) if busy else 0.0, 1),
        # The GUI thread's time spent on the answer: each busy gap past the timer's own 1 ms.
        "busy_total_s": round(sum(gap - 1 for gap in busy) / 1000, 2),
    }


@dataclasses.dataclass(frozen=True)
class Case:
    """One streamed answer: what it is, its pieces, and how fast they come."""

    name: str
    description: str
    pieces: list[str]
    rate: float


def cases(args: argparse.Namespace) -> list[Case]:
    chosen = []
    if args.case in ("answer", "both"):
        chosen.append(
            Case("answer", "Markdown with code blocks", streamed_answer(args.tokens), args.rate)
        )
    if args.case in ("long-code", "both"):
        text = long_code_answer(args.code_lines)
        chosen.append(
            Case(
                "long-code",
                f"one {args.code_lines}-line code block",
                tokens(text, random.Random(7)),
                args.code_rate,
            )
        )
    return chosen


def measure(view: ChatView, case: Case, history: list[MessageRecord]) -> dict[str, Any]:
    """Streams `case` as the next answer after `history`; the event loop's gaps meanwhile."""
    view.show_messages(history)
    run_loop(seconds=0.5)
    last = history[-1] if history else None
    user = MessageRecord(
        2, 1, last.id if last else None, "user", "One more, please?", "complete",
        None, None, None, MOMENT, MOMENT,
    )  # fmt: skip
    answer = MessageRecord(
        3, 1, user.id, "assistant", "", "streaming", "bench-model", None, None, MOMENT, MOMENT
    )

    source = TokenSource(case.pieces, case.rate)
    thread = QThread()
    source.moveToThread(thread)
    thread.started.connect(source.run)
    source.token.connect(view.append_answer)  # queued: the source lives in the worker

    meter = StallMeter()
    meter.start()
    view.add_user_message(user)
    view.begin_answer(answer)
    thread.start()
    streamed = run_loop(until=source.finished)
    expected = "".join(case.pieces)
    view.end_answer(dataclasses.replace(answer, content=expected, status="complete"))
    run_loop(seconds=0.1)  # the last layout and paint
    stream_gaps = meter.stop()
    thread.quit()
    thread.wait()

    if view.widgets()[-1].text() != expected:
        raise SystemExit("the streamed answer does not show the whole text")

    meter.start()
    run_loop(seconds=1.0)
    idle_gaps = meter.stop()

    stream = summary(stream_gaps)
    idle = summary(idle_gaps)
    longest_ok = float(stream["longest_ms"]) <= LONGEST_STALL_TARGET_MS
    p99_ok = max(float(stream["p99_ms"]), float(stream["busy_p99_ms"])) < P99_STALL_TARGET_MS
    return {
        "case": case.name,
        "answer": case.description,
        "streamed_tokens": len(case.pieces),
        "streamed_chars": len(expected),
        "rate_tokens_per_s": case.rate,
        "streaming_s": round(streamed, 2),
        "stream": stream,
        "idle": idle,
        "longest_stall_target": "PASS" if longest_ok else "FAIL",
        "p99_stall_target": "PASS" if p99_ok else "FAIL",
    }


def report(result: dict[str, Any], messages: int) -> None:
    stream, idle = result["stream"], result["idle"]
    print(
        f"[{result['case']}] {result['streamed_tokens']} tokens ({result['streamed_chars']} "
        f"characters, {result['answer']}) streamed at {result['rate_tokens_per_s']:g} tokens/s "
        f"in {result['streaming_s']} s, after {messages} messages of long Markdown."
    )
    print(
        f"Event-loop gaps ({stream['gaps']} ticks of a 1 ms timer): longest "
        f"{stream['longest_ms']} ms, p99 {stream['p99_ms']} ms, p50 {stream['p50_ms']} ms; "
        f"{stream['over_16_ms']} over 16 ms, {stream['over_50_ms']} over 50 ms."
    )
    print(
        f"Busy gaps (over {BUSY_GAP_MS:g} ms, {stream['busy_gaps']} of them): p99 "
        f"{stream['busy_p99_ms']} ms, p50 {stream['busy_p50_ms']} ms, "
        f"{stream['busy_total_s']} s in all. Idle loop: longest {idle['longest_ms']} ms."
    )
    print(
        f"Target: longest stall <= {LONGEST_STALL_TARGET_MS:g} ms: "
        f"{result['longest_stall_target']}; 99% of stalls under {P99_STALL_TARGET_MS:g} ms: "
        f"{result['p99_stall_target']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        choices=("answer", "long-code", "both"),
        default="both",
        help="the Markdown answer, one long code block, or both in turn",
    )
    parser.add_argument("--messages", type=int, default=40, help="already in the conversation")
    parser.add_argument("--tokens", type=int, default=2000, help="of the streamed answer")
    parser.add_argument("--rate", type=float, default=80.0, help="tokens per second")
    parser.add_argument("--code-lines", type=int, default=400, help="of the long code block")
    parser.add_argument(
        "--code-rate", type=float, default=200.0, help="tokens per second of the long code block"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    window, view = shown_chat_view()
    history = conversation(args.messages, long=True)
    results = [measure(view, case, history) for case in cases(args)]
    window.close()

    if args.json:
        print(json.dumps({"messages_before": args.messages, "cases": results}, indent=2))
        return
    for result in results:
        report(result, args.messages)


if __name__ == "__main__":
    main()
