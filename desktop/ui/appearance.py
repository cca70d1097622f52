"""The application's look: light, dark or the desktop's own scheme, and the text size.

The colour scheme is asked of the platform first (Windows, macOS and GNOME honour it); the
palette is set as well, because not every platform does. Widgets that draw their own colours
(answers' Markdown, code highlighting) follow the palette's change events.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

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
