"""The Summarize page with the real starter model and a real store: counts, a summary streamed
into the view and saved in the history, Cancel keeping what was written, versions side by
side, a saved summary opened again, an unreadable file, export, and names for every control."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import docx
import pytest
from page_harness import page_on_its_own
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from test_accessibility import unnamed_controls

from desktop.services.app import Lantern
from desktop.store.summaries import SummaryRecord
from desktop.tasks.documents import SourceText
from desktop.ui.summarize.page import SummarizePage

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000
TEXT = (
    "The town council met on Monday to discuss the new library. Members agreed to open it "
    "in May, and to keep it open on Sundays. The budget is two million euros."
)


@pytest.fixture
def page(qtbot, lantern: Lantern) -> Iterator[SummarizePage]:
    with page_on_its_own(qtbot, partial(SummarizePage, lantern)) as page:
        page.set_models(lantern.models.options(), None)
        yield page


def saved_summary(lantern: Lantern, text: str = TEXT, **changes: object) -> SummaryRecord:
    """A summary as a finished run leaves it, written straight to the store."""
    source = SourceText(text)
    repository = lantern.summarize.summaries
    record = repository.create(
        title="Library plans",
        source_name=None,
        source_hash=source.sha256,
        source_text=text,
        options={"length": "short", "format": "bullets", "tone": "plain", "focus": "money"},
        model_id=lantern.models.list()[0].id,
    )
    values = {
        "result": "- A library opens in **May**.",
        "partials": ["Notes on the first part."],
        "status": "complete",
    }
    repository.change(record.id, **(values | changes))
    return repository.get(record.id)


def paste(page: SummarizePage, text: str = TEXT) -> None:
    page.document_input.text_box.setPlainText(text)


def choose(page: SummarizePage, length: str, fmt: str = "paragraph") -> None:
    bar = page.options_bar
    bar.length.setCurrentIndex(bar.length.findData(length))
    bar.format.setCurrentIndex(bar.format.findData(fmt))


def run_summary(qtbot, page: SummarizePage) -> str:
    with qtbot.waitSignal(page.run_ended, timeout=TIMEOUT_MS) as ended:
        qtbot.mouseClick(page.summarize_button, Qt.MouseButton.LeftButton)
    return ended.args[0]


def test_a_pasted_text_is_counted_summarized_as_it_streams_and_saved(
    qtbot, page: SummarizePage, lantern: Lantern, monkeypatch: pytest.MonkeyPatch
) -> None:
    appended: list[str] = []
    view = page.summary_view.view
    original = view.append_markdown
    monkeypatch.setattr(
        view, "append_markdown", lambda piece: (appended.append(piece), original(piece))
    )
    paste(page)
    choose(page, "sentence")
    assert "counting…" in page.counts_text()
    qtbot.waitUntil(lambda: "tokens" in page.counts_text(), timeout=TIMEOUT_MS)
    words = len(TEXT.split())
    assert page.counts_text().startswith(f"{words} words · ")
    assert page.counts_text().endswith(" tokens · 1 pass")

    assert run_summary(qtbot, page) == "complete"
    assert appended, "the summary streams into the view"
    [record] = lantern.summarize.sessions()
    assert record.status == "complete" and record.result
    assert page.summary_view.markdown() == record.result
    assert "Done" in page.status_text()
    qtbot.waitUntil(
        lambda: "complete" in page.sessions.history.list.item(0).text(), timeout=TIMEOUT_MS
    )
    assert page.sessions.history.ids() == [record.id]
    assert page.copy_button.isEnabled() and page.summarize_button.isEnabled()
    page.copy_summary()
    assert QApplication.clipboard().text() == record.result


def test_cancel_keeps_what_was_written_and_says_so(
    qtbot, page: SummarizePage, lantern: Lantern
) -> None:
    paste(page)
    choose(page, "detailed")
    page.activateWindow()
    page.document_input.text_box.setFocus()
    # Cancel (Esc) as soon as the summary has begun to stream.
    with qtbot.waitSignal(page.run_ended, timeout=TIMEOUT_MS) as ended:
        qtbot.keyClick(
            page.document_input.text_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
        assert page.is_running()
        assert page.cancel_button.isVisible()
        qtbot.waitUntil(lambda: page.summary_view.markdown() != "", timeout=TIMEOUT_MS)
        qtbot.keyClick(page.document_input.text_box, Qt.Key.Key_Escape)
    assert ended.args[0] == "cancelled"
    [record] = lantern.summarize.sessions()
    assert record.status == "cancelled"
    assert "Cancelled" in page.status_text()
    assert page.summary_view.markdown() == record.result  # the partial text stays
    qtbot.waitUntil(
        lambda: "cancelled" in page.sessions.history.list.item(0).text(), timeout=TIMEOUT_MS
    )
    assert page.sessions.history.ids() == [record.id]
    assert not page.cancel_button.isVisible()


def test_a_new_run_over_the_same_text_shows_the_versions_side_by_side(
    qtbot, page: SummarizePage, lantern: Lantern
) -> None:
    saved_summary(lantern)  # the first version (a run, as the store keeps it)
    paste(page)
    choose(page, "sentence")
    assert run_summary(qtbot, page) == "complete"

    qtbot.waitUntil(page.comparing, timeout=TIMEOUT_MS)
    first, second = page.versions_view.columns()
    assert first.record.id < second.record.id  # the newest on the right
    assert "short, bullet points, plain, focus: money" in first.options_label.text()
    assert "sentence, paragraph" in second.options_label.text()
    assert lantern.models.list()[0].id in second.options_label.text()
    assert second.view.markdown() == second.record.result
    assert unnamed_controls(page) == []

    qtbot.mouseClick(page.versions_view.close_button, Qt.MouseButton.LeftButton)
    assert not page.comparing()
    assert page.compare_button.isVisible() and page.compare_button.text().endswith("(2)")
    qtbot.mouseClick(page.compare_button, Qt.MouseButton.LeftButton)
    assert page.comparing()


def test_a_saved_summary_opens_with_its_source_options_result_and_notes(
    qtbot, page: SummarizePage, lantern: Lantern
) -> None:
    record = saved_summary(lantern)
    page.sessions.refresh()
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [record.id], timeout=TIMEOUT_MS)
    item = page.sessions.history.list.item(0)
    assert item.text().startswith("Library plans\n") and "complete" in item.text()

    rect = page.sessions.history.list.visualItemRect(item)
    qtbot.mouseClick(
        page.sessions.history.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
    )
    qtbot.waitUntil(lambda: page.summary_view.markdown() == record.result, timeout=TIMEOUT_MS)
    assert page.document_input.source().text == TEXT
    options = page.options_bar.options()
    assert (options.length, options.format, options.tone, options.focus) == (
        "short", "bullets", "plain", "money")  # fmt: skip
    assert page.notes.isVisible() and page.notes.parts() == ["Notes on the first part."]
    assert page.sessions.history.selected_id() == record.id
    page.notes.toggle.click()
    assert unnamed_controls(page) == []

    qtbot.mouseClick(page.sessions.history.new_button, Qt.MouseButton.LeftButton)
    assert page.document_input.source().text == "" and page.summary_view.markdown() == ""


def test_export_writes_a_docx_that_word_can_read(
    qtbot, page: SummarizePage, lantern: Lantern, tmp_path: Path
) -> None:
    record = saved_summary(lantern)
    page.sessions.open(record.id)
    qtbot.waitUntil(page.export_button.isEnabled, timeout=TIMEOUT_MS)
    target = tmp_path / "summary.docx"
    page.export_to(target, "docx")
    qtbot.waitUntil(lambda: page.result_notice.message.startswith("Exported"), timeout=TIMEOUT_MS)
    text = "\n".join(paragraph.text for paragraph in docx.Document(str(target)).paragraphs)
    assert "A library opens in May." in text

    page.export_to(tmp_path / "missing-folder" / "summary.md", "md")
    qtbot.waitUntil(lambda: page.result_notice.is_error, timeout=TIMEOUT_MS)
    assert "summary.md" in page.result_notice.message


def test_an_unreadable_file_says_why_and_keeps_the_text(
    qtbot, page: SummarizePage, tmp_path: Path
) -> None:
    paste(page, "Text the user typed.")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    page.document_input.open_file(binary)
    qtbot.waitUntil(lambda: page.document_input.notice.is_error, timeout=TIMEOUT_MS)
    assert "binary" in page.document_input.notice.message
    assert page.document_input.source().text == "Text the user typed."


def test_deleting_a_summary_asks_first_and_removes_it(
    qtbot, page: SummarizePage, lantern: Lantern, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = saved_summary(lantern)
    page.sessions.refresh()
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [record.id], timeout=TIMEOUT_MS)
    page.sessions.open(record.id)
    qtbot.waitUntil(lambda: page.sessions.history.selected_id() == record.id, timeout=TIMEOUT_MS)
    monkeypatch.setattr(page.sessions, "confirm_delete", lambda _summary_id: False)
    qtbot.mouseClick(page.sessions.history.delete_button, Qt.MouseButton.LeftButton)
    monkeypatch.setattr(page.sessions, "confirm_delete", lambda _summary_id: True)
    qtbot.mouseClick(page.sessions.history.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [], timeout=TIMEOUT_MS)
    assert lantern.summarize.sessions() == []
    assert page.summary_view.markdown() == ""
