"""A chat turn through the service: committed first, flushed while streaming, kept on failure."""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from engine_processes import engine_pid_of

from desktop.errors import (
    ContextOverflow,
    ConversationNotFound,
    EngineCrashed,
    LanternError,
    ModelLoadFailed,
    NoModelInstalled,
    NotEnoughMemory,
)
from desktop.models import machine
from desktop.models.fit import RAM_HEADROOM_BYTES
from desktop.services.chat import ChatTurnRun, ModelReady, TurnStarted
from desktop.store.repositories import NewConversation, NewMessage

pytestmark = pytest.mark.engine

LONG = "Write a very long story about a lighthouse keeper and her thirty logbooks."


def test_a_turn_is_stored_with_its_stats(lantern: Any) -> None:
    turn = lantern.chat.send("Say hello.", max_tokens=24, temperature=0)
    text = "".join(turn)
    assert turn.outcome.status == "complete"
    conversation, messages = lantern.chat.conversation(turn.conversation.id)
    assert conversation.title == "Say hello."
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].content == text and messages[1].parent_id == messages[0].id
    assert messages[1].stats["generated_tokens"] == turn.outcome.stats.generated_tokens
    assert messages[1].stats["model_id"] == "SmolLM2-135M-Instruct.Q4_1"


def test_the_users_message_is_committed_before_generation(lantern: Any) -> None:
    turn = lantern.chat.send("Remember this question.", max_tokens=8)
    # Nothing generated yet: the question and an empty streaming answer are already stored.
    _, messages = lantern.chat.conversation(turn.conversation.id)
    assert [(m.role, m.status) for m in messages] == [
        ("user", "complete"),
        ("assistant", "streaming"),
    ]
    list(turn)


def test_a_follow_up_continues_the_conversation(lantern: Any) -> None:
    first = lantern.chat.send("My name is Ada.", max_tokens=8)
    list(first)
    second = lantern.chat.send(
        "What is my name?", conversation_id=first.conversation.id, max_tokens=8
    )
    list(second)
    _, messages = lantern.chat.conversation(first.conversation.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert second.outcome.stats.prompt_tokens > first.outcome.stats.prompt_tokens


def test_a_turn_run_says_when_the_message_is_stored_and_the_model_is_ready(lantern: Any) -> None:
    """The window's run of a turn: TurnStarted, ModelReady, then the answer's pieces."""
    chat = lantern.chat
    run = ChatTurnRun(chat, chat.send("Say hello.", max_tokens=8, temperature=0))
    started, ready, *pieces = list(run)
    assert isinstance(started, TurnStarted) and isinstance(ready, ModelReady)
    assert started.user.content == "Say hello." and started.user.role == "user"
    assert (started.answer.status, started.answer.content) == ("streaming", "")
    assert started.answer.parent_id == started.user.id
    assert started.conversation_id == started.user.conversation_id
    assert started.user_branch == started.answer_branch == (1, 1)
    assert ready.model.model_path.endswith(".gguf") and ready.model.context_length > 0
    assert pieces and all(isinstance(piece, str) for piece in pieces)
    assert run.outcome is not None and run.outcome.status == "complete"
    assert run.outcome.answer.content == "".join(pieces)

    # A second answer to the same question says where it stands among the two.
    again = ChatTurnRun(chat, chat.regenerate(started.answer.id, max_tokens=4))
    again.cancel()  # before it began: stored, then stopped before the model is even lent
    began, *nothing = list(again)
    assert isinstance(began, TurnStarted) and began.answer_branch == (2, 2)
    assert nothing == [] and again.outcome is not None and again.outcome.status == "stopped"


def test_stop_keeps_the_partial_answer_marked_stopped(lantern: Any) -> None:
    turn = lantern.chat.send(LONG, max_tokens=400)
    pieces = []
    for piece in turn:
        pieces.append(piece)
        if len(pieces) == 3:
            turn.cancel()
    assert turn.outcome.status == "stopped"
    stored = lantern.chat.conversation(turn.conversation.id)[1][-1]
    assert stored.status == "stopped" and stored.content == "".join(pieces)
    assert turn.outcome.stats.generated_tokens < 60


def test_engine_killed_mid_answer_keeps_the_partial_answer_interrupted(lantern: Any) -> None:
    turn = lantern.chat.send(LONG, max_tokens=400)
    pieces = []
    with pytest.raises(EngineCrashed):
        for piece in turn:
            pieces.append(piece)
            if len(pieces) == 3:
                os.kill(engine_pid_of(lantern, "chat"), signal.SIGKILL)
    stored = lantern.chat.conversation(turn.conversation.id)[1][-1]
    assert stored.status == "interrupted"
    assert stored.content == "".join(pieces) and stored.content
    assert "stopped unexpectedly" in stored.error
    # The next request starts a fresh engine and reloads the model by itself.
    again = lantern.chat.send("Hello again.", conversation_id=turn.conversation.id, max_tokens=8)
    assert "".join(again) and again.outcome.status == "complete"


def test_the_answer_is_flushed_while_it_streams(lantern: Any) -> None:
    turn = lantern.chat.send(LONG, max_tokens=300, temperature=0)
    seen_in_store = ""
    for i, _piece in enumerate(turn):
        if i == 30:  # about a second into the answer at this model's speed
            seen_in_store = lantern.chat.conversation(turn.conversation.id)[1][-1].content
    assert seen_in_store, "part of the answer was on disk before the answer ended"


def test_clear_errors_for_bad_requests(lantern: Any) -> None:
    with pytest.raises(ConversationNotFound, match="no conversation 999"):
        lantern.chat.send("hi", conversation_id=999)
    with pytest.raises(LanternError, match="empty"):
        lantern.chat.send("   ")
    lantern.models.remove("SmolLM2-135M-Instruct.Q4_1")
    with pytest.raises(NoModelInstalled, match=r"^No model is installed yet\.$"):
        lantern.chat.send("hi")


def test_a_model_that_fails_to_load_leaves_the_answer_marked_failed(lantern: Any) -> None:
    turn = lantern.chat.send("Hello?", max_tokens=8)
    # The file is replaced by a damaged one after it was chosen (a new file: the installed one
    # is a hard link shared with other tests).
    turn.model.path.unlink()
    turn.model.path.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelLoadFailed, match="Could not load"):
        turn.load_model()
    _, messages = lantern.chat.conversation(turn.conversation.id)
    assert messages[0].content == "Hello?"
    assert messages[1].status == "failed" and "Could not load" in messages[1].error


