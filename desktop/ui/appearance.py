"""The application's look: light, dark or the desktop's own scheme, and the text size.

`Appearance` applies them to the application: the colour scheme is asked of the platform
first (Windows, macOS and GNOME honour it); the palette is set as well, because not every
platform does. Widgets that draw their own colours (answers' Markdown, code highlighting)
follow the palette's change events. `AppearanceChoice` is what the user chose in the View
menu: applied at once, saved for the next start, read back at start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from desktop.settings import FONT_SIZES, Settings
from desktop.ui.settings_writer import SettingsWriter

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}

ROLE = QPalette.ColorRole
GROUP = QPalette.ColorGroup

# A dark palette after Fusion's own (Qt's dark Fusion on Linux and Windows).
_DARK = {
    ROLE.Window: "#2b2b2b",
    ROLE.WindowText: "#e6e6e6",
    ROLE.Base: "#1e1e1e",
    ROLE.AlternateBase: "#333333",
    ROLE.ToolTipBase: "#3c3c3c",
    ROLE.ToolTipText: "#e6e6e6",
    ROLE.PlaceholderText: "#9a9a9a",
    ROLE.Text: "#e6e6e6",
    ROLE.Button: "#353535",
    ROLE.ButtonText: "#e6e6e6",
    ROLE.BrightText: "#ff6b6b",
    ROLE.Light: "#4a4a4a",
    ROLE.Midlight: "#404040",
    ROLE.Mid: "#2f2f2f",
    ROLE.Dark: "#1a1a1a",
    ROLE.Shadow: "#000000",
    ROLE.Highlight: "#3d7bd9",
    ROLE.HighlightedText: "#ffffff",
    ROLE.Link: "#6cb4ff",
    ROLE.LinkVisited: "#b493ff",
}
_DARK_DISABLED = {
    ROLE.WindowText: "#7a7a7a",
    ROLE.Text: "#7a7a7a",
    ROLE.ButtonText: "#7a7a7a",
    ROLE.Highlight: "#4a4a4a",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in _DARK.items():
        palette.setColor(role, QColor(colour))
    for role, colour in _DARK_DISABLED.items():
        palette.setColor(GROUP.Disabled, role, QColor(colour))
    return palette


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    return style.standardPalette() if style is not None else QPalette()


_instance: Appearance | None = None


def appearance() -> Appearance:
    """The application's one Appearance (the first call must come before any theme is set)."""
    global _instance
    if _instance is None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        _instance = Appearance(app)
    return _instance


class Appearance:
    """Applies a theme ("system", "light", "dark") and a text size (points, or None for the
    desktop's) to the application. Made once, before the first window, so that it knows the
    desktop's own palette and font to go back to."""

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._system_font = app.font()

    @property
    def system_point_size(self) -> int:
        return max(1, round(self._system_font.pointSizeF()))

    def apply(self, theme: str, font_size: int | None) -> None:
        hints = self._app.styleHints()
        if theme == "dark":
            hints.setColorScheme(Qt.ColorScheme.Dark)
            self._app.setPalette(dark_palette())
        elif theme == "light":
            hints.setColorScheme(Qt.ColorScheme.Light)
            self._app.setPalette(light_palette())
        else:
            hints.unsetColorScheme()
            # A palette that sets no colour follows the desktop's, and its later changes.
            self._app.setPalette(QPalette())
        font = QFont(self._system_font)
        if font_size is not None:
            font.setPointSize(font_size)
        self._app.setFont(font)


class AppearanceChoice(QObject):
    """The theme and text size the user chooses: applied at once and saved in the background.
    At start the saved ones are read and applied, unless the user chose first (theirs is
    newer). `theme_changed` says the theme applied, for the menu to check."""

    theme_changed = Signal(str)
    failed = Signal(object)  # the exception of a read or a write of the settings

    def __init__(self, lantern: Lantern, tasks: BackgroundTasks, parent: QObject) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks
        self._theme = "system"
        self._font_size: int | None = None  # points; None: the desktop's
        self._chosen = False  # the user picked a theme or size in this window
        self._settings = SettingsWriter(lantern, tasks, self.failed.emit)

    def start(self) -> None:
        self._tasks.run(lambda: self._lantern.settings, self._show_saved, self.failed.emit)

    def set_theme(self, theme: str) -> None:
        self._chosen = True
        self._theme = theme
        self._apply()
        self._settings.save(theme=theme)

    def step_font_size(self, step: int) -> None:
        current = self._font_size or appearance().system_point_size
        self.set_font_size(min(max(current + step, FONT_SIZES[0]), FONT_SIZES[-1]))

    def set_font_size(self, size: int | None) -> None:
        self._chosen = True
        self._font_size = size
        self._apply()
        self._settings.save(font_size=size)

    def _show_saved(self, settings: Settings) -> None:
        if self._chosen:
            return
        self._theme, self._font_size = settings.theme, settings.font_size
        self._apply()

    def _apply(self) -> None:
        appearance().apply(self._theme, self._font_size)
        self.theme_changed.emit(self._theme)
