"""The chat's side of documents, in the real window with real parts (the starter model, the
converted all-MiniLM-L6-v2 embedder, the store with sqlite-vec): the library picker, an
answer's Sources, and the source viewer at the passage."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from test_main_window import TIMEOUT_MS, open_window

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.services.chat import DocumentChoice
from desktop.settings import Settings, save_settings
from desktop.store.repositories import MessageRecord, MessageSource
from desktop.ui.chat.markdown_view import MarkdownView
from desktop.ui.chat.message_widget import MessageWidget
from desktop.ui.main_window import MainWindow
from desktop.ui.widgets.source_view import CHANGED_NOTE, MOVED_NOTE, SourceView

pytestmark = pytest.mark.gui

LIGHTHOUSE = """# Keeping the lighthouse

## The lamp

The keeper polishes the great lens every morning with a soft cloth and spirit, because a
film of soot from the wick dims the beam by a third within a single night. The brass frame
is wiped dry afterwards so that it does not tarnish.

## The log

Every evening the keeper writes the weather, the ships seen and the hours the lamp burned
into the station log, which the inspector reads on his visit each spring.
"""

BREAD = """# Country bread

Mix the flour, water and salt, leave the dough to rest for an hour, then fold it four times
at half-hour intervals. Bake it in a covered pot at a high heat for forty minutes.
"""

QUESTION = "How often is the glass of the light cleaned, and why?"


@pytest.fixture
def short_answers(lantern_home: Path) -> None:
    """Answers of a few words: the sources, not the prose, are under test."""
    save_settings(app_paths().settings_file, Settings(max_tokens=24))


@pytest.fixture
def libraries(
    short_answers: None, lantern: Lantern, installed_embedder: object, tmp_path: Path
) -> Path:
    """Two indexed libraries: "Notes" (the lighthouse) and "Recipes" (bread). Returns the
    lighthouse file."""
    notes = tmp_path / "notes"
    recipes = tmp_path / "recipes"
    notes.mkdir()
    recipes.mkdir()
    lighthouse = notes / "lighthouse.md"
    lighthouse.write_text(LIGHTHOUSE, encoding="utf-8")
    (recipes / "bread.md").write_text(BREAD, encoding="utf-8")
    lantern.documents.add([notes], "Notes")
    lantern.documents.add([recipes], "Recipes")
    run = lantern.documents.index()
    for _ in run:
        pass
    assert run.outcome is not None and run.outcome.files_done == 2, run.outcome
    return lighthouse


@pytest.fixture
def window(qtbot, lantern: Lantern, libraries: Path) -> Iterator[MainWindow]:
    window = open_window(qtbot, lantern)
    page = window.chat_page
    qtbot.waitUntil(page.send_button.isEnabled, timeout=TIMEOUT_MS)
    # The libraries are listed in the picker (read in the background at start).
    qtbot.waitUntil(
        lambda: set(page.document_picker.library_actions()) == {"Notes", "Recipes"},
        timeout=TIMEOUT_MS,
    )
    yield window
    window.close()  # before the `lantern` fixture closes the engine and the store


def ask(qtbot, window: MainWindow, text: str) -> None:
    page = window.chat_page
    page.input.setPlainText(text)
    qtbot.mouseClick(page.send_button, Qt.MouseButton.LeftButton)
    assert page.answering()
    qtbot.waitUntil(
        lambda: not page.answering() and page.send_button.isEnabled(), timeout=TIMEOUT_MS
    )


def reopen(qtbot, window: MainWindow, conversation_id: int) -> None:
    page = window.chat_page
    page.new_chat()
    assert page.document_picker.text() == "Documents: none"
    page.open_conversation(conversation_id)
    qtbot.waitUntil(page.send_button.isEnabled, timeout=TIMEOUT_MS)


def test_an_answer_from_a_library_lists_its_sources_and_opens_one_at_its_passage(
    qtbot, window, lantern, libraries
):
    page = window.chat_page
    picker = page.document_picker
    assert picker.text() == "Documents: none"
    picker.library_actions()["Notes"].trigger()
    assert picker.text() == "Documents: Notes"

    ask(qtbot, window, QUESTION)

    (conversation,) = lantern.chat.list_conversations()
    assert lantern.chat.documents_for(conversation.id) == DocumentChoice(("Notes",), False)
    answer_widget = page.view.widgets()[-1]
    answer = answer_widget.record()
    assert answer.role == "assistant" and answer.status == "complete"
    # Only the chosen library answered: the lamp's passage first, nothing from the recipes.
    assert answer.sources, "the answer has no sources"
    assert {Path(s.path).name for s in answer.sources} == {"lighthouse.md"}
    sources = answer_widget.source_list()
    assert sources is not None and sources.isVisible()
    rows = sources.rows()
    assert [row.source for row in rows] == list(answer.sources)
    first = rows[0]
    assert first.source.number == 1
    assert "lighthouse.md" in first.text() and "[1]" in first.text()
    assert "polishes the great lens" in LIGHTHOUSE[first.source.start : first.source.end]

    qtbot.mouseClick(first, Qt.MouseButton.LeftButton)
    viewer = page.source_view
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.highlighted_text() != "", timeout=TIMEOUT_MS)
    # The whole document, the passage highlighted where it is, in view; no note.
    assert viewer.text.toPlainText() == lantern.documents.source_text(str(libraries))
    assert viewer.highlighted_text() == first.source.text
    assert viewer.passage_is_visible()
    assert not viewer.note.isVisible()
    assert viewer.title.text() == "lighthouse.md"


def test_a_source_whose_file_changed_or_went_is_still_shown_and_says_so(
    qtbot, window, lantern, libraries
):
    page = window.chat_page
    page.document_picker.library_actions()["Notes"].trigger()
    ask(qtbot, window, QUESTION)
    sources = page.view.widgets()[-1].source_list()
    assert sources is not None, "the answer has no sources"
    first = sources.rows()[0]
    passage = first.source.text

    def open_first() -> SourceView:
        qtbot.mouseClick(first, Qt.MouseButton.LeftButton)
        viewer = page.source_view
        assert viewer is not None
        qtbot.waitUntil(viewer.note.isVisible, timeout=TIMEOUT_MS)
        return viewer

    # Text added above it: the passage is found where it is now.
    moved = "A paragraph written since.\n\n" + LIGHTHOUSE
    libraries.write_text(moved, encoding="utf-8")
    viewer = open_first()
    assert viewer.note.text() == MOVED_NOTE
    assert viewer.text.toPlainText() == lantern.documents.source_text(str(libraries))
    assert viewer.highlighted_text() == passage
    assert viewer.passage_is_visible()

    # Rewritten: the passage as the answer used it.
    libraries.write_text("# Keeping the lighthouse\n\nThe lamp is electric now.\n", "utf-8")
    viewer = open_first()
    assert viewer.note.text() == CHANGED_NOTE
    assert viewer.text.toPlainText() == passage
    assert viewer.highlighted_text() == passage

    # Gone: the same, with why it cannot be read.
    libraries.unlink()
    viewer = open_first()
    assert viewer.note.text().startswith("Cannot read lighthouse.md")
    assert viewer.text.toPlainText() == passage


# The picker's menu is a popup: the offscreen platform cannot raise it or grab the keyboard.
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_the_documents_chosen_for_a_conversation_are_kept_and_shown_again(qtbot, window, lantern):
    page = window.chat_page
    picker = page.document_picker
    # A new conversation with the libraries chosen before its first message: ticked in the
    # menu one after the other, which stays open for the second.
    menu = picker.menu()
    menu.popup(picker.mapToGlobal(picker.rect().bottomLeft()))
    qtbot.waitUntil(menu.isVisible)
    for name in ("Notes", "Recipes"):
        where = menu.actionGeometry(picker.library_actions()[name]).center()
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=where)
    assert menu.isVisible()
    menu.close()
    assert picker.text() == "Documents: Notes, Recipes"
    ask(qtbot, window, QUESTION)
    (conversation,) = lantern.chat.list_conversations()
    chosen = DocumentChoice(("Notes", "Recipes"), False)
    assert lantern.chat.documents_for(conversation.id) == chosen

    reopen(qtbot, window, conversation.id)
    assert picker.choice() == chosen
    assert picker.text() == "Documents: Notes, Recipes"

    # Changed in an open conversation: saved at once (off the GUI thread), kept on reopening.
    picker.library_actions()["Recipes"].trigger()
    picker.documents_only_action().trigger()
    assert picker.text() == "Documents: Notes (only)"
    narrowed = DocumentChoice(("Notes",), True)
    qtbot.waitUntil(
        lambda: lantern.chat.documents_for(conversation.id) == narrowed, timeout=TIMEOUT_MS
    )
    reopen(qtbot, window, conversation.id)
    assert picker.choice() == narrowed
    assert picker.library_actions()["Notes"].isChecked()
    assert not picker.library_actions()["Recipes"].isChecked()
    assert picker.documents_only_action().isChecked()

    # Unticking the last library turns "only" off with it.
    picker.library_actions()["Notes"].trigger()
    none = DocumentChoice((), False)
    assert picker.choice() == none
    assert picker.text() == "Documents: none"
    assert not picker.documents_only_action().isChecked()
    assert not picker.documents_only_action().isEnabled()
    qtbot.waitUntil(lambda: lantern.chat.documents_for(conversation.id) == none, timeout=TIMEOUT_MS)

    # A library removed meanwhile (on the Documents page): ticking it says why, and the picker
    # shows what is stored again, without that library.
    lantern.documents.remove_library("Recipes")
    picker.library_actions()["Recipes"].trigger()
    qtbot.waitUntil(lambda: "Recipes" not in picker.library_actions(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: picker.choice() == none, timeout=TIMEOUT_MS)
    assert "Recipes" in window.statusBar().currentMessage()
    assert lantern.chat.documents_for(conversation.id) == none


def citation_point(view: MarkdownView, citation: str) -> QPoint:
    """Where `citation` ("[1]") is drawn in the answer's text."""
    found = view.document().find(citation)
    assert not found.isNull(), f"{citation} is not in the answer"
    inside = QTextCursor(view.document())
    inside.setPosition(found.selectionStart() + 1)
    return view.cursorRect(inside).center()


