"""Settings the user changes in the window, saved in the background: one write at a time, the
latest value of each setting last, since the pool could finish two quick writes (Ctrl+-
pressed twice, a port typed digit by digit) in either order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks


class SettingsWriter:
    def __init__(
        self,
        lantern: Lantern,
        tasks: BackgroundTasks,
        on_error: Callable[[BaseException], None],
    ) -> None:
        self._lantern = lantern
        self._tasks = tasks
        self._on_error = on_error
        self._unsaved: dict[str, Any] = {}  # changed here, not yet written
        self._saving = False

    def save(self, **changes: Any) -> None:
        self._unsaved.update(changes)
        if not self._saving:
            self._write_next()

    def _write_next(self) -> None:
        changes, self._unsaved = self._unsaved, {}
        self._saving = bool(changes)
        if changes:
            self._tasks.run(
                lambda: self._lantern.change_settings(**changes),
                lambda _: self._write_next(),
                self._not_saved,
            )

    def _not_saved(self, error: BaseException) -> None:
        self._saving = False
        self._on_error(error)
