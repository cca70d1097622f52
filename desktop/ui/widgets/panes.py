"""Panes side by side (or one above the other) that the user can resize but never fold away:
how the pages lay out a list beside its detail."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget


def panes(
    widgets: Sequence[QWidget],
    *,
    stretch: Sequence[int],
    sizes: Sequence[int] = (),
    vertical: bool = False,
) -> QSplitter:
    """A splitter of `widgets`, each growing by its `stretch`, first shown at `sizes` (pixels)."""
    splitter = QSplitter(Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal)
    for index, (widget, factor) in enumerate(zip(widgets, stretch, strict=True)):
        splitter.addWidget(widget)
        splitter.setStretchFactor(index, factor)
    if sizes:
        splitter.setSizes(list(sizes))
    splitter.setChildrenCollapsible(False)
    return splitter
