"""`lantern complete`: a Playground run from a terminal. The prompt goes to the model raw (or
through its chat template with --chat), with every sampling setting, an optional grammar or
JSON schema, and each token's probability and alternatives.

The text streams to stdout, the run's header and stats to stderr; --json prints the whole
run as one object at the end. The run is saved as in the app (Playground history). Ctrl+C
stops it: what was written is kept in the run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from desktop.cli.arguments import Commands, add_sampling_flag, number_in
from desktop.cli.output import (
    follow_run,
    generation_line,
    open_lantern,
    print_json,
    progress,
    write_nothing,
    write_out,
)
from desktop.engine.protocol import (
    ChatMessage,
    GeneratedToken,
    OutputConstraint,
    Sampling,
    TokenChoice,
)
from desktop.errors import InvalidConstraint, LanternError
from desktop.services.playground_parameters import (
    MAX_ALTERNATIVES,
    PlaygroundParameters,
    PlaygroundPrompt,
)
from desktop.tasks.sampling_fields import SAMPLING_FIELDS, NumberRange

CLI_MAX_TOKENS = 256
JSON_ALTERNATIVES = 5  # per token, with --json and no --logprobs
NEW_SEED_EACH_RUN = "a new one each run, shown with the stats"


# ---- the command ----


def add_commands(commands: Commands) -> None:
    complete = commands.add_parser(
        "complete",
        help="run a prompt through the Playground: raw completion, every sampling setting, "
        "token probabilities, grammars",
        description="Run a prompt as the Playground does. The text streams to standard "
        "output; the run is saved in the Playground's history.",
    )
    complete.add_argument("prompt", help="the prompt, or - to read it from standard input")
    complete.add_argument(
        "--model", metavar="ID", help="installed model id (default: the default model)"
    )
    complete.add_argument(
        "--chat",
        action="store_true",
        help="send the prompt as one user message through the model's chat template "
        "(default: raw, exactly as written)",
    )
    complete.add_argument(
        "--logprobs",
        metavar="K",
        type=number_in(NumberRange(whole=True, low=0, high=MAX_ALTERNATIVES)),
        help="show each token's probability and the K likeliest tokens at its place "
        f"(default: 0; {JSON_ALTERNATIVES} with --json)",
    )
    shape = complete.add_mutually_exclusive_group()
    shape.add_argument(
        "--grammar",
        metavar="FILE",
        help="hold the output to this GBNF grammar (llama.cpp's format)",
    )
    shape.add_argument(
        "--json-schema",
        metavar="FILE",
        help="hold the output to JSON that fits this JSON schema",
    )
    complete.add_argument(
        "--json",
        action="store_true",
        help="print the run as one JSON object at the end: text, stats, seed, and each "
        "token with its alternatives",
    )

    sampling = complete.add_argument_group("sampling")
    for field in SAMPLING_FIELDS.values():
        if field.name == "max_tokens":  # a terminal wants a short answer unless asked
            add_sampling_flag(sampling, field.name, CLI_MAX_TOKENS)
        elif field.can_be_none:
            add_sampling_flag(
                sampling, field.name, None, "a new one each run, shown with the stats"
            )
        else:
            add_sampling_flag(sampling, field.name, field.default)
    sampling.add_argument(
        "--stop",
        metavar="TEXT",
        action="append",
        type=_stop_text,
        help="end the text where this appears (not included); repeat for several; "
        "write \\n for a line break",
    )
    complete.set_defaults(handler=_complete)


def _complete(args: argparse.Namespace) -> int:
    from desktop.services.playground import LaneRequest

    text = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not text.strip():
        where = "Standard input" if args.prompt == "-" else "The prompt"
        raise LanternError(f"{where} is empty: give the text the model should go on from.")
    constraint, constraint_file = _constraint(args)
    alternatives = args.logprobs
    if alternatives is None:
        alternatives = JSON_ALTERNATIVES if args.json else 0
    if args.chat:
        prompt = PlaygroundPrompt(
            "chat", messages=(ChatMessage("user", text),), setup={"template": text}
        )
    else:
        prompt = PlaygroundPrompt("raw", prompt=text, setup={"template": text})
    parameters = PlaygroundParameters(_sampling(args), constraint, alternatives)

    app = open_lantern()
    try:
        model = app.models.choose(args.model)
        service = app.playground
        [run] = service.start(prompt, [LaneRequest(model.id, parameters)])
        progress(f"[playground run {run.run_id} · {model.id} · {prompt.mode} prompt]")
        write: Callable[[str], None] = write_nothing if args.json else write_out
        try:
            stopped = follow_run(run, lambda step: write(step.text))
        except LanternError as exc:
            if not args.json and run.output:
                print()  # the error goes on a line of its own
            if isinstance(exc, InvalidConstraint):  # say which file
                detail = " ".join(exc.message.split())
                raise InvalidConstraint(f"{constraint_file}: {detail}") from exc
            raise
        if stopped:
            if not args.json and run.output:
                print()
            progress(f"stopped; what was written is kept in playground run {run.run_id}")
            return 130
        record = service.reopen(run.run_id)
        recorded = record.stats or {}
        finish_reason = recorded.get("finish_reason")
        if args.json:
            stats = asdict(run.stats) if run.stats else {}
            if "load_s" in recorded:
                stats["load_s"] = recorded["load_s"]
            print_json(
                {
                    "run_id": run.run_id,
                    "model": model.id,
                    "mode": prompt.mode,
                    "prompt": text,
                    "text": run.output,
                    "status": run.status,
                    "finish_reason": finish_reason,
                    "seed": run.stats.seed if run.stats else None,
                    "stats": stats,
                    "tokens": [_token_row(t) for t in run.tokens],
                }
            )
        else:
            print()
            if run.tokens:
                _print_token_table(run.tokens)
            if run.stats:
                ending = finish_reason or run.status
                progress(generation_line(run.stats, ending=ending, with_seed=True))
        return 0 if run.status == "complete" else 1
    finally:
        app.close()


def _sampling(args: argparse.Namespace) -> Sampling:
    """The sampling flags, one per field of the table, and the stop sequences."""
    chosen = {name: getattr(args, name) for name in SAMPLING_FIELDS}
    return Sampling(**chosen, stop=tuple(args.stop or ()))


def _constraint(args: argparse.Namespace) -> tuple[OutputConstraint | None, str]:
    """The --grammar or --json-schema file as the engine takes it, and the file's name."""
    if args.grammar:
        return OutputConstraint("grammar", _read_constraint(args.grammar, "grammar")), args.grammar
    if args.json_schema:
        text = _read_constraint(args.json_schema, "JSON schema")
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidConstraint(
                f"{args.json_schema} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}); --json-schema takes a JSON schema file."
            ) from exc
        return OutputConstraint("json_schema", text), args.json_schema
    return None, ""


