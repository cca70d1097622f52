"""The one table of sampling fields, and the surfaces that take their ranges, wording and
defaults from it without Qt: the flags of `lantern chat` and `lantern complete`, and
ChatService's check of a conversation's own sampling. Also the command line's advice per
kind of error, which the services' messages leave to it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import command_parser
from desktop.cli.advice import error_line
from desktop.cli.complete import CLI_MAX_TOKENS
from desktop.engine.protocol import Sampling
from desktop.errors import (
    ConversationNotFound,
    LanternError,
    NoModelInstalled,
    PresetNotFound,
    with_advice,
)
from desktop.services.app import Lantern
from desktop.tasks.sampling_fields import SAMPLING_FIELDS, SamplingField

FIELDS = list(SAMPLING_FIELDS.values())
CHAT_FLAGS = ("max_tokens", "temperature")


def flag(field: SamplingField) -> str:
    return f"--{field.name.replace('_', '-')}"


def too_high(field: SamplingField) -> str:
    return str(int(field.high) + 1 if field.whole else field.high + field.step)


def too_low(field: SamplingField) -> str:
    return str(int(field.low) - 1 if field.whole else field.low - field.step)


def parsed(*argv: str) -> argparse.Namespace:
    return command_parser().parse_args(argv)


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What `lantern` says when argparse refuses the command line (it exits 2)."""
    with pytest.raises(SystemExit) as ended:
        parsed(*argv)
    assert ended.value.code == 2
    return capsys.readouterr().err


# ---- the table ----


def test_the_table_holds_every_setting_but_the_stop_sequences_in_the_engines_order() -> None:
    assert list(SAMPLING_FIELDS) == [f.name for f in fields(Sampling) if f.name != "stop"]


def test_each_fields_kind_and_default_are_the_engines() -> None:
    defaults = Sampling()
    assert {f.name for f in FIELDS if f.whole} == {"max_tokens", "top_k", "mirostat", "seed"}
    assert [f.name for f in FIELDS if f.can_be_none] == ["seed"]
    for field in FIELDS:
        assert field.default == getattr(defaults, field.name)
        assert field.allows(field.default), field.name
        assert field.low < field.high and 0 < field.step <= field.high - field.low
        assert field.label and field.hint.endswith("."), field.name
    assert SAMPLING_FIELDS["repeat_penalty"].bounds() == "a number from 0.5 to 3"
    assert SAMPLING_FIELDS["max_tokens"].bounds() == "a whole number from 1 to 131072"


# ---- the command line ----


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_complete_has_a_flag_per_field_with_the_tables_range_and_default(
    field: SamplingField, capsys: pytest.CaptureFixture[str]
) -> None:
    default = CLI_MAX_TOKENS if field.name == "max_tokens" else field.default
    assert getattr(parsed("complete", "Hi"), field.name) == default
    for bound in (field.low, field.high):
        shown = str(int(bound)) if field.whole else str(bound)
        assert getattr(parsed("complete", "Hi", flag(field), shown), field.name) == bound
    for outside in (too_low(field), too_high(field)):
        said = refusal(capsys, "complete", "Hi", flag(field), outside)
        assert f"argument {flag(field)}: {outside} is out of range: {field.bounds()}" in said


@pytest.mark.parametrize("name", CHAT_FLAGS)
def test_chat_flags_take_the_same_range(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    field = SAMPLING_FIELDS[name]
    assert getattr(parsed("chat", "Hi"), name) is None  # the conversation's own, else the app's
    said = refusal(capsys, "chat", flag(field), too_high(field), "Hi")
    assert field.bounds() in said


def test_a_flag_that_is_no_number_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert "'hot' is not a number" in refusal(capsys, "chat", "--temperature", "hot", "Hi")
    assert "'nan' is not a number" in refusal(capsys, "complete", "Hi", "--top-p", "nan")
    assert "'1.5' is not a whole number" in refusal(capsys, "complete", "Hi", "--top-k", "1.5")


def test_the_help_says_each_fields_hint_and_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parsed("complete", "--help")
    shown = " ".join(capsys.readouterr().out.split())
    for field in FIELDS:
        assert f"{field.hint} ({field.bounds()}; default:" in shown, field.name


# ---- the conversation service ----


@pytest.fixture
def lantern(lantern_home: Path) -> Iterator[Lantern]:
    app = Lantern()
    yield app
    app.close()


def test_a_conversation_takes_what_the_table_allows_and_nothing_else(lantern: Lantern) -> None:
    conversation = lantern.history.conversations.create("Sampling")
    for field in FIELDS:
        for value in (field.low, field.high):
            kept = int(value) if field.whole else value
            lantern.chat.set_parameters(conversation.id, sampling={field.name: kept})
        outside: Any = int(field.high) + 1 if field.whole else field.high + field.step
        with pytest.raises(LanternError) as refused:
            lantern.chat.set_parameters(conversation.id, sampling={field.name: outside})
        assert refused.value.message == f"Sampling: '{field.name}' must be {field.describe()}."


# ---- advice ----


def test_the_command_line_adds_its_own_advice_to_a_message_that_names_no_surface() -> None:
    no_model = error_line(NoModelInstalled("No model is installed yet."))
    assert no_model.startswith("No model is installed yet. Run `lantern models pull ID`")
    assert "`lantern models install-starter`" in no_model
    assert error_line(ConversationNotFound("There is no conversation 4.")) == (
        "There is no conversation 4. See `lantern history list`."
    )
    assert error_line(PresetNotFound("There is no preset called 'x'.")) == (
        "There is no preset called 'x'."  # no advice for it: the message alone
    )


def test_with_advice_takes_the_first_kind_that_fits() -> None:
    advice: dict[type[LanternError], str] = {ConversationNotFound: "Look.", LanternError: "Any."}
    assert with_advice(ConversationNotFound("Gone."), advice) == "Gone. Look."
    assert with_advice(LanternError("Odd."), advice) == "Odd. Any."
