"""The save dialog of every Export button: the formats offered, and the file's suffix made to
match the format (typed by the user, or picked in the dialog's list of types)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from PySide6.QtWidgets import QFileDialog, QWidget

FormatT = TypeVar("FormatT", bound=str)  # a surface's own Literal of formats


def choose_export_file(
    parent: QWidget, title: str, suggested_name: str, formats: Mapping[FormatT, str]
) -> tuple[Path, FormatT] | None:
    """Ask where to save, offering `formats` (format -> the label in the list of types, e.g.
    {"md": "Markdown (*.md)"}; the first is the default). Returns the path and its format, or
    None when the user cancels. A name typed with a known suffix keeps it and says the format;
    otherwise the format picked in the list is added as the suffix."""
    suggested = f"{suggested_name}.{next(iter(formats))}"  # the name has no suffix yet
    path, chosen = QFileDialog.getSaveFileName(
        parent, title, suggested, ";;".join(formats.values())
    )
    if not path:
        return None
    return export_target(Path(path), chosen, formats)


def export_target(
    path: Path, chosen_label: str, formats: Mapping[FormatT, str]
) -> tuple[Path, FormatT]:
    """The file and format for what the dialog returned (apart for the tests: no dialog)."""
    suffix = path.suffix.lower().lstrip(".")
    typed = next((fmt for fmt in formats if fmt == suffix), None)
    if typed is not None:
        return path, typed
    fmt = next((f for f, label in formats.items() if label == chosen_label), next(iter(formats)))
    return path.with_name(f"{path.name}.{fmt}"), fmt