def _read_constraint(where: str, what: str) -> str:
    try:
        text = Path(where).expanduser().read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidConstraint(f"{where} is not UTF-8 text; save the {what} as UTF-8.") from exc
    except OSError as exc:
        raise LanternError(f"Cannot read the {what} file {where}: {exc.strerror or exc}.") from exc
    if not text.strip():
        raise InvalidConstraint(f"{where} is empty; it should hold the {what}.")
    return text


# ---- tokens and their alternatives ----


def _choice_row(choice: TokenChoice) -> dict[str, Any]:
    return {
        "id": choice.token_id,
        "text": choice.text,
        "logprob": choice.logprob,
        "probability": math.exp(choice.logprob),
    }


def _token_row(token: GeneratedToken) -> dict[str, Any]:
    return _choice_row(token.choice) | {"top": [_choice_row(a) for a in token.alternatives]}


def _print_token_table(tokens: list[GeneratedToken]) -> None:
    """Each token with its probability and the likeliest tokens at its place, on stderr."""
    progress(f"{'#':>4}  {'token, probability':<24}  likeliest tokens there")
    for position, token in enumerate(tokens, start=1):
        others = "  ".join(
            f"{_shown(a.text)} {math.exp(a.logprob):.1%}" for a in token.alternatives
        )
        chosen = f"{_shown(token.choice.text)} {math.exp(token.choice.logprob):.1%}"
        progress(f"{position:>4}  {chosen:<24}  {others}")


def _shown(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _stop_text(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("a stop sequence cannot be empty")
    return text.replace("\\n", "\n")
