"""Importing a conversation file: every field of Lantern's JSON and of an OpenAI-style message
list is checked, a refused file names what is wrong and leaves nothing stored, and whatever is
stored opens and goes on. Against a real SQLite store (a whole Lantern, without a model)."""

from __future__ import annotations

import copy
import io
import json
import logging
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.engine.protocol import Sampling
from desktop.errors import InvalidConversationFile, LanternError
from desktop.services.app import Lantern
from desktop.services.chat import ConversationParameters, default_sampling
from desktop.services.history import IMPORT_LIMIT_BYTES
from desktop.store.repositories import NewConversation, NewMessage
from desktop.tasks.chat import chat_messages
from desktop.tasks.conversation_files import FORMAT, ROLES, STATUSES
from desktop.tasks.sampling_fields import (
    CONTEXT_POLICIES,
    SAMPLING_FIELDS,
    sampling_problem,
    usable_sampling,
)

Document = dict[str, Any]


@pytest.fixture
def lantern(lantern_home: Path) -> Iterator[Lantern]:
    app = Lantern()
    yield app
    app.close()


def stored_export(lantern: Lantern) -> Document:
    """Lantern's own JSON of a conversation with two branches, a stopped answer, its stats
    and its own sampling: what a real export holds."""
    conversations, messages = lantern.history.conversations, lantern.history.messages
    c = conversations.create("Lighthouses", model_id="m1", system_prompt="Be brief.")
    q = messages.add(c.id, "user", "Who keeps a lighthouse?", parent_id=None)
    a = messages.add(c.id, "assistant", "", parent_id=q.id, status="streaming", model_id="m1")
    stats = {"model_id": "m1", "context_length": 4096, "prompt_tokens": 20,
             "cached_prompt_tokens": 0, "generated_tokens": 7, "time_to_first_token_s": 0.1,
             "prompt_tokens_per_s": 200.0, "generation_tokens_per_s": 50.5, "total_s": 0.3,
             "dropped_messages": 0, "seed": 1234}  # fmt: skip
    messages.finish(a.id, content="A keeper.", status="stopped", stats=stats)
    messages.add(c.id, "user", "And at night?", parent_id=a.id)
    messages.add(c.id, "assistant", "She writes logbooks.", parent_id=q.id, model_id="m1")
    lantern.chat.set_parameters(
        c.id, sampling={"temperature": 0.3, "seed": 7, "top_k": 20}, context_policy="stop"
    )
    document: Document = json.loads(lantern.history.export(c.id, "json"))
    lantern.history.delete(c.id)
    lantern.history.conversations.purge_deleted()
    return document


def import_document(lantern: Lantern, document: Any) -> int:
    return lantern.history.import_text(json.dumps(document), "chat.json").id


def refused(lantern: Lantern, text: str) -> str:
    """The message a refused import gives; the store holds no conversation afterwards."""
    with pytest.raises(InvalidConversationFile) as caught:
        lantern.history.import_text(text, "chat.json")
    assert lantern.history.list_conversations() == [], "a refused file stores nothing"
    return caught.value.message


def assert_opens_and_continues(lantern: Lantern, conversation_id: int) -> None:
    """What the user does next: open it, export it, open its settings, send a message."""
    record, thread = lantern.chat.conversation(conversation_id)
    assert len(thread) <= record.message_count
    for fmt in ("json", "md", "html"):
        assert lantern.history.export(conversation_id, fmt)  # type: ignore[arg-type]
    parameters = ConversationParameters.of(record)
    assert parameters.context_policy in CONTEXT_POLICIES
    assert all(sampling_problem(k, v) is None for k, v in parameters.sampling.items())
    Sampling(**(default_sampling(lantern.settings) | parameters.sampling))
    prompt = chat_messages(record.system_prompt, thread)
    assert all(m.role in ROLES and isinstance(m.content, str) for m in prompt)
    again = lantern.history.import_text(lantern.history.export(conversation_id, "json"), "copy")
    assert again.message_count == record.message_count, "its export imports whole"


