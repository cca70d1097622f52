"""The Playground through its service, on the real starter model: runs that repeat, each
token's probability and alternatives, constrained output, an alternative forced and gone on
from, two runs side by side in two engines, and runs saved, reopened, stopped and cut short."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from desktop.engine.protocol import ChatMessage, GenerationStats, OutputConstraint, Sampling
from desktop.errors import InvalidConstraint
from desktop.models.installed import InstalledModel
from desktop.services.playground import LaneRequest, PlaygroundRun
from desktop.services.playground_parameters import (
    PlaygroundParameters,
    PlaygroundPrompt,
    token_from_json,
)

pytestmark = pytest.mark.engine

STORY = PlaygroundPrompt("raw", prompt="The old lighthouse keeper opened her logbook and wrote:")
COUNTING = PlaygroundPrompt("raw", prompt="1, 2, 3, 4, 5, 6, 7, 8, 9, 10,")
GREEDY = Sampling(max_tokens=12, temperature=0)


@pytest.fixture(autouse=True)
def one_thread(lantern_home: Path) -> None:
    """One CPU thread per engine: on a machine busy with other tests, llama.cpp's threads
    wait on each other for a core, and a run of a dozen tokens can take minutes."""
    from desktop.paths import app_paths
    from desktop.settings import Settings, save_settings

    save_settings(app_paths().settings_file, Settings(threads=1))


def parameters(sampling: Sampling = GREEDY, **changes: Any) -> PlaygroundParameters:
    return PlaygroundParameters(sampling, **changes)


def run(
    lantern: Any,
    model: InstalledModel,
    prompt: PlaygroundPrompt = STORY,
    params: PlaygroundParameters | None = None,
) -> PlaygroundRun:
    """One run to its end, as the Playground page runs it."""
    (started,) = lantern.playground.start(prompt, [LaneRequest(model.id, params or parameters())])
    streamed = "".join(progress.text for progress in started)
    assert streamed == started.output
    return started


def stats_of(finished: PlaygroundRun) -> GenerationStats:
    assert finished.stats is not None, "the run has ended"
    return finished.stats


def chat(text: str) -> PlaygroundPrompt:
    return PlaygroundPrompt("chat", messages=(ChatMessage("user", text),))


def texts(tokens: list[Any]) -> list[tuple[int, str]]:
    return [(t.choice.token_id, t.choice.text) for t in tokens]


# ---- runs that repeat ---------------------------------------------------------------------


def test_the_same_seed_and_settings_give_the_same_run_again(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    greedy = parameters(Sampling(max_tokens=12, temperature=0, seed=7), alternatives=3)
    first, second = (run(lantern, installed_starter, STORY, greedy) for _ in range(2))
    assert first.status == second.status == "complete"
    assert first.output.strip() and first.output == second.output
    # Token by token: the same tokens, the same probabilities, the same alternatives.
    assert len(first.tokens) == stats_of(first).generated_tokens
    assert first.tokens == second.tokens

    sampled = parameters(Sampling(max_tokens=12, temperature=0.8, seed=1234), alternatives=3)
    third, fourth = (run(lantern, installed_starter, STORY, sampled) for _ in range(2))
    assert third.output and third.output == fourth.output and third.tokens == fourth.tokens
    assert stats_of(third).seed == stats_of(fourth).seed == 1234


def test_a_run_without_a_seed_reports_the_one_it_used_and_that_seed_repeats_it(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    unseeded = parameters(Sampling(max_tokens=12, temperature=1.0, seed=None))
    first = run(lantern, installed_starter, STORY, unseeded)
    seed = stats_of(first).seed
    assert isinstance(seed, int)
    assert lantern.playground.reopen(first.run_id).stats["seed"] == seed  # shown with the run
    again = run(lantern, installed_starter, STORY, parameters(Sampling(12, 1.0, seed=seed)))
    assert again.output == first.output and again.tokens == first.tokens


# ---- probabilities --------------------------------------------------------------------------


def test_each_token_comes_with_its_probability_and_the_likeliest_alternatives(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    top = 5
    greedy = run(lantern, installed_starter, STORY, parameters(alternatives=top))
    sampled = run(
        lantern,
        installed_starter,
        STORY,
        parameters(Sampling(max_tokens=12, temperature=1.2, seed=99), alternatives=top),
    )
    for result in (greedy, sampled):
        assert result.tokens and len(result.tokens) == stats_of(result).generated_tokens
        # The tokens' texts make up the output.
        assert "".join(t.choice.text for t in result.tokens) == result.output
        for token in result.tokens:
            assert token.choice.logprob <= 0 and 0 < math.exp(token.choice.logprob) <= 1
            assert not token.forced
            alternatives = token.alternatives
            assert len(alternatives) == top
            logprobs = [a.logprob for a in alternatives]
            assert logprobs == sorted(logprobs, reverse=True)  # best first
            assert len({a.token_id for a in alternatives}) == top
            assert sum(math.exp(p) for p in logprobs) <= 1 + 1e-4
            listed = next((a for a in alternatives if a.token_id == token.choice.token_id), None)
            if listed is not None:  # the chosen token, as likely as where it is listed
                assert token.choice.logprob == listed.logprob
    # Greedy: always the likeliest token.
    for token in greedy.tokens:
        best = token.alternatives[0]
        assert (token.choice.token_id, token.choice.logprob) == (best.token_id, best.logprob)
    # Sampled hotter, some token is not the likeliest one (or the seed would not matter).
    assert any(t.choice.token_id != t.alternatives[0].token_id for t in sampled.tokens)


# ---- constrained output ---------------------------------------------------------------------

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_a_json_schema_holds_the_output_to_it(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    constrained = parameters(
        Sampling(max_tokens=80, temperature=0),
        constraint=OutputConstraint("json_schema", json.dumps(PERSON)),
    )
    result = run(lantern, installed_starter, chat("Describe a person as JSON."), constrained)
    assert result.status == "complete"
    person = json.loads(result.output)
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int) and not isinstance(person["age"], bool)


def test_a_grammar_allows_only_what_it_spells(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    yes_or_no = parameters(
        Sampling(max_tokens=8, temperature=0),
        constraint=OutputConstraint("grammar", 'root ::= "yes" | "no"'),
    )
    result = run(lantern, installed_starter, chat("Is the sea salty? Answer yes or no."), yes_or_no)
    assert result.status == "complete"
    assert result.output in ("yes", "no")


def test_an_invalid_grammar_is_refused_with_a_reason_and_the_engine_goes_on(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    broken = parameters(constraint=OutputConstraint("grammar", 'root ::= "yes" | answer'))
    (failing,) = lantern.playground.start(STORY, [LaneRequest(installed_starter.id, broken)])
    with pytest.raises(InvalidConstraint, match="grammar") as raised:
        list(failing)
    assert "answer" in raised.value.message  # the rule it lacks
    record = lantern.playground.reopen(failing.run_id)
    assert record.status == "failed" and record.error == raised.value.message
    rootless = parameters(constraint=OutputConstraint("grammar", 'answer ::= "yes" | "no"'))
    (failing,) = lantern.playground.start(STORY, [LaneRequest(installed_starter.id, rootless)])
    with pytest.raises(InvalidConstraint, match="rule named root"):
        list(failing)
    # The engine is still there and still works.
    [engine] = lantern.engines.engines()
    after = run(lantern, installed_starter, STORY)
    assert after.status == "complete" and after.output.strip()
    assert [e.pid for e in lantern.engines.engines()] == [engine.pid]


# ---- an alternative forced ------------------------------------------------------------------


def test_forcing_an_alternative_goes_on_from_it(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    original = run(lantern, installed_starter, STORY, parameters(alternatives=5))
    assert len(original.tokens) == 12
    position = 2
    alternative = original.tokens[position].alternatives[1]
    assert alternative.token_id != original.tokens[position].choice.token_id

    branch = lantern.playground.branch(original.run_id, position, alternative.token_id)
    streamed = "".join(progress.text for progress in branch)
    assert branch.status == "complete"
    # The tokens before it are kept, the alternative is in its place, marked as chosen...
    assert texts(branch.tokens[:position]) == texts(original.tokens[:position])
    forced = branch.tokens[position]
    assert forced.forced and forced.choice.token_id == alternative.token_id
    assert [t.forced for t in branch.tokens] == [False] * position + [True] + [False] * (
        len(branch.tokens) - position - 1
    )
    # ...and the model went on from there: new tokens, a different text.
    kept = "".join(t.choice.text for t in branch.tokens[: position + 1])
    assert branch.output == kept + streamed
    assert streamed and len(branch.tokens) > position + 1
    shared = "".join(t.choice.text for t in original.tokens[:position])
    assert branch.output.startswith(shared)
    assert branch.output[len(shared) :] != original.output[len(shared) :]
    assert "".join(t.choice.text for t in branch.tokens) == branch.output

    record = lantern.playground.reopen(branch.run_id)
    assert (record.branch_of, record.branch_at) == (original.run_id, position)
    assert record.output == branch.output and record.status == "complete"
    assert texts([token_from_json(t) for t in record.tokens]) == texts(branch.tokens)


# ---- side by side ---------------------------------------------------------------------------


def test_two_parameter_sets_run_side_by_side_in_two_engines(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    service = lantern.playground
    greedy = parameters()
    hot = parameters(Sampling(max_tokens=12, temperature=1.0, seed=5))
    runs = service.start(
        STORY, [LaneRequest(installed_starter.id, greedy), LaneRequest(installed_starter.id, hot)]
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(lambda r: "".join(p.text for p in r), runs))

    assert [r.status for r in runs] == ["complete", "complete"]
    assert [r.output for r in runs] == outputs and all(o.strip() for o in outputs)
    records = [service.reopen(r.run_id) for r in runs]
    assert records[0].comparison_id is not None
    assert [r.comparison_id for r in records] == [records[0].comparison_id] * 2
    assert service.runs.comparison(records[0].comparison_id) == records
    assert [r.lane for r in records] == [0, 1]
    assert [r.output for r in records] == outputs
    assert [PlaygroundParameters.from_json(r.parameters) for r in records] == [greedy, hot]
    for record in records:
        assert record.status == "complete" and record.model_id == installed_starter.id
        stats = record.stats
        assert stats is not None
        assert stats["generated_tokens"] > 0
        assert stats["time_to_first_token_s"] > 0 and stats["generation_tokens_per_s"] > 0
    # Each side had an engine process of its own, idle now and kept for the next run.
    engines = lantern.engines.engines()
    assert [(e.model_id, e.task) for e in engines] == [(installed_starter.id, None)] * 2
    assert len({e.pid for e in engines}) == 2 and None not in {e.pid for e in engines}


# ---- saved, reopened, stopped, cut short ----------------------------------------------------


def test_a_run_is_saved_and_reopens_as_it_was(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    prompt = PlaygroundPrompt("raw", prompt="A short poem about the quillwort meadow at dawn:\n")
    sent = parameters(
        Sampling(max_tokens=12, temperature=0.6, top_k=20, min_p=0.1, seed=11, stop=("\n\n",)),
        alternatives=4,
    )
    result = run(lantern, installed_starter, prompt, sent)
    record = lantern.playground.reopen(result.run_id)
    assert record.status == "complete"
    assert (record.mode, record.prompt) == ("raw", prompt.prompt)
    assert PlaygroundParameters.from_json(record.parameters) == sent
    assert record.model_id == installed_starter.id
    assert record.output == result.output and result.output
    reopened = [token_from_json(t) for t in record.tokens]
    assert texts(reopened) == texts(result.tokens)
    for saved, streamed in zip(reopened, result.tokens, strict=True):
        assert saved.choice.logprob == pytest.approx(streamed.choice.logprob, abs=1e-5)
        assert texts_of(saved.alternatives) == texts_of(streamed.alternatives)
    assert record.stats is not None
    assert record.stats["generated_tokens"] == stats_of(result).generated_tokens

    assert [r.id for r in lantern.playground.sessions("quillwort")] == [result.run_id]
    assert lantern.playground.sessions("lighthouse") == []


def texts_of(choices: tuple[Any, ...]) -> list[tuple[int, str]]:
    return [(c.token_id, c.text) for c in choices]


def test_a_cancelled_run_keeps_what_it_wrote(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    long = parameters(Sampling(max_tokens=300, temperature=0))
    (started,) = lantern.playground.start(COUNTING, [LaneRequest(installed_starter.id, long)])
    pieces = []
    for progress in started:
        pieces.append(progress.text)
        if len(pieces) == 3:
            started.cancel()
    assert started.status == "cancelled"
    assert started.output == "".join(pieces) and started.output
    assert stats_of(started).generated_tokens < 300
    record = lantern.playground.reopen(started.run_id)
    assert record.status == "cancelled" and record.output == started.output
    assert record.stats is not None and record.stats["finish_reason"] == "cancelled"
    saved = [token_from_json(t) for t in record.tokens]
    assert texts(saved) == texts(started.tokens)
    assert "".join(t.choice.text for t in saved) == record.output


def test_a_run_whose_app_was_killed_is_marked_interrupted_with_what_it_wrote(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    service = lantern.playground  # this app's database is open while the other one runs
    # Another Lantern on the same profile streams a long run, and is killed once part of
    # it is saved.
    script = textwrap.dedent(
        f"""
        import sys
        from desktop.engine.protocol import Sampling
        from desktop.services.app import Lantern
        from desktop.services.playground import LaneRequest
        from desktop.services.playground_parameters import PlaygroundParameters, PlaygroundPrompt

        service = Lantern().playground
        params = PlaygroundParameters(Sampling(max_tokens=400, temperature=0))
        prompt = PlaygroundPrompt("raw", prompt={COUNTING.prompt!r})
        (run,) = service.start(prompt, [LaneRequest({installed_starter.id!r}, params)])
        for _ in run:
            if service.reopen(run.run_id).output:
                print(run.run_id, flush=True)
                sys.stdin.read()  # killed here
        print("finished", flush=True)
        """
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        said = other.stdout.readline() if other.stdout else ""
        assert said.strip().isdigit(), f"the other app never saved part of its run: {said!r}"
        run_id = int(said)
        assert service.reopen(run_id).status == "running"
    finally:
        other.kill()
        other.communicate()

    assert lantern.database.recover_interrupted() == 1
    record = service.reopen(run_id)
    assert record.status == "interrupted" and record.output
    saved = [token_from_json(t) for t in record.tokens]
    assert "".join(t.choice.text for t in saved) == record.output
    # What it had written is what the same run writes here, to the same length.
    again = run(lantern, installed_starter, COUNTING, parameters(Sampling(len(saved), 0)))
    assert again.output == record.output


# ---- before a run ---------------------------------------------------------------------------


def test_the_preview_counts_the_tokens_the_model_is_given(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    one = parameters(Sampling(max_tokens=1, temperature=0))
    raw = lantern.playground.preview(installed_starter.id, STORY)
    assert raw.text == STORY.prompt
    assert raw.tokens == stats_of(run(lantern, installed_starter, STORY, one)).prompt_tokens

    question = chat("What does a lighthouse keeper do all night?")
    rendered = lantern.playground.preview(installed_starter.id, question)
    # The model's own template around the message: SmolLM2's ChatML turns.
    assert "<|im_start|>user\nWhat does a lighthouse keeper do all night?<|im_end|>" in (
        rendered.text
    )
    assert rendered.text.rstrip().endswith("<|im_start|>assistant")
    result = run(lantern, installed_starter, question, one)
    assert rendered.tokens == stats_of(result).prompt_tokens
    record = lantern.playground.reopen(result.run_id)
    assert record.prompt == rendered.text  # saved as the model was given it
    assert record.messages == [["user", "What does a lighthouse keeper do all night?"]]


# ---- stop strings ---------------------------------------------------------------------------


def test_a_stop_string_ends_the_output_before_it(
    lantern: Any, installed_starter: InstalledModel
) -> None:
    whole = run(lantern, installed_starter, STORY, parameters(Sampling(24, temperature=0)))
    # A stop string that starts inside a token and runs into the next ones.
    start = len("".join(t.choice.text for t in whole.tokens[:3])) + 1
    stop = whole.output[start : start + 6]
    assert len(stop) == 6 and stop.strip(), whole.output

    stopped = run(
        lantern, installed_starter, STORY, parameters(Sampling(24, temperature=0, stop=(stop,)))
    )
    assert stopped.output == whole.output[: whole.output.find(stop)]
    assert stop not in stopped.output
    # The same tokens up to the stop string, the last one cut where it starts.
    assert "".join(t.choice.text for t in stopped.tokens) == stopped.output
    kept = len(stopped.tokens) - 1
    assert texts(stopped.tokens[:kept]) == texts(whole.tokens[:kept])
    assert stopped.tokens[kept].choice.token_id == whole.tokens[kept].choice.token_id
    record = lantern.playground.reopen(stopped.run_id)
    assert record.output == stopped.output and record.stats["finish_reason"] == "stop"
