"""The document side by side: one row per segment, the source on the left and its translation
on the right, with the segment's state. Translations stream into their row; the user edits a
translation in place (double-click or F2), and segments that miss a glossary term are flagged.

The table only shows and reports: saving an edit or translating again is the page's work.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QContextMenuEvent, QIcon, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.store.translations import SegmentRecord

SOURCE, TRANSLATION, STATE = range(3)
STATE_NAMES = {
    "pending": "Waiting",
    "done": "Done",
    "edited": "Edited",
    "partial": "Partial",
    "failed": "Failed",
}
UNTRANSLATED_STATE = "Kept as is"  # code, markup: copied through
TRANSLATING_STATE = "Translating…"


def missing_terms_tip(terms: Sequence[str]) -> str:
    return "Missing glossary terms: " + ", ".join(terms)


class SegmentTable(QTableWidget):
    translation_edited = Signal(int, str)  # segment id, the user's text
    retranslate_requested = Signal(int)  # segment id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setAccessibleName("Segments: source and translation")
        self.setHorizontalHeaderLabels(["Source", "Translation", "State"])
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        self.verticalHeader().hide()
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.horizontalHeader()
        header.setSectionResizeMode(SOURCE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(TRANSLATION, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(STATE, QHeaderView.ResizeMode.ResizeToContents)
        self._segments: list[SegmentRecord] = []
        self._filling = False  # our own changes are not the user's edits
        self._editable = True
        self.itemChanged.connect(self._item_changed)
        self.set_editable(True)

    # ---- what the page sets ----

    def show_segments(self, segments: Sequence[SegmentRecord]) -> None:
        self._filling = True
        try:
            self.clearContents()
            self.setRowCount(len(segments))
            self._segments = list(segments)
            for row, segment in enumerate(segments):
                self.setItem(row, SOURCE, QTableWidgetItem())
                self.setItem(row, TRANSLATION, QTableWidgetItem())
                self.setItem(row, STATE, QTableWidgetItem())
                self._fill(row, segment)
        finally:
            self._filling = False
        self.resizeRowsToContents()

    def update_segment(self, segment: SegmentRecord) -> None:
        row = segment.position
        if not 0 <= row < len(self._segments):
            return
        self._segments[row] = segment
        self._filling = True
        try:
            self._fill(row, segment)
        finally:
            self._filling = False
        self.resizeRowToContents(row)

    def begin_translating(self, position: int) -> None:
        """The row's translation starts afresh: it is about to stream in."""
        if not 0 <= position < len(self._segments):
            return
        self._filling = True
        try:
            self._cell(position, TRANSLATION).setText("")
            self._cell(position, STATE).setText(TRANSLATING_STATE)
        finally:
            self._filling = False
        self.scrollToItem(self._cell(position, SOURCE))

    def append_translation(self, position: int, text: str) -> None:
        if not 0 <= position < len(self._segments):
            return
        item = self._cell(position, TRANSLATION)
        self._filling = True
        try:
            item.setText(item.text() + text)
        finally:
            self._filling = False
        self.resizeRowToContents(position)

    def set_editable(self, editable: bool) -> None:
        """Edits wait while a run writes into the table."""
        self._editable = editable
        triggers = QAbstractItemView.EditTrigger
        self.setEditTriggers(
            triggers.DoubleClicked | triggers.EditKeyPressed
            if editable
            else triggers.NoEditTriggers
        )

    # ---- what the page reads ----

    def segments(self) -> list[SegmentRecord]:
        return list(self._segments)

    def translation_text(self, row: int) -> str:
        return self._cell(row, TRANSLATION).text()

    def selected_segment(self) -> SegmentRecord | None:
        row = self.currentRow()
        return self._segments[row] if 0 <= row < len(self._segments) else None

    def flagged_rows(self) -> list[int]:
        return [row for row, s in enumerate(self._segments) if s.missing_terms]

    def select_next_flagged(self) -> int | None:
        """Select the next flagged row after the current one (round to the first)."""
        flagged = self.flagged_rows()
        if not flagged:
            return None
        current = self.currentRow()
        row = next((r for r in flagged if r > current), flagged[0])
        self.setCurrentCell(row, TRANSLATION)
        self.scrollToItem(self._cell(row, TRANSLATION))
        return row

    # ---- inside ----

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """A cell of a shown segment: show_segments gives every row its three items."""
        item = self.item(row, column)
        assert item is not None, (row, column)
        return item

    def _fill(self, row: int, segment: SegmentRecord) -> None:
        source, translation, state = (self._cell(row, c) for c in (SOURCE, TRANSLATION, STATE))
        # Both sides without the Markdown around them ("## ", "- "): the translation cell
        # is what the user edits, and the markup is put back on export.
        source.setText(segment.text if segment.translatable else segment.source)
        source.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        translation.setText(segment.translation or "")
        state.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not segment.translatable:
            translation.setFlags(flags)
            state.setText(UNTRANSLATED_STATE)
            grey = QBrush(
                self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            )
            for item in (source, translation, state):
                item.setForeground(grey)
                item.setToolTip("Code or markup: copied into the translation as it is.")
            return
        translation.setFlags(flags | Qt.ItemFlag.ItemIsEditable)
        state.setText(STATE_NAMES.get(segment.status, segment.status.title()))
        if segment.missing_terms:
            tip = missing_terms_tip(segment.missing_terms)
            state.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            state.setText(state.text() + " · missing terms")
        else:
            tip = ""
            state.setIcon(QIcon())
        for item in (source, translation, state):
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.ForegroundRole, None)

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != TRANSLATION:
            return
        row = item.row()
        if not 0 <= row < len(self._segments):
            return
        segment = self._segments[row]
        text = item.text()
        if text.strip() == (segment.translation or "").strip():
            return
        if not text.strip():  # an emptied cell: keep what was there
            self._filling = True
            try:
                item.setText(segment.translation or "")
            finally:
                self._filling = False
            return
        self.translation_edited.emit(segment.id, text)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        row = self.rowAt(event.pos().y())
        if not 0 <= row < len(self._segments):
            return
        self.setCurrentCell(row, TRANSLATION)
        segment = self._segments[row]
        menu = QMenu(self)
        again = QAction("Translate this segment again", menu)
        again.setEnabled(self._editable and segment.translatable)
        again.triggered.connect(
            lambda _checked=False, sid=segment.id: self.retranslate_requested.emit(sid)
        )
        edit = QAction("Edit the translation", menu)
        edit.setEnabled(self._editable and segment.translatable)
        edit.triggered.connect(
            lambda _checked=False, r=row: self.editItem(self._cell(r, TRANSLATION))
        )
        menu.addAction(edit)
        menu.addAction(again)
        menu.exec(event.globalPos())
