"""The Translate page on real parts: the starter model, the store, real widgets. Documents are
two or three short paragraphs, so that each translation takes seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread, QThreadPool
from PySide6.QtWidgets import QDialog, QMessageBox
from test_accessibility import unnamed_controls

from desktop.services.app import Lantern
from desktop.services.translate import TranslationOptions
from desktop.tasks.documents import SourceText
from desktop.tasks.languages import find_language
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.translate.page import TranslatePage
from desktop.ui.translate.segment_table import SOURCE, TRANSLATION

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000
THREE_PARAGRAPHS = "The cat sleeps.\n\nThe dog runs.\n\nThe bird sings."
TWO_PARAGRAPHS = "The cat sleeps.\n\nThe dog runs."
HARBOUR = "The harbour is quiet."
# The required translation of "harbour": a word no translation has by chance. The model may
# still copy it from the prompt, so the tests check that the flag follows what it wrote.
RUNES = "ᚺᚨᚱᛒᛟᚱ"


def running_threads(page: TranslatePage) -> list[QThread]:
    return [thread for thread in page.findChildren(QThread) if thread.isRunning()]


@pytest.fixture
def page(qtbot, lantern: Lantern) -> Iterator[TranslatePage]:
    pool = QThreadPool()
    tasks = BackgroundTasks(pool)
    page = TranslatePage(lantern, tasks)
    qtbot.addWidget(page)
    page.resize(1100, 750)
    models = lantern.models.options()
    page.set_models(models, models[0].id)
    with qtbot.waitSignal(page.sessions.history_shown, timeout=TIMEOUT_MS):
        page.start()
    page.show()
    yield page
    # As the window does on close; then nothing of the page's may still run.
    page.shutdown()
    tasks.close()
    pool.waitForDone()
    assert running_threads(page) == []
    assert pool.activeThreadCount() == 0


def translate(qtbot, page: TranslatePage, text: str, target: str = "French") -> str:
    page.input.set_source(SourceText(text))
    page.options.to_box.setEditText(target)
    with qtbot.waitSignal(page.run_ended, timeout=TIMEOUT_MS) as ended:
        page.translate_button.click()
    return ended.args[0]


def set_glossary(qtbot, page: TranslatePage, pairs: list[tuple[str, str]]) -> None:
    """Through the dialog: its rows filled, then OK."""
    page.options.glossary_button.click()
    dialog = page.options.glossary_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    for term, translation in pairs:
        dialog.add_row(term, translation)
    assert unnamed_controls(dialog) == []
    dialog.done(QDialog.DialogCode.Accepted)


def test_three_paragraphs_give_three_aligned_translated_rows_and_a_history_entry(
    qtbot, page: TranslatePage, lantern: Lantern, tmp_path: Path
) -> None:
    with qtbot.waitSignal(page.sessions.history_shown, timeout=TIMEOUT_MS):
        status = translate(qtbot, page, THREE_PARAGRAPHS)

    assert status == "complete"
    table = page.table
    assert table.rowCount() == 3
    sources = [table.item(row, SOURCE).text() for row in range(3)]
    assert sources == ["The cat sleeps.", "The dog runs.", "The bird sings."]
    assert all(table.translation_text(row).strip() for row in range(3))
    record, segments = lantern.translate.session(page.translation_id)
    assert [s.translation for s in segments] == [table.translation_text(r) for r in range(3)]
    assert record.target_language == "fr"
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [record.id], timeout=TIMEOUT_MS)
    assert "French" in page.sessions.history.list.item(0).text()
    assert page.export_button.isEnabled() and page.bilingual_button.isEnabled()
    assert unnamed_controls(page) == []

    with qtbot.waitSignal(page.sessions.exported, timeout=TIMEOUT_MS):
        page.export_to(tmp_path / "cats.md", "md", bilingual=False)
    translated = (tmp_path / "cats.md").read_text(encoding="utf-8")
    assert table.translation_text(1).splitlines()[0] in translated
    with qtbot.waitSignal(page.sessions.exported, timeout=TIMEOUT_MS):
        page.export_to(tmp_path / "cats-bilingual.md", "md", bilingual=True)
    bilingual = (tmp_path / "cats-bilingual.md").read_text(encoding="utf-8")
    assert "| The dog runs. |" in bilingual


def test_a_missing_glossary_term_is_flagged_and_a_hand_edit_clears_it(
    qtbot, page: TranslatePage, lantern: Lantern
) -> None:
    set_glossary(qtbot, page, [("harbour", RUNES)])
    assert "1 term" in page.options.glossary_button.text()

    translate(qtbot, page, HARBOUR)

    # The flag follows what the model wrote: the required word is in it, or it is flagged.
    segment = page.table.segments()[0]
    assert segment.missing_terms == ([] if RUNES in segment.translation else ["harbour"])

    # The user's own words without the required one are flagged too.
    with qtbot.waitSignal(page.segment_saved, timeout=TIMEOUT_MS):
        page.table.item(0, TRANSLATION).setText("Le port est calme.")
    assert lantern.translate.session(page.translation_id)[1][0].missing_terms == ["harbour"]
    assert page.table.flagged_rows() == [0]
    assert page.flagged_label.isVisible()
    assert page.flagged_label.text() == "1 segment misses glossary terms"
    assert "harbour" in page.table.item(0, TRANSLATION).toolTip()
    assert page.table.select_next_flagged() == 0

    # Using it clears the flag.
    with qtbot.waitSignal(page.segment_saved, timeout=TIMEOUT_MS):
        page.table.item(0, TRANSLATION).setText(f"Le {RUNES} est calme.")

    stored = lantern.translate.session(page.translation_id)[1][0]
    assert stored.status == "edited"
    assert stored.translation == f"Le {RUNES} est calme."
    assert stored.missing_terms == []
    assert page.table.flagged_rows() == []
    assert not page.flagged_label.isVisible()
    assert page.table.item(0, 2).text() == "Edited"

    # Translated again, the segment loses the edit, and is flagged as the new words say.
    page.table.setCurrentCell(0, TRANSLATION)
    with qtbot.waitSignal(page.run_ended, timeout=TIMEOUT_MS) as ended:
        page.again_button.click()
    assert ended.args == ["complete"]
    again = lantern.translate.session(page.translation_id)[1][0]
    assert again.status == "done"
    expected = [] if RUNES in (again.translation or "") else [0]
    qtbot.waitUntil(lambda: page.table.flagged_rows() == expected, timeout=TIMEOUT_MS)


def test_cancel_keeps_finished_segments_and_continue_finishes_the_rest(
    qtbot, page: TranslatePage, lantern: Lantern
) -> None:
    page.input.set_source(SourceText(TWO_PARAGRAPHS))
    page.options.to_box.setEditText("fr")

    def first_segment_done() -> bool:
        return any(s.status == "done" for s in page.table.segments())

    with qtbot.waitSignal(page.run_ended, timeout=TIMEOUT_MS) as ended:
        page.translate_button.click()
        qtbot.waitUntil(first_segment_done, timeout=TIMEOUT_MS)
        page.cancel_button.click()

    assert ended.args == ["cancelled"]
    qtbot.waitUntil(page.continue_button.isEnabled, timeout=TIMEOUT_MS)
    segments = lantern.translate.session(page.translation_id)[1]
    assert segments[0].status == "done" and segments[0].translation
    assert any(s.status not in ("done", "edited") for s in segments)
    assert page.table.translation_text(0) == segments[0].translation

    # Continued later: the session reopened from the history.
    translation_id = page.translation_id
    page.sessions.new()
    assert not page.continue_button.isEnabled()
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [translation_id], timeout=TIMEOUT_MS)
    with qtbot.waitSignal(page.session_shown, timeout=TIMEOUT_MS):
        page.sessions.history.list.itemClicked.emit(page.sessions.history.list.item(0))
    assert page.continue_button.isEnabled()
    with qtbot.waitSignal(page.run_ended, timeout=TIMEOUT_MS) as ended:
        page.continue_button.click()

    assert ended.args == ["complete"]
    segments = lantern.translate.session(page.translation_id)[1]
    assert [s.status for s in segments] == ["done"] * 2
    assert all(page.table.translation_text(row).strip() for row in range(2))
    qtbot.waitUntil(lambda: not page.continue_button.isEnabled(), timeout=TIMEOUT_MS)


def test_reopening_a_session_restores_its_rows(
    qtbot, page: TranslatePage, lantern: Lantern
) -> None:
    assert translate(qtbot, page, TWO_PARAGRAPHS, target="German") == "complete"
    translation_id = page.translation_id
    translations = [page.table.translation_text(row) for row in range(2)]
    page.sessions.new()
    assert page.table.rowCount() == 0 and page.input.source().text == ""
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [translation_id], timeout=TIMEOUT_MS)

    with qtbot.waitSignal(page.session_shown, timeout=TIMEOUT_MS):
        page.sessions.history.list.itemClicked.emit(page.sessions.history.list.item(0))

    assert page.translation_id == translation_id
    assert [page.table.translation_text(row) for row in range(2)] == translations
    assert page.input.source().text == TWO_PARAGRAPHS
    assert page.options.to_box.currentText() == "German"


def test_a_french_text_is_detected_as_french(qtbot, page: TranslatePage) -> None:
    with qtbot.waitSignal(page.language_detected, timeout=TIMEOUT_MS) as detected:
        page.input.set_source(
            SourceText("Le port est calme ce soir. Les bateaux dorment jusqu'au matin.")
        )

    assert detected.args[0].name == "French"
    assert page.options.from_box.itemText(0) == "Detect automatically (French)"
    assert "words" in page.input.counts.text()


def test_an_unknown_target_language_says_so_and_starts_nothing(
    qtbot, page: TranslatePage, lantern: Lantern
) -> None:
    page.input.set_source(SourceText(THREE_PARAGRAPHS))
    page.options.to_box.setEditText("Klingonese")
    page.activateWindow()
    qtbot.waitActive(page)
    page.input.text_box.setFocus()

    qtbot.keyClick(page.input.text_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    notice = page.options.target_notice
    assert notice.isVisible() and notice.is_error
    assert "Klingonese" in notice.message
    assert not page.is_running() and running_threads(page) == []
    assert page.table.rowCount() == 0
    assert lantern.translate.sessions() == []
    page.options.to_box.setEditText("Spanish")
    assert not notice.isVisible()


def test_search_and_delete_in_the_history(
    qtbot, page: TranslatePage, lantern: Lantern, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two saved sessions (started, never run: no model needed).
    french = TranslationOptions(target=find_language("fr"))
    cats = lantern.translate.start(SourceText("The cat sleeps."), french).translation_id
    dogs = lantern.translate.start(SourceText("The dog runs."), french).translation_id
    with qtbot.waitSignal(page.sessions.history_shown, timeout=TIMEOUT_MS):
        page.sessions.refresh()
    assert page.sessions.history.ids() == [dogs, cats]  # newest first

    with qtbot.waitSignal(page.sessions.history_shown, timeout=TIMEOUT_MS):
        page.sessions.history.search_field.setText("cat")
    assert page.sessions.history.ids() == [cats]

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    page.sessions.history.list.setCurrentRow(0)
    with qtbot.waitSignal(page.sessions.history_shown, timeout=TIMEOUT_MS):
        page.sessions.history.delete_button.click()
    assert page.sessions.history.ids() == []
    assert [record.id for record in lantern.translate.sessions()] == [dogs]
