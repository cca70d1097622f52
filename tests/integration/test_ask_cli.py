"""`lantern ask` end to end (issue 19): a question answered by the real starter model from a
library indexed with the real converted embedder, with its citations; a follow-up in the same
conversation; bad input said plainly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_cli import lantern

from desktop.models.installed import InstalledModel

VIOLIN = "The violin case is under the stairs, by the cellar door.\n"
LEDGER = "# Ledger\n\nThe porter writes every parcel and the day it came in a green ledger.\n"


def asked(*args: str) -> Any:
    return json.loads(lantern("ask", *args, "--max-tokens", "24", "--json").stdout)


def library(tmp_path: Path) -> Path:
    folder = tmp_path / "post room"
    folder.mkdir()
    (folder / "violin.txt").write_text(VIOLIN)
    (folder / "ledger.md").write_text(LEDGER)
    lantern("docs", "add", str(folder), "--library", "Post room")
    return folder.resolve()


def test_an_answer_comes_with_its_citations_and_a_follow_up_goes_on(
    installed_starter: InstalledModel, installed_embedder: InstalledModel, tmp_path: Path
) -> None:
    folder = library(tmp_path)
    result = asked("Where is the musical instrument kept?", "--library", "Post room")
    assert result["status"] == "complete" and result["answer"].strip()
    best = result["citations"][0]
    assert best["number"] == 1
    assert best["file"] == str(folder / "violin.txt")
    assert "under the stairs" in best["text"]
    assert isinstance(best["score"], float) and isinstance(best["cited"], bool)

    # The conversation is in the history, and goes on with a follow-up from its documents.
    ledger = asked("Who keeps a record of the parcels?")
    again = asked("and what colour is it?", "--conversation", str(ledger["conversation_id"]))
    assert again["conversation_id"] == ledger["conversation_id"] != result["conversation_id"]
    assert again["citations"][0]["file"] == str(folder / "ledger.md")
    assert again["citations"][0]["heading"] == "Ledger"
    titles = [c["title"] for c in json.loads(lantern("history", "list", "--json").stdout)]
    assert "Where is the musical instrument kept?" in titles

    # Without --json: the answer, then the Sources list with each passage.
    shown = lantern("ask", "Where is the violin case?", "--max-tokens", "8").stdout
    assert "Sources:" in shown
    assert f"[1] {folder / 'violin.txt'}" in shown and "under the stairs" in shown


def test_only_from_the_documents_says_when_they_do_not_answer(
    installed_starter: InstalledModel, installed_embedder: InstalledModel, tmp_path: Path
) -> None:
    library(tmp_path)
    result = asked("Who painted the Mona Lisa?", "--documents-only")
    assert result["answer"] == "I could not find this in your documents."
    assert result["citations"] == []


def test_bad_input_gets_a_clear_message(
    installed_starter: InstalledModel, installed_embedder: InstalledModel, tmp_path: Path
) -> None:
    nothing = lantern("ask", "Where is the violin?", check=False)
    assert nothing.returncode == 1 and "lantern docs add" in nothing.stderr
    library(tmp_path)
    unknown = lantern("ask", "Where is the violin?", "--library", "Attic", check=False)
    assert unknown.returncode == 1
    assert "no library called 'Attic'. Libraries: 'Post room'." in unknown.stderr
    assert json.loads(lantern("history", "list", "--json").stdout) == []  # nothing stored
