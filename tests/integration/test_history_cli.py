"""`lantern history search / export / import / rm`, through subprocesses, on a real SQLite
file written the way chats write it (branches included)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import lantern, lantern_json

from desktop.paths import app_paths
from desktop.store.db import Database
from desktop.store.repositories import ConversationRepository, MessageRepository


@pytest.fixture
def branched(lantern_home: Path) -> int:
    """A conversation with a regenerated answer (two branches), a code block, and some HTML."""
    db = Database(app_paths().database)
    conversations, messages = ConversationRepository(db), MessageRepository(db)
    c = conversations.create("Lighthouses", model_id="m1", system_prompt="Be brief.")
    q = messages.add(c.id, "user", "Who keeps a lighthouse?", parent_id=None)
    first = messages.add(
        c.id, "assistant", "A keeper with thirty logbooks.", parent_id=q.id, model_id="m1"
    )
    messages.finish(first.id, content=first.content, status="complete", stats={"tokens": 7})
    messages.add(c.id, "user", "Show <script>alert(1)</script> code", parent_id=first.id)
    messages.add(c.id, "assistant", "```python\nprint('beam')\n```", parent_id=q.id, model_id="m1")
    conversations.change(c.id, pinned=True)
    db.close()
    return c.id


def test_search_finds_a_word_from_an_old_answer(branched: int) -> None:
    (hit,) = lantern_json("history", "search", "logbook")
    assert hit["conversation_id"] == branched and hit["role"] == "assistant"
    assert "thirty logbooks" in hit["snippet"]
    assert "[logbooks]" in lantern("history", "search", "logbook").stdout
    assert "No message holds 'zebra'." in lantern("history", "search", "zebra").stdout


def test_json_export_round_trips_every_branch(branched: int, tmp_path: Path) -> None:
    exported = lantern("history", "export", str(branched), "--format", "json").stdout
    document = json.loads(exported)
    assert len(document["messages"]) == 4 and document["pinned"] is True
    assert [m["parent"] for m in document["messages"]] == [None, 1, 2, 1]
    file = tmp_path / "lighthouses.json"
    file.write_text(exported, encoding="utf-8")
    imported = lantern("history", "import", str(file)).stdout
    new_id = int(imported.split()[2].rstrip(":"))
    again = lantern("history", "export", str(new_id), "--format", "json").stdout
    assert again == exported, "lossless: the same file comes back"


def test_markdown_and_html_show_the_branch_in_view(branched: int) -> None:
    md = lantern("history", "export", str(branched), "--format", "md").stdout
    assert md.startswith("# Lighthouses\n\n> **System:** Be brief.")
    assert "## Assistant (m1)\n\n```python\nprint('beam')\n```" in md
    assert "thirty logbooks" not in md, "the other branch is not the one shown"
    html = lantern("history", "export", str(branched), "--format", "html").stdout
    assert '<code class="language-python">' in html and "<h1>Lighthouses</h1>" in html


def test_html_export_escapes_what_the_model_or_user_wrote(branched: int, tmp_path: Path) -> None:
    file = tmp_path / "page.html"
    db = Database(app_paths().database)
    ConversationRepository(db).change(branched, current_leaf_id=3)  # the branch with <script>
    db.close()
    lantern("history", "export", str(branched), "--format", "html", "-o", str(file))
    page = file.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_openai_style_list_imports_as_a_conversation(lantern_home: Path) -> None:
    messages = [
        {"role": "system", "content": "You translate."},
        {"role": "user", "content": "Bonjour means?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
    ]
    result = lantern("history", "import", "-", stdin=json.dumps(messages))
    conversation_id = int(result.stdout.split()[2].rstrip(":"))
    shown = lantern_json("history", "show", str(conversation_id))
    assert shown["title"] == "Bonjour means?" and shown["system_prompt"] == "You translate."
    assert [(m["role"], m["content"]) for m in shown["messages"]] == [
        ("user", "Bonjour means?"),
        ("assistant", "Hello."),
    ]


def test_bad_imports_and_rm(branched: int, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes", encoding="utf-8")
    refused = lantern("history", "import", str(bad), check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: notes.txt is not JSON")
    wrong_role = lantern("history", "import", "-", check=False, stdin='[{"role": "bot"}]')
    assert "message 1: 'role' must be one of system, user, assistant." in wrong_role.stderr

    assert "Deleted conversation" in lantern("history", "rm", str(branched)).stdout
    assert lantern_json("history", "list") == []
    assert lantern_json("history", "search", "logbook") == []


def test_hostile_imports_are_refused_by_name_and_store_nothing(
    branched: int, tmp_path: Path
) -> None:
    exported = json.loads(lantern("history", "export", str(branched), "--format", "json").stdout)
    unusable = tmp_path / "chat.json"
    unusable.write_text(json.dumps(exported | {"sampling": "abc"}), encoding="utf-8")
    refused = lantern("history", "import", str(unusable), check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: chat.json: 'sampling' must be an object of sampling settings, or null.\n"
    )

    exported["messages"][1]["parent"] = [1]
    unusable.write_text(json.dumps(exported), encoding="utf-8")
    refused = lantern("history", "import", str(unusable), check=False)
    assert refused.stderr == (
        "error: chat.json, message 2: 'parent' must be the id of an earlier message, or null.\n"
    )

    deep = lantern("history", "import", "-", check=False, stdin="[" * 100_000 + "]" * 100_000)
    assert deep.returncode == 1 and deep.stderr.startswith(
        "error: standard input is nested too deeply to be a conversation."
    )
    latin1 = subprocess.run(
        [sys.executable, "-m", "desktop", "history", "import", "-"],
        input='[{"role": "user", "content": "café"}]'.encode("latin-1"),
        capture_output=True,
        timeout=240,
    )
    assert latin1.returncode == 1
    assert latin1.stderr.decode() == (
        "error: standard input is not UTF-8 text (byte 33 cannot be read); Lantern imports the "
        "JSON it exports.\n"
    )
    assert [c["id"] for c in lantern_json("history", "list")] == [branched], "nothing added"
