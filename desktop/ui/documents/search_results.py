"""The passages a search of the library found, best first: each with its file, page and
heading path, its score, and its text."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.store.documents import FoundPassage


def passage_place(passage: FoundPassage) -> str:
    """'guide.md · page 2 · Install > On Linux'."""
    parts = [Path(passage.path).name]
    if passage.page is not None:
        parts.append(f"page {passage.page}")
    if passage.heading:
        parts.append(passage.heading)
    return " · ".join(parts)


def passage_score(passage: FoundPassage) -> str:
    """'score 0.0328 · similarity 0.61': what ranked it, and how close in meaning it is."""
    score = f"score {passage.score:.4g}"
    if passage.similarity is None:
        return score
    return f"{score} · similarity {passage.similarity:.2f}"


class SearchResults(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Passages found")
        self.setOpenLinks(False)
        self.passages: list[FoundPassage] = []

    def show_passages(self, query: str, passages: Sequence[FoundPassage]) -> None:
        self.passages = list(passages)
        if not passages:
            self.setHtml(f"<p>No passage of this library matches “{html.escape(query)}”.</p>")
            return
        blocks = []
        for number, passage in enumerate(passages, start=1):
            text = html.escape(passage.text).replace("\n", "<br>")
            blocks.append(
                f'<p title="{html.escape(passage.path)}"><b>{number}. '
                f"{html.escape(passage_place(passage))}</b>"
                f' &nbsp;<span style="color:gray">{passage_score(passage)}</span><br>{text}</p>'
            )
        self.setHtml("".join(blocks))

    def clear_passages(self) -> None:
        self.passages = []
        self.clear()