# ---- the hostile files of the issue, each refused by name ----


def lantern_file(**changes: Any) -> Callable[[Document], Document]:
    def change(document: Document) -> Document:
        return document | changes

    return change


def message_field(index: int, **changes: Any) -> Callable[[Document], Document]:
    def change(document: Document) -> Document:
        document["messages"][index] |= changes
        return document

    return change


HOSTILE = {
    "messages holding strings": (
        lantern_file(messages=["hello", "there"]),
        "chat.json, message 1 must be an object with 'id', 'role', 'content'.",
    ),
    "parent a list": (
        message_field(1, parent=[1]),
        "chat.json, message 2: 'parent' must be the id of an earlier message, or null.",
    ),
    "parent a later message": (
        message_field(1, parent=3),
        "chat.json, message 2: 'parent' must be the id of an earlier message, or null.",
    ),
    "current_leaf a list": (
        lantern_file(current_leaf=[4]),
        "chat.json: 'current_leaf' must be the id of one of its messages, or null.",
    ),
    "current_leaf unknown": (
        lantern_file(current_leaf=99),
        "chat.json: 'current_leaf' must be the id of one of its messages, or null.",
    ),
    "sampling text": (
        lantern_file(sampling="abc"),
        "chat.json: 'sampling' must be an object of sampling settings, or null.",
    ),
    "sampling a list": (
        lantern_file(sampling=[0.7]),
        "chat.json: 'sampling' must be an object of sampling settings, or null.",
    ),
    "sampling out of range": (
        lantern_file(sampling={"temperature": 99}),
        "chat.json: in 'sampling', 'temperature' must be a number from 0 to 5.",
    ),
    "sampling of the wrong kind": (
        lantern_file(sampling={"top_k": 2.5}),
        "chat.json: in 'sampling', 'top_k' must be a whole number from 0 to 1000.",
    ),
    "sampling not a number": (
        lantern_file(sampling={"seed": "lucky"}),
        "chat.json: in 'sampling', 'seed' must be a whole number from 0 to 2147483647, or null.",
    ),
    "sampling unknown": (
        lantern_file(sampling={"warmth": 1}),
        "chat.json: in 'sampling', 'warmth' is not a sampling setting",
    ),
    "unknown context policy": (
        lantern_file(context_policy="forget_everything"),
        "chat.json: 'context_policy' must be one of drop_middle, stop.",
    ),
    "id true": (
        message_field(0, id=True),
        "chat.json, message 1: 'id' must be a whole number used by no other message.",
    ),
    "id used twice": (
        message_field(1, id=1),
        "chat.json, message 2: 'id' must be a whole number used by no other message.",
    ),
    "unknown role": (
        message_field(2, role="tool"),
        "chat.json, message 3: 'role' must be one of system, user, assistant.",
    ),
    "content a number": (
        message_field(0, content=42),
        "chat.json, message 1: 'content' must be text or a list of text parts.",
    ),
    "unknown status": (
        message_field(1, status="exploded"),
        "chat.json, message 2: 'status' must be one of complete, stopped, interrupted, failed.",
    ),
    "model_id a number": (
        message_field(1, model_id=5),
        "chat.json, message 2: 'model_id' must be a model id (text of at most 500 characters).",
    ),
    "stats text": (
        message_field(1, stats="fast"),
        "chat.json, message 2: 'stats' must be an object of figures, or null.",
    ),
    "stats figure text": (
        message_field(1, stats={"generated_tokens": "many"}),
        "chat.json, message 2: 'stats.generated_tokens' must be a whole number from 0 to "
        "2147483647, or null.",
    ),
    "stats window too large for the meter": (
        message_field(1, stats={"context_length": 10**12}),
        "chat.json, message 2: 'stats.context_length' must be a whole number from 0 to",
    ),
    "stats speed not finite": (
        message_field(1, stats={"generation_tokens_per_s": float("nan")}),
        "chat.json, message 2: 'stats.generation_tokens_per_s' must be a number of at least 0",
    ),
    "error a list": (
        message_field(1, error=["boom"]),
        "chat.json, message 2: 'error' must be text or null.",
    ),
    "time not a time": (
        message_field(0, created_at="yesterday"),
        "chat.json, message 1: 'created_at' must be a date and time such as",
    ),
    "time a number": (
        lantern_file(updated_at=1700000000),
        "chat.json: 'updated_at' must be a date and time such as",
    ),
    "title a list": (lantern_file(title=["a"]), "chat.json: 'title' must be text or null."),
    "system prompt an object": (
        lantern_file(system_prompt={}),
        "chat.json: 'system_prompt' must be text or null.",
    ),
    "pinned text": (lantern_file(pinned="yes"), "chat.json: 'pinned' must be true or false."),
    "half a character": (
        message_field(0, content="Who keeps \ud800 a lighthouse?"),
        "chat.json, message 1: 'content' must be text or a list of text parts.",
    ),
    "no messages": (lantern_file(messages=None), "chat.json: 'messages' must be a list"),
    "version as text": (lantern_file(version="1"), "chat.json: 'version' must be 1."),
    "a newer Lantern": (
        lantern_file(version=2),
        "chat.json was written by a newer Lantern (format version 2); update Lantern",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_lantern_file_is_refused_by_name_and_nothing_is_stored(
    lantern: Lantern, case: str
) -> None:
    document = stored_export(lantern)
    import_document(lantern, document)  # the file as exported imports...
    for record in lantern.history.list_conversations():
        lantern.history.delete(record.id)
    lantern.history.conversations.purge_deleted()

    change, message = HOSTILE[case]
    hostile = change(copy.deepcopy(document))
    assert refused(lantern, json.dumps(hostile)).startswith(message)  # ...this one does not


MESSAGE_LISTS = {
    "strings": (["hello"], 'chat.json, message 1 must be {"role": ..., "content": ...}.'),
    "a text part that is a number": (
        [{"role": "user", "content": [{"type": "text", "text": 5}]}],
        "chat.json, message 1: the 'text' of content part 1 must be text.",
    ),
    "a part that is a string": (
        [{"role": "user", "content": ["hi"]}],
        'chat.json, message 1: content part 1 must be an object like {"type": "text"',
    ),
    "content missing": (
        [{"role": "user"}],
        "chat.json, message 1: 'content' must be text or a list of text parts.",
    ),
    "a role that is a list": (
        [{"role": ["user"], "content": "hi"}],
        "chat.json, message 1: 'role' must be one of system, user, assistant.",
    ),
}


@pytest.mark.parametrize("case", MESSAGE_LISTS, ids=list(MESSAGE_LISTS))
def test_a_hostile_message_list_is_refused_by_name(lantern: Lantern, case: str) -> None:
    items, message = MESSAGE_LISTS[case]
    assert refused(lantern, json.dumps(items)).startswith(message)
    assert refused(lantern, json.dumps({"messages": items})).startswith(message)


@pytest.mark.parametrize("bracket", ["[", '{"a":'])
def test_json_nested_100000_deep_is_refused_not_a_traceback(lantern: Lantern, bracket: str) -> None:
    closing = "]" if bracket == "[" else "}"
    text = bracket * 100_000 + "1" + closing * 100_000
    assert refused(lantern, text) == (
        "chat.json is nested too deeply to be a conversation. Lantern imports its own JSON "
        'export or a list of {"role": ..., "content": ...} messages.'
    )


def test_a_file_that_is_not_utf8_is_refused_and_one_with_a_byte_order_mark_imports(
    lantern: Lantern, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.json"
    latin.write_bytes('[{"role": "user", "content": "café"}]'.encode("latin-1"))
    with pytest.raises(InvalidConversationFile, match=r"latin\.json is not UTF-8 text"):
        lantern.history.import_file(latin)
    assert lantern.history.list_conversations() == []

    notepad = tmp_path / "notepad.json"
    notepad.write_bytes('[{"role": "user", "content": "café"}]'.encode("utf-8-sig"))
    record = lantern.history.import_file(notepad)
    assert lantern.chat.conversation(record.id)[1][0].content == "café"


def test_a_file_past_the_import_limit_is_refused_before_it_is_read(
    lantern: Lantern, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as file:  # sparse: 300 MB on the books, nothing on the disk
        file.truncate(300 * 10**6)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidConversationFile) as refused:
            lantern.history.import_file(huge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(refused.value) == (
        "huge.json is 300 MB; Lantern imports conversation files of up to 64 MB "
        "(the longest chats export to a few MB)."
    )
    assert peak < 10 * 10**6  # not read
    assert lantern.history.list_conversations() == []


def test_a_stream_past_the_import_limit_is_refused_after_one_byte_more(lantern: Lantern) -> None:
    """Standard input has no size to check first: it is read one byte past the limit."""
    endless = io.BytesIO(b" " * (IMPORT_LIMIT_BYTES + 10))
    with pytest.raises(InvalidConversationFile) as refused:
        lantern.history.import_stream(endless, "standard input")
    assert str(refused.value) == (
        "standard input is more than 64 MB; Lantern imports conversation files of up to 64 MB "
        "(the longest chats export to a few MB)."
    )
    assert endless.tell() == IMPORT_LIMIT_BYTES + 1
    assert lantern.history.list_conversations() == []


def test_an_import_that_fails_midway_stores_nothing(lantern: Lantern) -> None:
    """The store's half of 'nothing on refusal': the conversation and its messages are written
    in one transaction, so a failure at the last message leaves no trace."""
    broken = NewConversation(
        title="Half",
        messages=(
            NewMessage(key=1, parent=None, role="user", content="first"),
            NewMessage(key=2, parent=7, role="assistant", content="no such parent"),
        ),
    )
    with pytest.raises(KeyError):
        lantern.history.conversations.insert(broken)
    assert lantern.history.list_conversations() == []
    assert lantern.history.search("first") == []


# ---- what is accepted, and how it is stored ----


def test_an_export_imports_whole_and_goes_on(lantern: Lantern) -> None:
    document = stored_export(lantern)
    conversation_id = import_document(lantern, document)
    assert json.loads(lantern.history.export(conversation_id, "json")) == document
    record, thread = lantern.chat.conversation(conversation_id)
    assert record.sampling == {"temperature": 0.3, "seed": 7, "top_k": 20}
    assert [m.content for m in thread] == ["Who keeps a lighthouse?", "She writes logbooks."]
    assert_opens_and_continues(lantern, conversation_id)


def test_an_answer_exported_while_streaming_comes_back_cut_short(lantern: Lantern) -> None:
    document = stored_export(lantern)
    document["messages"][1]["status"] = "streaming"
    conversation_id = import_document(lantern, document)
    statuses = [m.status for m in lantern.history.messages.all(conversation_id)]
    assert statuses == ["complete", "interrupted", "complete", "complete"]


def test_times_with_a_zone_are_stored_in_utc(lantern: Lantern) -> None:
    document = stored_export(lantern)
    document["created_at"] = "2024-05-01T14:30:00+02:00"
    document["messages"][0]["created_at"] = "0001-01-01T00:30:00+01:00"  # before year 1
    with pytest.raises(InvalidConversationFile, match="message 1: 'created_at'"):
        import_document(lantern, document)
    document["messages"][0]["created_at"] = None
    record = lantern.chat.conversation(import_document(lantern, document))[0]
    assert record.created_at == datetime(2024, 5, 1, 12, 30)


def test_content_parts_keep_their_text_and_skip_images(lantern: Lantern) -> None:
    items = [
        {"role": "user", "content": [
            {"type": "text", "text": "What is "},
            {"type": "image_url", "image_url": {"url": "data:,"}},
            {"type": "text", "text": "this?"},
        ]},
        {"role": "assistant", "content": "A lighthouse."},
    ]  # fmt: skip
    conversation_id = import_document(lantern, items)
    thread = lantern.chat.conversation(conversation_id)[1]
    assert [m.content for m in thread] == ["What is this?", "A lighthouse."]


# ---- a conversation stored with bad values still opens and goes on ----


@pytest.mark.parametrize(
    ("stored", "usable"),
    [
        ("abc", {}),
        ([0.7, 0.9], {}),
        ({"temperature": 99, "top_k": -3, "seed": "x", "warmth": 1}, {"temperature": 5.0,
                                                                      "top_k": 0}),
        ({"max_tokens": 64.7, "top_p": float("nan")}, {"max_tokens": 65}),
    ],
)  # fmt: skip
def test_a_stored_conversation_with_bad_sampling_opens_with_what_can_be_used(
    lantern: Lantern, stored: Any, usable: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """As an older Lantern might have stored it: the store takes any JSON."""
    record = lantern.history.conversations.insert(
        NewConversation(
            title="Old",
            messages=(NewMessage(key=1, parent=None, role="user", content="hi"),),
            sampling=stored,
            context_policy="forget_everything",
        )
    )
    with caplog.at_level(logging.WARNING, logger="desktop.services.chat"):
        parameters = ConversationParameters.of(lantern.chat.conversation(record.id)[0])
    assert parameters.sampling == usable and parameters.context_policy == "drop_middle"
    assert f"Conversation {record.id}: stored sampling" in caplog.text
    assert "unknown context policy 'forget_everything', drop_middle used" in caplog.text
    assert_opens_and_continues(lantern, record.id)


def test_set_parameters_refuses_what_an_import_would_refuse(lantern: Lantern) -> None:
    conversation_id = import_document(lantern, [{"role": "user", "content": "hi"}])
    with pytest.raises(LanternError, match="'temperature' must be a number from 0 to 5"):
        lantern.chat.set_parameters(conversation_id, sampling={"temperature": -1})
    with pytest.raises(LanternError, match="one of drop_middle, stop"):
        lantern.chat.set_parameters(conversation_id, context_policy="forget_everything")
    assert lantern.chat.conversation(conversation_id)[0].sampling is None


def test_continuing_an_answer_that_follows_nothing_is_refused_in_words(lantern: Lantern) -> None:
    document = stored_export(lantern)
    document["messages"] = [document["messages"][1] | {"parent": None}]
    document["current_leaf"] = None
    conversation_id = import_document(lantern, document)
    [answer] = lantern.chat.conversation(conversation_id)[1]
    assert answer.status == "stopped"
    with pytest.raises(LanternError, match="follows no message of yours"):
        lantern.chat.continue_answer(answer.id)


def test_the_sampling_table_covers_every_setting_but_the_stop_sequences() -> None:
    assert set(SAMPLING_FIELDS) == {f.name for f in fields(Sampling)} - {"stop"}
    defaults = Sampling()
    for name, limits in SAMPLING_FIELDS.items():
        assert limits.allows(getattr(defaults, name)), f"{name}'s default is allowed"
    assert usable_sampling({"seed": None, "mirostat": 5}) == (
        {"seed": None, "mirostat": 2},
        ["mirostat 5 taken as 2"],
    )


# ---- fuzz: random files and mutations of a real export ----

ODD_TEXT = st.sampled_from(["\ud800", "a\x00b", "", " ", "1", "user", "stop", "🙂"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-2, max_value=6)
    | st.floats()
    | st.text(max_size=12)
    | ODD_TEXT
)


def json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function: hypothesis reads its source to check that it recurses, which for a
    # lambda spread over lines it may not find (a HypothesisDeprecationWarning, an error here).
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)


JSON_VALUES = st.recursive(SCALARS, json_containers, max_leaves=12)


def fields_of(plausible: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Document]:
    """An object with some of these fields, each plausible or any JSON at all."""
    return st.fixed_dictionaries(
        {}, optional={name: values | JSON_VALUES for name, values in plausible.items()}
    )


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14))])
SMALL_IDS = st.integers(min_value=0, max_value=5)
SAMPLING_VALUES = st.dictionaries(st.sampled_from([*SAMPLING_FIELDS, "stop"]), SCALARS, max_size=4)
MESSAGES = fields_of(
    {
        "id": SMALL_IDS,
        "parent": st.none() | SMALL_IDS,
        "role": st.sampled_from(ROLES),
        "content": st.text(max_size=20)
        | st.lists(fields_of({"type": st.just("text"), "text": st.text(max_size=8)}), max_size=3),
        "status": st.sampled_from([*STATUSES, "streaming"]),
        "model_id": st.text(max_size=8),
        "stats": st.dictionaries(st.sampled_from(["generated_tokens", "total_s", "model_id",
                                                  "context_length", "tokens"]), SCALARS),
        "error": st.text(max_size=8),
        "created_at": st.datetimes().map(datetime.isoformat),
    }
)  # fmt: skip
LANTERN_FILES = fields_of(
    {
        "title": st.text(max_size=20),
        "system_prompt": st.text(max_size=20),
        "model_id": st.text(max_size=8),
        "pinned": st.booleans(),
        "sampling": SAMPLING_VALUES,
        "context_policy": st.sampled_from(CONTEXT_POLICIES),
        "current_leaf": SMALL_IDS,
        "updated_at": st.datetimes(timezones=ZONES).map(datetime.isoformat),
    }
).map(lambda d: d | {"format": FORMAT, "version": 1}) | st.builds(
    lambda d, m: d | {"format": FORMAT, "version": 1, "messages": m},
    fields_of({"sampling": SAMPLING_VALUES, "current_leaf": SMALL_IDS}),
    st.lists(MESSAGES, max_size=5),
)
MESSAGE_LIST_FILES = st.lists(
    fields_of({"role": st.sampled_from(ROLES), "content": st.text(max_size=20)}), max_size=5
)
FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),  # generous: the store commits to disk on a loaded machine
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def import_or_refuse(lantern: Lantern, document: Any) -> None:
    """Only two outcomes: refused in words with nothing stored, or stored and usable."""
    before = len(lantern.history.list_conversations())
    try:
        record = lantern.history.import_text(json.dumps(document), "fuzz.json")
    except InvalidConversationFile as exc:
        assert exc.message.startswith("fuzz.json")
        assert len(lantern.history.list_conversations()) == before
        return
    assert_opens_and_continues(lantern, record.id)


@FUZZ
@given(document=JSON_VALUES | LANTERN_FILES | MESSAGE_LIST_FILES)
def test_fuzz_any_json_imports_or_is_refused_in_words(lantern: Lantern, document: Any) -> None:
    import_or_refuse(lantern, document)


def paths_in(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths_in(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths_in(inner, (*path, index))


@pytest.fixture
def real_export(lantern: Lantern) -> Document:
    return stored_export(lantern)


@FUZZ
@given(data=st.data())
def test_fuzz_mutations_of_a_real_export_import_or_are_refused_in_words(
    lantern: Lantern, real_export: Document, data: st.DataObject
) -> None:
    document = copy.deepcopy(real_export)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = list(paths_in(document))[1:]  # not the document itself
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        *outer, last = path
        parent = document
        for step in outer:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[last]
        else:
            parent[last] = data.draw(JSON_VALUES)
    import_or_refuse(lantern, document)
