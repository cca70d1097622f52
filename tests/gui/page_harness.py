"""A page of the window on its own, as the GUI tests open one: made on BackgroundTasks of its
own, shown and started; afterwards shut down as the window does on close, with no thread of
its left running."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from PySide6.QtCore import QThread, QThreadPool

from desktop.ui.bridge import BackgroundTasks
from desktop.ui.page import Page

P = TypeVar("P", bound=Page)


@contextmanager
def page_on_its_own(
    qtbot, make: Callable[[BackgroundTasks], P], size: tuple[int, int] = (1100, 800)
) -> Iterator[P]:
    pool = QThreadPool()
    tasks = BackgroundTasks(pool)
    page = make(tasks)
    qtbot.addWidget(page)
    page.resize(*size)
    page.show()
    page.start()
    yield page
    page.shutdown()
    tasks.close()
    pool.waitForDone()
    assert [thread for thread in page.findChildren(QThread) if thread.isRunning()] == []