def test_an_answers_sources_and_its_citations_open_the_source_they_name(qtbot):
    moment = datetime(2024, 5, 1, 12, 0)
    lamp = MessageSource(
        1,
        "/docs/lighthouse.md",
        None,
        "Keeping the lighthouse > The lamp",
        40,
        84,
        "## The lamp\n\nThe keeper polishes the lens.",
        0.032,
    )
    manual = MessageSource(2, "/docs/manual.pdf", 4, "", 0, 24, "Wipe the brass " * 20, 0.016)
    answer = MessageRecord(
        7, 1, 6, "assistant", "", "streaming", "starter", None, None, moment, moment
    )
    widget = MessageWidget(answer, width=600)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    widget.append_text("The lens is polished every morning [1], the brass wiped [2].")
    assert widget.source_list() is None  # streaming: the sources come with the answer's end

    widget.finish(
        dataclasses.replace(
            answer, content=widget.text(), status="complete", sources=(lamp, manual)
        )
    )
    sources = widget.source_list()
    assert sources is not None and sources.isVisible()
    first, second = sources.rows()
    assert "[1]</b> lighthouse.md · Keeping the lighthouse &gt; The lamp" in first.text()
    # The passage's start, without the heading line the row names already.
    assert first.text().endswith("<br><i>The keeper polishes the lens.</i>")
    assert "[2]</b> manual.pdf · page 4" in second.text()
    # The passage's start only, cut at a word.
    assert second.text().endswith("<i>" + ("Wipe the brass " * 8).strip() + "…</i>")
    # Each row as tall as its text at the answer's width: no blank space between them.
    widget.resize(600, widget.heightForWidth(600))
    qtbot.waitUntil(lambda: first.height() == first.heightForWidth(first.width()))
    assert second.y() - (first.y() + first.height()) == sources.layout().spacing()
    with qtbot.waitSignal(widget.source_requested) as clicked:
        qtbot.mouseClick(second, Qt.MouseButton.LeftButton)
    assert clicked.args == [manual]
    first.setFocus()
    with qtbot.waitSignal(widget.source_requested) as entered:
        qtbot.keyClick(first, Qt.Key.Key_Return)
    assert entered.args == [lamp]

    # The answer's [n] are links to the sources they name.
    view = widget.markdown_view()
    assert view is not None
    for citation, source in (("[2]", manual), ("[1]", lamp)):
        with qtbot.waitSignal(widget.source_requested) as cited:
            qtbot.mouseClick(
                view.viewport(), Qt.MouseButton.LeftButton, pos=citation_point(view, citation)
            )
        assert cited.args == [source]
