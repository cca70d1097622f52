"""Chat answers from the user's documents (issue 19): the real starter model answers, the real
converted all-MiniLM-L6-v2 retrieves. The answer keeps the passages it was given as its
sources, the model is shown them, a follow-up stays on the document, "only from my documents"
says when nothing is there, and the passages always leave the answer room in the window."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from engine_processes import engine_pid_of

from desktop.errors import EngineCrashed, LibraryNotFound
from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern
from desktop.services.chat import ChatTurn, DocumentChoice
from desktop.tasks.grounded import not_found_answer

pytestmark = pytest.mark.engine

KEEPER = """# The lighthouse

## Duties

The keeper trims the wick at dusk and winds the clockwork that turns the lens.

## Weather

Every morning the keeper writes the wind, the sea and the sky in the log book.
"""
ORBIT = """# Orbit

## Install

On Windows, run orbit-setup.exe as administrator and restart when it asks.

## Files

Orbit reads its options from orbit.toml, in the .config folder of your home.
"""
CAMERA = """# The camera

The settings of the camera are stored on its memory card, in a file named CAMERA.CFG.
Charge the battery for three hours before the first use.
"""
GARDEN = "Tomatoes want sun and steady water; their leaves curl when the soil dries out.\n"
BREAD = "Bread rises because yeast eats sugar and breathes out bubbles of gas into the dough.\n"
NOTES = DocumentChoice(("Notes",), documents_only=False)


@pytest.fixture
def app(installed_embedder: InstalledModel, lantern: Lantern) -> Lantern:
    """A whole Lantern with the starter model to answer and the embedder to retrieve."""
    return lantern


@pytest.fixture
def notes(app: Lantern, tmp_path: Path) -> Path:
    """A small library, "Notes", indexed."""
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in [
        ("keeper.md", KEEPER),
        ("orbit.md", ORBIT),
        ("camera.md", CAMERA),
        ("garden.txt", GARDEN),
        ("bread.txt", BREAD),
    ]:
        (folder / name).write_text(text)
    app.documents.add([folder], "Notes")
    index(app)
    return folder


def index(app: Lantern) -> None:
    run = app.documents.index()
    list(run)
    assert run.outcome is not None and run.outcome.status == "complete"


def answered(turn: ChatTurn) -> str:
    text = "".join(turn)
    assert turn.outcome is not None and turn.outcome.status == "complete"
    return text


def test_an_answer_keeps_its_sources_and_the_model_was_shown_them(
    app: Lantern, notes: Path
) -> None:
    turn = app.chat.send(
        "What does the lighthouse man note down each morning?",
        documents=NOTES,
        max_tokens=24,
        temperature=0,
    )
    answered(turn)
    assert turn.outcome is not None and turn.outcome.stats is not None
    sources = turn.outcome.answer.sources
    assert [s.number for s in sources] == list(range(1, len(sources) + 1))
    best = sources[0]
    assert best.path == str(notes / "keeper.md") and "log book" in best.text
    assert best.heading == "The lighthouse > Weather"
    assert KEEPER[best.start : best.end] == best.text
    # What the chat view reads back: the sources stored with the answer.
    view = app.chat.thread_view(turn.conversation.id)
    assert view.messages[-1].sources == sources
    assert app.chat.documents_for(turn.conversation.id) == NOTES

    # The model was given exactly this prompt (its token count is the one it read), and the
    # prompt holds the numbered passage.
    with app.engines.preview(turn.model, "interactive", "test") as preview:
        rendered = preview.render_chat(turn.prompt)
    assert rendered.tokens == turn.outcome.stats.prompt_tokens
    assert "[1] keeper.md, The lighthouse > Weather" in rendered.text
    assert best.text.strip() in rendered.text


def test_a_follow_up_stays_on_the_document_of_the_conversation(app: Lantern, notes: Path) -> None:
    follow_up = "and where are its settings stored?"
    # Asked alone, the follow-up is taken to be about the camera.
    alone = app.chat.send(follow_up, documents=NOTES, max_tokens=8, temperature=0)
    answered(alone)
    assert alone.outcome is not None
    assert alone.outcome.answer.sources[0].path == str(notes / "camera.md")

    first = app.chat.send(
        "How do I install Orbit on Windows?", documents=NOTES, max_tokens=8, temperature=0
    )
    answered(first)
    second = app.chat.send(follow_up, conversation_id=first.conversation.id, max_tokens=8)
    answered(second)
    assert second.outcome is not None
    sources = second.outcome.answer.sources
    assert sources[0].path == str(notes / "orbit.md")
    options = next(s for s in sources if "orbit.toml" in s.text)
    camera = [s for s in sources if s.path == str(notes / "camera.md")]
    assert all(options.number < s.number for s in camera)  # Orbit's answer ranks first


def test_only_from_my_documents_says_when_nothing_there_answers(app: Lantern, notes: Path) -> None:
    only = DocumentChoice(("Notes",), documents_only=True)
    turn = app.chat.send("Who won the football World Cup in 1998?", documents=only)
    assert answered(turn) == not_found_answer()
    assert turn.outcome is not None
    assert turn.outcome.stats is None  # said, not generated
    assert turn.outcome.answer.sources == ()
    assert app.chat.conversation(turn.conversation.id)[1][-1].content == not_found_answer()

    # A question the documents answer is answered from them.
    found = app.chat.send(
        "Why do tomato leaves roll up?", conversation_id=turn.conversation.id, max_tokens=8
    )
    answered(found)
    assert found.outcome is not None and found.outcome.stats is not None
    assert found.outcome.answer.sources[0].path == str(notes / "garden.txt")


def test_the_passages_fit_a_tiny_context_window_beside_the_conversation_and_the_answer(
    app: Lantern, tmp_path: Path
) -> None:
    window = 512
    app.change_settings(context_length=window)  # before the engines are first used
    # A library of long passages: eight of them would fill the window many times over.
    guide = tmp_path / "guide.md"
    guide.write_text(
        "\n\n".join(
            f"## Step {n}\n\n"
            + " ".join(
                f"In step {n}, the keeper checks lamp number {k} and writes its state in the log."
                for k in range(12)
            )
            for n in range(12)
        )
    )
    app.documents.add([guide], "Guide")
    index(app)
    turn = app.chat.send(
        "What does the keeper write in the log?",
        documents=DocumentChoice(("Guide",), documents_only=False),
        max_tokens=64,
        temperature=0,
    )
    answered(turn)
    outcome = turn.outcome
    assert outcome is not None and outcome.stats is not None and outcome.model is not None
    assert outcome.model.context_length == window
    assert outcome.stats.dropped_messages == 0  # nothing of the conversation was pushed out
    assert outcome.stats.prompt_tokens + 64 <= window  # and the answer had its room
    assert 1 <= len(outcome.answer.sources) < 4
    assert all(s.path == str(guide) for s in outcome.answer.sources)


def test_an_answer_cut_short_by_a_crash_keeps_its_sources_and_goes_on_from_them(
    app: Lantern, notes: Path
) -> None:
    turn = app.chat.send(
        "Tell me everything the lighthouse keeper does, at length.",
        documents=NOTES,
        max_tokens=300,
    )
    pieces = []
    with pytest.raises(EngineCrashed):
        for piece in turn:
            pieces.append(piece)
            if len(pieces) == 3:  # before its first flush: the sources go with its end
                os.kill(engine_pid_of(app, "chat"), signal.SIGKILL)
    stored = app.chat.conversation(turn.conversation.id)[1][-1]
    assert stored.status == "interrupted" and stored.content == "".join(pieces)
    assert stored.sources and stored.sources[0].path == str(notes / "keeper.md")

    # Going on, the answer is given the same passages, under the same numbers, once.
    more = app.chat.continue_answer(turn.answer_id, max_tokens=8)
    answered(more)
    assert more.outcome is not None and more.outcome.answer.sources == stored.sources
    assert more.prompt[0].content == turn.prompt[0].content


def test_an_unknown_library_is_refused_before_anything_is_stored(app: Lantern) -> None:
    with pytest.raises(LibraryNotFound, match="no library called 'Nowhere'"):
        app.chat.send("Hello?", documents=DocumentChoice(("Nowhere",), documents_only=False))
    assert app.chat.list_conversations() == []
