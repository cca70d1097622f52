"""What every page of the window is: a QWidget made with the Lantern and the window's
BackgroundTasks, that the window starts, tells about the models it can run on (installed and
remote), and shuts down.
The views inside a page that read and write through the Lantern (the Models page's tabs, the
chat's sidebar) are LanternWidgets: made the same way, without the page's calls.

A new page subclasses Page in a sub-package of its own (`ui/<page>/page.py`), fills in what
it needs of the three calls below, and is added to the window's page table (main_window.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.models import ModelOption
    from desktop.ui.bridge import BackgroundTasks


class LanternWidget(QWidget):
    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks  # the window's reads and writes, off the GUI thread


class Page(LanternWidget):
    def start(self) -> None:
        """The window is built: read what the page shows first (in the background)."""

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        """The models a feature can run on (installed, then the remotes'), read at start and
        again whenever they change."""

    def shutdown(self) -> None:
        """The window is closing: stop the page's run and wait for its thread."""
