"""`lantern summarize` and `lantern translate` end to end, through subprocesses, on the real
starter model: results on stdout, progress on stderr, sessions stored, clear errors."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import docx
import pytest
from sample_documents import chronicle, short_paragraphs
from test_cli import lantern, running_lantern

from desktop.models.installed import InstalledModel
from desktop.paths import app_paths
from desktop.store.db import Database
from desktop.store.summaries import SummaryRepository
from desktop.store.translations import TranslationRepository


def test_summarize_a_file_prints_the_summary_and_stores_the_session(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    source = tmp_path / "chronicle.md"
    source.write_text(chronicle(3), encoding="utf-8")
    result = lantern("summarize", str(source), "--length", "sentence", "--format", "tldr")
    assert result.stdout.strip()
    assert "[summary 1 · SmolLM2-135M-Instruct.Q4_1]" in result.stderr
    assert "1 part(s)" in result.stderr and "[1/1] Writing the summary" in result.stderr
    assert "[complete · 1 pass(es)" in result.stderr

    data = _json(lantern("summarize", str(source), "--length", "12", "--json"))
    assert data["status"] == "complete" and data["summary"]
    assert data["options"]["length"] == "words" and data["options"]["words"] == 12
    assert data["plan"]["chunks"] == [[0, len(chronicle(3)), data["plan"]["tokens"]]]
    assert data["timings"]["passes"] == 1 and data["timings"]["steps"][0]["kind"] == "final"
    assert data["summary_id"] == 2


def test_summarize_reads_standard_input_and_word_documents(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    piped = _json(lantern("summarize", "-", "--length", "sentence", "--json", stdin=chronicle(2)))
    assert piped["status"] == "complete"

    document = docx.Document()
    for paragraph in chronicle(2).split("\n\n"):
        document.add_paragraph(paragraph)
    path = tmp_path / "report.docx"
    document.save(str(path))
    data = _json(lantern("summarize", str(path), "--length", "sentence", "--json"))
    assert data["status"] == "complete" and data["plan"]["tokens"] > 100


def test_translate_prints_the_document_and_flags_glossary_misses(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    source = tmp_path / "notes.md"
    source.write_text("# Notes\n\n" + short_paragraphs(3), encoding="utf-8")
    result = lantern("translate", str(source), "--to", "fr")
    assert result.stdout.startswith("# ")
    assert result.stdout.count("\n\n") == 3  # four blocks, as in the source
    assert "en -> fr" in result.stderr and "[complete · 4 segments" in result.stderr

    glossary = tmp_path / "glossary.csv"
    glossary.write_text("term,translation\nharbour,ᚺᚨᚱᛒᛟᚱ\n", encoding="utf-8")
    flagged = lantern(
        "translate", str(source), "--to", "French", "--from", "English",
        "--glossary", str(glossary), "--json",
    )  # fmt: skip
    data = _json(flagged)
    assert data["status"] == "complete" and data["target_language"] == "fr"
    assert data["glossary"] == [["harbour", "ᚺᚨᚱᛒᛟᚱ"]]
    assert len(data["segments"]) == 4 and data["segments"][0]["source"] == "# Notes"
    assert all(s["translation"] for s in data["segments"])
    assert data["timings"]["segments"] == 4
    # Only the paragraph about the harbour uses the term; it is flagged unless the model
    # wrote the required word, and the flag is named on stderr.
    for number, segment in enumerate(data["segments"], start=1):
        uses_term = "harbour" in segment["source"]
        missed = uses_term and "ᚺᚨᚱᛒᛟᚱ" not in segment["translation"]
        assert segment["missing_terms"] == (["harbour"] if missed else [])
        line = f"segment {number}: glossary term(s) not translated as required: harbour"
        assert (line in flagged.stderr) == missed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n  ", "is empty"),
        (bytes(range(256)) * 8, "not text"),
    ],
)
def test_unreadable_input_gets_a_clear_message(
    installed_starter: InstalledModel, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    for command in (["summarize", str(path)], ["translate", str(path), "--to", "fr"]):
        result = lantern(*command, check=False)
        assert result.returncode == 1
        assert result.stderr.startswith("error: ") and message in result.stderr


def test_bad_arguments_get_a_clear_message(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    text = tmp_path / "a.txt"
    text.write_text("The harbour was full.", encoding="utf-8")
    bad_glossary = tmp_path / "g.csv"
    bad_glossary.write_text("harbour\n", encoding="utf-8")
    cases = [
        (["translate", str(text), "--to", "Klingonese"], "is not a language"),
        (["translate", str(text), "--to", "fr", "--glossary", str(bad_glossary)], "Line 1"),
        (["summarize", str(tmp_path / "missing.txt")], "Cannot read"),
        (["summarize", str(text), "--length", "medium"], "number of words"),
    ]
    for command, message in cases:
        result = lantern(*command, check=False)
        assert result.returncode == 1, command
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("command", "kept"),
    [
        (
            ["summarize", "{source}", "--length", "short"],
            "what was written is kept in summary 1",
        ),
        (["translate", "{source}", "--to", "fr"], "finished segments are kept in translation 1"),
    ],
    ids=["summarize", "translate"],
)
def test_ctrl_c_stops_the_run_and_keeps_what_was_done(
    installed_starter: InstalledModel, tmp_path: Path, command: list[str], kept: str
) -> None:
    """Ctrl+C in a terminal (the signal to the command and its engine together) cancels the
    run: it ends as cancelled, with its session saved, not as a crash or a traceback."""
    source = tmp_path / "long.md"
    source.write_text(chronicle(40) if command[0] == "summarize" else short_paragraphs(40))
    args = [part.format(source=source) for part in command]
    with running_lantern(*args) as app:
        assert app.stderr is not None and app.stdout is not None
        progress = ""
        while not progress.startswith("[1/"):  # the first of many steps has begun
            progress = app.stderr.readline()
            assert progress, "the command ended before its first step"
        os.killpg(app.pid, signal.SIGINT)
        app.stdout.read()
        errors = app.stderr.read()
        assert app.wait(timeout=120) == 130, errors
    assert "Traceback" not in errors and "error:" not in errors, errors
    assert f"stopped; {kept}" in errors
    db = Database(app_paths().database)
    try:
        if command[0] == "summarize":
            status = SummaryRepository(db).get(1).status
        else:
            status = TranslationRepository(db).get(1).status
    finally:
        db.close()
    assert status == "cancelled"
