"""`lantern complete` end to end, through subprocesses, on the real starter model: raw and
chat prompts, token probabilities and alternatives, grammars and JSON schemas, clear errors,
Ctrl+C, and every run saved in the Playground's history."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_cli import lantern, running_lantern

from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def _history() -> list[Any]:
    app = Lantern()  # the test's LANTERN_HOME, as the command used
    try:
        return app.playground.sessions()
    finally:
        app.close()


def test_greedy_completion_gives_each_token_with_its_likeliest_alternatives(
    installed_starter: InstalledModel,
) -> None:
    args = ("complete", "Once upon a time", "--temperature", "0", "--max-tokens", "8")
    first = _json(lantern(*args, "--json", "--logprobs", "3"))
    assert first["model"] == installed_starter.id
    assert first["prompt"] == "Once upon a time" and first["mode"] == "raw"
    assert first["status"] == "complete" and first["finish_reason"] in ("length", "stop")
    assert isinstance(first["seed"], int) and first["stats"]["seed"] == first["seed"]
    tokens = first["tokens"]
    assert 1 <= len(tokens) <= 8 and len(tokens) == first["stats"]["generated_tokens"]
    assert first["stats"]["prompt_tokens"] >= 4
    assert first["stats"]["generation_tokens_per_s"] > 0
    assert "".join(t["text"] for t in tokens) == first["text"] and first["text"]
    for token in tokens:
        top = token["top"]
        assert len(top) == 3
        probabilities = [a["probability"] for a in top]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0 < p <= 1 for p in [*probabilities, token["probability"]])
        assert math.isclose(token["probability"], math.exp(token["logprob"]))
        # Greedy: the token taken is the likeliest one.
        assert (top[0]["id"], top[0]["logprob"]) == (token["id"], token["logprob"])

    again = _json(lantern(*args, "--json", "--logprobs", "3", "--seed", str(first["seed"])))
    assert again["run_id"] == first["run_id"] + 1
    assert again["text"] == first["text"]
    assert [(t["id"], t["text"]) for t in again["tokens"]] == [(t["id"], t["text"]) for t in tokens]
    assert [t["logprob"] for t in again["tokens"]] == pytest.approx(
        [t["logprob"] for t in tokens], abs=1e-4
    )

    # The same prompt from standard input is the same completion.
    piped = lantern(*args[:1], "-", *args[2:], stdin="Once upon a time")
    assert piped.stdout == first["text"] + "\n"
    assert "[playground run 3 · " in piped.stderr and "tok/s" in piped.stderr


def test_the_run_is_saved_in_the_playground_history(installed_starter: InstalledModel) -> None:
    result = lantern(
        "complete", "The colour of the sky is", "--temperature", "0", "--max-tokens", "6",
        "--logprobs", "2", "--stop", "\\n\\n",
    )  # fmt: skip
    text = result.stdout.removesuffix("\n")
    assert text
    [run] = _history()
    assert run.title == "The colour of the sky is" and run.mode == "raw"
    assert run.prompt == "The colour of the sky is" and run.model_id == installed_starter.id
    assert run.status == "complete" and run.output == text
    assert run.parameters["sampling"]["temperature"] == 0
    assert run.parameters["sampling"]["max_tokens"] == 6
    assert run.parameters["sampling"]["stop"] == ["\n\n"]
    assert run.parameters["alternatives"] == 2 and run.parameters["constraint"] is None
    assert run.stats is not None and run.stats["generated_tokens"] == len(run.tokens)
    assert "".join(token[1] for token in run.tokens) == text
    assert all(len(token[3]) == 2 for token in run.tokens)
    # Without --json the tokens and their alternatives are listed on stderr, after the text.
    assert f"   1  {json.dumps(run.tokens[0][1], ensure_ascii=False)} " in result.stderr


def test_a_json_schema_holds_the_answer_to_it(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    schema = tmp_path / "person.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name", "age"],
                "additionalProperties": False,
            }
        ),
        encoding="utf-8",
    )
    request = "Describe a person as JSON with their name and age."
    flags = ["--chat", "--json-schema", str(schema), "--max-tokens", "80", "--temperature", "0"]
    data = _json(lantern("complete", request, *flags, "--json"))
    assert data["mode"] == "chat" and data["finish_reason"] == "stop"
    person = json.loads(data["text"])
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int) and not isinstance(person["age"], bool)
    [run] = _history()
    assert run.messages == [["user", request]]
    assert run.parameters["constraint"]["kind"] == "json_schema"
    assert "Describe a person" in run.prompt and run.prompt != run.messages[0][1]  # templated


def test_a_grammar_holds_the_answer_to_it(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    grammar = tmp_path / "answer.gbnf"
    grammar.write_text('root ::= "yes" | "no"\n', encoding="utf-8")
    result = lantern(
        "complete", "Question: is the sea salty? Answer:", "--grammar", str(grammar),
        "--max-tokens", "8",
    )  # fmt: skip
    assert result.stdout in ("yes\n", "no\n")


def test_a_bad_grammar_or_schema_gets_one_clear_line(
    installed_starter: InstalledModel, tmp_path: Path
) -> None:
    bad_grammar = tmp_path / "bad.gbnf"
    bad_grammar.write_text('root ::= "yes" | answer\n', encoding="utf-8")  # no rule "answer"
    not_json = tmp_path / "schema.json"
    not_json.write_text('{"type": "object",', encoding="utf-8")
    cases = [
        (["--grammar", str(bad_grammar)], ["bad.gbnf", "grammar is not valid"]),
        (["--grammar", str(tmp_path / "missing.gbnf")], ["Cannot read the grammar file"]),
        (["--json-schema", str(not_json)], ["schema.json is not valid JSON", "line 1"]),
    ]
    for flags, words in cases:
        result = lantern("complete", "Hello", "--max-tokens", "4", *flags, check=False)
        assert result.returncode == 1, result.stderr
        assert result.stdout == ""
        [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.stderr.endswith(error + "\n")
        assert all(word in error for word in words), error


def test_bad_arguments_are_refused_before_anything_runs(tmp_path: Path) -> None:
    grammar = tmp_path / "g.gbnf"
    grammar.write_text('root ::= "a"\n', encoding="utf-8")
    both = lantern(
        "complete", "Hi", "--grammar", str(grammar), "--json-schema", str(grammar), check=False
    )
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    cases = [  # the ranges, in words, of the one table of sampling fields
        (["--top-p", "1.5"], "1.5 is out of range: a number from 0 to 1"),
        (["--temperature", "-1"], "from 0 to 5"),
        (["--top-k", "-3"], "a whole number from 0 to 1000"),
        (["--max-tokens", "0"], "a whole number from 1 to 131072"),
        (["--repeat-penalty", "0"], "a number from 0.5 to 3"),
        (["--mirostat", "3"], "a whole number from 0 to 2"),
        (["--logprobs", "many"], "is not a whole number"),
        (["--seed", "-1"], "random one"),
    ]
    for flags, message in cases:
        result = lantern("complete", "Hi", *flags, check=False)
        assert result.returncode == 2, flags
        assert message in result.stderr, result.stderr
    no_model = lantern("complete", "Hi", check=False)
    assert no_model.returncode == 1
    assert no_model.stderr.startswith("error: No model is installed yet")
    empty = lantern("complete", "-", stdin="  \n", check=False)
    assert empty.returncode == 1
    assert empty.stderr.startswith("error: Standard input is empty")


@pytest.mark.parametrize("whole_group", [False, True], ids=["command", "terminal"])
def test_ctrl_c_stops_the_run_and_keeps_what_was_written(
    installed_starter: InstalledModel, whole_group: bool, tmp_path: Path
) -> None:
    # "terminal": the command in a session of its own, so that the signal reaches it and its
    # engine process together, as Ctrl+C in a terminal does.
    # The answer may not end (the grammar has no last character): under load a model's own end
    # of text came before the test's Ctrl+C (an answer of 185 tokens, exit code 0).
    endless = tmp_path / "endless.gbnf"
    endless.write_text("root ::= [a-zA-Z ,.] root\n", encoding="utf-8")
    flags = ["--max-tokens", "2000", "--logprobs", "2", "--grammar", str(endless)]
    with running_lantern("complete", "Once upon a time", *flags) as app:
        assert app.stdout is not None and app.stderr is not None
        received = ""
        deadline = time.monotonic() + 120
        while len(received) < 40 and time.monotonic() < deadline:
            received += app.stdout.read(1)
        if whole_group:
            os.killpg(app.pid, signal.SIGINT)
        else:
            os.kill(app.pid, signal.SIGINT)
        printed = received + app.stdout.read()
        errors = app.stderr.read()
        assert app.wait(timeout=120) == 130, errors
    assert "Traceback" not in errors and "error:" not in errors, errors
    assert "stopped; what was written is kept in playground run 1" in errors
    [run] = _history()
    assert len(run.output) >= 40 and run.output.startswith(received)
    assert printed.startswith(run.output) or run.output.startswith(printed.rstrip("\n"))
    assert "".join(token[1] for token in run.tokens) == run.output
    # The engine ignores the terminal's SIGINT: the run is stopped, not crashed.
    assert run.status == "cancelled" and run.error is None
