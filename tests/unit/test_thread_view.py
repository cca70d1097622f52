"""What the window shows of a conversation, without Qt: the branch shown, the arrows of the
messages that have alternatives, and the message to bring into view (a search result, the
version an arrow chose). Against a real SQLite store (a whole Lantern, without a model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.errors import ConversationNotFound
from desktop.services.app import Lantern
from desktop.store.repositories import NewConversation, NewMessage


@pytest.fixture
def lantern(lantern_home: Path) -> Iterator[Lantern]:
    app = Lantern()
    yield app
    app.close()


def branched(lantern: Lantern) -> dict[str, int]:
    """A question with an older and a newer answer, each followed up; the newer branch shown.
    The messages' ids by their text."""
    messages = (
        NewMessage(key=0, parent=None, role="user", content="question"),
        NewMessage(key=1, parent=0, role="assistant", content="older answer"),
        NewMessage(key=2, parent=0, role="assistant", content="newer answer"),
        NewMessage(key=3, parent=1, role="user", content="on the older"),
        NewMessage(key=4, parent=3, role="assistant", content="older end"),
        NewMessage(key=5, parent=2, role="user", content="on the newer"),
        NewMessage(key=6, parent=5, role="assistant", content="newer end"),
    )
    new = NewConversation(title="Branches", messages=messages, current_leaf=6)
    record = lantern.history.conversations.insert(new)
    ids = {m.content: m.id for m in lantern.history.messages.all(record.id)}
    return {"conversation": record.id, **ids}


def texts(view) -> list[str]:
    return [m.content for m in view.messages]


def test_the_branch_shown_at_its_end(lantern) -> None:
    ids = branched(lantern)
    view = lantern.chat.thread_view(ids["conversation"])
    assert texts(view) == ["question", "newer answer", "on the newer", "newer end"]
    assert view.branches == {ids["newer answer"]: (2, 2)}
    assert view.focus is None
    assert view.conversation.id == ids["conversation"] and view.conversation.title == "Branches"


def test_a_message_on_another_branch_turns_the_thread_to_it(lantern) -> None:
    ids = branched(lantern)
    view = lantern.chat.thread_view(ids["conversation"], through=ids["older end"])
    assert texts(view) == ["question", "older answer", "on the older", "older end"]
    assert view.branches == {ids["older answer"]: (1, 2)}
    assert view.focus == ids["older end"]
    # It is the branch shown from now on, as the conversation reads anywhere.
    again = lantern.chat.thread_view(ids["conversation"])
    assert texts(again) == texts(view)
    assert again.conversation.current_leaf_id == ids["older end"]


def test_a_message_on_the_branch_shown_leaves_it_as_it_is(lantern) -> None:
    ids = branched(lantern)
    view = lantern.chat.thread_view(ids["conversation"], through=ids["question"])
    assert texts(view) == ["question", "newer answer", "on the newer", "newer end"]
    assert view.focus == ids["question"]


def test_the_arrows_step_to_the_neighbouring_version_and_stop_at_the_ends(lantern) -> None:
    ids = branched(lantern)
    conversation = ids["conversation"]
    back = lantern.chat.thread_view(conversation, through=ids["newer answer"], step=-1)
    assert back.focus == ids["older answer"]
    assert texts(back) == ["question", "older answer", "on the older", "older end"]
    assert back.branches == {ids["older answer"]: (1, 2)}
    # Past the first version, the first; past the last, the last.
    first = lantern.chat.thread_view(conversation, through=ids["older answer"], step=-1)
    assert first.focus == ids["older answer"]
    forward = lantern.chat.thread_view(conversation, through=ids["older answer"], step=5)
    assert forward.focus == ids["newer answer"]
    assert texts(forward) == ["question", "newer answer", "on the newer", "newer end"]


def test_the_arrows_agree_with_branches_for_first_messages_too(lantern) -> None:
    """An edited first message: alternatives without a parent."""
    ids = branched(lantern)
    conversation = ids["conversation"]
    edited = lantern.chat.messages.add(conversation, "user", "question, again", parent_id=None)
    view = lantern.chat.thread_view(conversation)
    assert texts(view) == ["question, again"]
    assert view.branches == {edited.id: (2, 2)} == {edited.id: lantern.chat.branches(edited.id)}
    older = lantern.chat.thread_view(conversation, through=edited.id, step=-1)
    assert older.branches == {
        m.id: lantern.chat.branches(m.id)
        for m in older.messages
        if lantern.chat.branches(m.id)[1] > 1
    }
    assert older.branches[ids["question"]] == (1, 2)


def test_a_conversation_without_alternatives_has_no_arrows(lantern) -> None:
    turn = NewConversation(
        title="Plain",
        messages=(
            NewMessage(key=0, parent=None, role="user", content="hello"),
            NewMessage(key=1, parent=0, role="assistant", content="hi"),
        ),
    )
    record = lantern.history.conversations.insert(turn)
    view = lantern.chat.thread_view(record.id)
    assert texts(view) == ["hello", "hi"] and view.branches == {}


def test_a_deleted_conversation_is_said_to_be_gone(lantern) -> None:
    ids = branched(lantern)
    lantern.history.delete(ids["conversation"])
    with pytest.raises(ConversationNotFound, match=f"no conversation {ids['conversation']}"):
        lantern.chat.thread_view(ids["conversation"])