def test_a_model_too_big_for_memory_is_refused_with_what_would_fit(
    lantern: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The machine is the boundary: report no GPU and 260 MB of RAM beyond the 512 MiB Lantern
    # leaves to the system. The starter needs about 280 MB at the default 4,096-token context
    # and about 240 MB at 2,048.
    available = RAM_HEADROOM_BYTES + 260_000_000
    real = psutil.virtual_memory
    monkeypatch.setattr(psutil, "virtual_memory", lambda: real()._replace(available=available))
    monkeypatch.setattr(machine, "nvidia_free_bytes", lambda: 0)
    turn = lantern.chat.send("Hello?", max_tokens=8)
    with pytest.raises(NotEnoughMemory) as refused:
        turn.load_model()
    message = str(refused.value)
    assert message.startswith("SmolLM2-135M-Instruct.Q4_1 cannot be loaded. Does not fit: needs")
    assert re.search(r"or a context of [\d,]+ tokens or less\.$", message), message
    assert lantern.engines.engines() == [], "nothing was loaded"
    _, messages = lantern.chat.conversation(turn.conversation.id)
    assert messages[0].content == "Hello?"
    assert messages[1].status == "failed" and "cannot be loaded" in messages[1].error


def test_regenerate_and_edit_make_branches_and_keep_the_old_ones(lantern: Any) -> None:
    chat = lantern.chat
    first = chat.send("Say hello.", max_tokens=6, temperature=0)
    "".join(first)
    conversation_id = first.conversation.id
    question_id = first.user_message.id

    again = chat.regenerate(first.answer_id, max_tokens=6, temperature=1.0)
    "".join(again)
    assert again.outcome.status == "complete"
    assert chat.branches(again.answer_id) == (2, 2)
    _, thread = chat.conversation(conversation_id)
    assert [m.id for m in thread] == [question_id, again.answer_id]

    shown = chat.show_branch(first.answer_id)  # `< 1/2`
    assert [m.id for m in shown] == [question_id, first.answer_id]

    edited = chat.edit(question_id, "Say goodbye.", max_tokens=6, temperature=0)
    "".join(edited)
    _, thread = chat.conversation(conversation_id)
    assert thread[0].content == "Say goodbye."
    assert chat.branches(thread[0].id) == (2, 2)
    # The original question and both its answers are still there, one branch away.
    original = chat.show_branch(question_id)
    assert original[0].content == "Say hello."
    assert original[-1].id == again.answer_id, "the newest answer on that branch"
    # A follow-up goes on from the branch shown.
    follow = chat.send("And again?", conversation_id=conversation_id, max_tokens=4)
    "".join(follow)
    _, thread = chat.conversation(conversation_id)
    assert [m.id for m in thread[:2]] == [question_id, again.answer_id]
    assert [m.id for m in thread[2:]] == [follow.user_message.id, follow.answer_id]


def test_only_answers_regenerate_and_only_user_messages_are_edited(lantern: Any) -> None:
    turn = lantern.chat.send("Hi", max_tokens=4)
    "".join(turn)
    with pytest.raises(LanternError, match="Only an answer"):
        lantern.chat.regenerate(turn.user_message.id)
    with pytest.raises(LanternError, match="Only your own messages"):
        lantern.chat.edit(turn.answer_id, "changed")


@pytest.fixture
def small_context(installed_starter: Any) -> Iterator[Any]:
    """A Lantern whose chats load the model with a 384-token context window."""
    from desktop.paths import app_paths
    from desktop.services.app import Lantern
    from desktop.settings import Settings, save_settings

    save_settings(app_paths().settings_file, Settings(context_length=384))
    app = Lantern()
    yield app
    app.close()


PARAGRAPH = (
    "The lighthouse keeper wrote in her logbook every night: the weather, the ships that "
    "passed, the oil she burned, and the names of the gulls she had come to know. "
)


def test_a_long_conversation_drops_its_oldest_turns_and_says_so(small_context: Any) -> None:
    chat = small_context.chat
    conversation_id = None
    for turn_number in range(4):
        turn = chat.send(
            f"Turn {turn_number}. {PARAGRAPH}",
            conversation_id=conversation_id,
            max_tokens=40,
            temperature=0,
        )
        "".join(turn)
        conversation_id = turn.conversation.id
        assert turn.outcome.status == "complete", turn.outcome.error
    dropped = turn.outcome.stats.dropped_messages
    assert dropped >= 2 and dropped % 2 == 0, "whole old turns left out to fit 384 tokens"
    assert turn.outcome.answer.stats["dropped_messages"] == dropped, "stored with the answer"
    _, thread = chat.conversation(conversation_id)
    assert len(thread) == 8, "nothing is deleted: only left out of the prompt"

    small_context.history.conversations.change(conversation_id, context_policy="stop")
    refused = chat.send(PARAGRAPH, conversation_id=conversation_id, max_tokens=40)
    with pytest.raises(ContextOverflow, match="leave out the oldest messages"):
        "".join(refused)
    _, thread = chat.conversation(conversation_id)
    assert thread[-2].content == PARAGRAPH, "the user's message is kept"
    assert thread[-1].status == "failed"


def test_an_answer_cut_short_can_be_continued(lantern: Any) -> None:
    turn = lantern.chat.send(LONG, max_tokens=200, temperature=0)
    pieces = []
    for piece in turn:
        pieces.append(piece)
        if len(pieces) == 4:
            turn.cancel()
    cut = "".join(pieces)
    assert turn.outcome.status == "stopped"

    more = lantern.chat.continue_answer(turn.answer_id, max_tokens=12)
    added = "".join(more)
    assert more.outcome.status == "complete" and added
    assert more.outcome.answer.id == turn.answer_id, "the same answer, not a new one"
    assert more.outcome.answer.content == cut + added
    with pytest.raises(LanternError, match="cut short"):
        lantern.chat.continue_answer(turn.answer_id)


def test_a_conversation_remembers_its_own_parameters_and_context_use(lantern: Any) -> None:
    chat = lantern.chat
    first = chat.send("Count to twenty.", max_tokens=30, temperature=0)
    "".join(first)
    conversation_id = first.conversation.id
    chat.set_parameters(
        conversation_id, system_prompt="Answer in French.", sampling={"max_tokens": 3}
    )
    short = chat.send("Count to twenty again.", conversation_id=conversation_id)
    "".join(short)
    assert short.outcome.stats.generated_tokens <= 3, "the conversation's max_tokens applies"
    assert lantern.chat.conversation(conversation_id)[0].system_prompt == "Answer in French."
    used, window = chat.context_usage(conversation_id)
    assert window == 4096 and used == (
        short.outcome.stats.prompt_tokens + short.outcome.stats.generated_tokens
    )
    with pytest.raises(LanternError, match="'warmth' is not a sampling setting"):
        chat.set_parameters(conversation_id, sampling={"warmth": 1})


def test_a_conversation_stored_with_unusable_settings_opens_and_goes_on(
    lantern: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """As an older Lantern could have stored it (the store takes any JSON): a temperature that
    is text, an answer length of 0, a context policy no Lantern knows. The next turn uses what
    can be used, within its range, and the log says what was not."""
    record = lantern.history.conversations.insert(
        NewConversation(
            title="From an older Lantern",
            messages=(
                NewMessage(key=1, parent=None, role="user", content="Say hi."),
                NewMessage(key=2, parent=1, role="assistant", content="Hi."),
            ),
            sampling={"temperature": "warm", "max_tokens": 0, "top_k": -5},
            context_policy="forget_everything",
        )
    )
    with caplog.at_level(logging.WARNING, logger="desktop.services.chat"):
        turn = lantern.chat.send("Say it again.", conversation_id=record.id)
        answer = "".join(turn)
    assert turn.outcome.status == "complete" and answer
    assert turn.outcome.stats.generated_tokens == 1, "max_tokens 0 is taken as 1"
    assert "temperature 'warm' is not a number" in caplog.text
    assert "unknown context policy 'forget_everything', drop_middle used" in caplog.text
    _, thread = lantern.chat.conversation(record.id)
    assert [m.content for m in thread] == ["Say hi.", "Hi.", "Say it again.", answer]
