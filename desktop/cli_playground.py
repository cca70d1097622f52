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

from desktop.cli_output import follow_run, open_lantern, print_json, write_nothing, write_out
from desktop.engine.protocol import (
    ChatMessage,
    GeneratedToken,
    OutputConstraint,
    Sampling,
    TokenChoice,
)
from desktop.errors import InvalidConstraint, LanternError

CLI_MAX_TOKENS = 256
JSON_ALTERNATIVES = 5  # per token, with --json and no --logprobs
MAX_ALTERNATIVES = 20  # as in the app's Playground
MAX_SEED = 2**31 - 1
DEFAULTS = Sampling()


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---- the command ----


def _cmd_complete(args: argparse.Namespace) -> int:
    from desktop.services.playground import LaneRequest
    from desktop.services.playground_parameters import PlaygroundParameters, PlaygroundPrompt

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
        _progress(f"[playground run {run.run_id} · {model.id} · {prompt.mode} prompt]")
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
            _progress(f"stopped; what was written is kept in playground run {run.run_id}")
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
                s = run.stats
                _progress(
                    f"[{finish_reason or run.status} · {s.generated_tokens} tokens · "
                    f"{s.generation_tokens_per_s:.1f} tok/s · prompt {s.prompt_tokens} tokens "
                    f"at {s.prompt_tokens_per_s:.0f} tok/s · first token after "
                    f"{s.time_to_first_token_s:.2f} s · seed {s.seed}]"
                )
        return 0 if run.status == "complete" else 1
    finally:
        app.close()


def _sampling(args: argparse.Namespace) -> Sampling:
    return Sampling(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        min_p=args.min_p,
        typical_p=args.typical_p,
        repeat_penalty=args.repeat_penalty,
        presence_penalty=args.presence_penalty,
        frequency_penalty=args.frequency_penalty,
        mirostat=args.mirostat,
        mirostat_tau=args.mirostat_tau,
        mirostat_eta=args.mirostat_eta,
        seed=args.seed,
        stop=tuple(args.stop or ()),
    )


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
    _progress(f"{'#':>4}  {'token, probability':<24}  likeliest tokens there")
    for position, token in enumerate(tokens, start=1):
        others = "  ".join(
            f"{_shown(a.text)} {math.exp(a.logprob):.1%}" for a in token.alternatives
        )
        chosen = f"{_shown(token.choice.text)} {math.exp(token.choice.logprob):.1%}"
        _progress(f"{position:>4}  {chosen:<24}  {others}")


def _shown(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# ---- argument types ----


def _number(
    kind: type[int] | type[float],
    low: float | None,
    high: float | None,
    *,
    low_open: bool = False,
    hint: str = "",
) -> Callable[[str], Any]:
    """An argparse type: a number within [low, high] (low excluded with low_open)."""
    name = "a whole number" if kind is int else "a number"
    if low is not None and high is not None:
        bounds = (
            f"from {low:g} to {high:g}" if not low_open else f"above {low:g} and at most {high:g}"
        )
    elif low is not None:
        bounds = f"{'above' if low_open else 'at least'} {low:g}"
    else:
        bounds = ""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {name}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"'{text}' is not {name}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: {name} {bounds}{hint}")
        return value

    return parse


def _stop_text(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("a stop sequence cannot be empty")
    return text.replace("\\n", "\n")


# ---- the parser ----


def add_playground_commands(commands: Any) -> None:
    """`complete`, on the `lantern` parser's subcommands."""
    d = DEFAULTS
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
        type=_number(int, 0, MAX_ALTERNATIVES),
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
    sampling.add_argument(
        "--max-tokens",
        metavar="N",
        type=_number(int, 1, None),
        default=CLI_MAX_TOKENS,
        help=f"the most tokens to generate (default: {CLI_MAX_TOKENS})",
    )
    sampling.add_argument(
        "--temperature",
        metavar="T",
        type=_number(float, 0, 5),
        default=d.temperature,
        help="how adventurous sampling is; 0 always takes the likeliest token "
        f"(default: {d.temperature:g})",
    )
    sampling.add_argument(
        "--top-k",
        metavar="K",
        type=_number(int, 0, None),
        default=d.top_k,
        help=f"sample among the K likeliest tokens only; 0 is off (default: {d.top_k})",
    )
    sampling.add_argument(
        "--top-p",
        metavar="P",
        type=_number(float, 0, 1, low_open=True),
        default=d.top_p,
        help="sample among the likeliest tokens whose probabilities add up to P; 1 is off "
        f"(default: {d.top_p:g})",
    )
    sampling.add_argument(
        "--min-p",
        metavar="P",
        type=_number(float, 0, 1),
        default=d.min_p,
        help="drop tokens less likely than this share of the likeliest one's probability; "
        f"0 is off (default: {d.min_p:g})",
    )
    sampling.add_argument(
        "--typical-p",
        metavar="P",
        type=_number(float, 0, 1, low_open=True),
        default=d.typical_p,
        help=f"locally typical sampling; 1 is off (default: {d.typical_p:g})",
    )
    sampling.add_argument(
        "--repeat-penalty",
        metavar="X",
        type=_number(float, 0, None, low_open=True),
        default=d.repeat_penalty,
        help="make tokens already in the recent text less likely; 1 is off, 1.1 a light "
        f"touch (default: {d.repeat_penalty:g})",
    )
    sampling.add_argument(
        "--presence-penalty",
        metavar="X",
        type=_number(float, -2, 2),
        default=d.presence_penalty,
        help="lower the odds of any token that already appeared; 0 is off "
        f"(default: {d.presence_penalty:g})",
    )
    sampling.add_argument(
        "--frequency-penalty",
        metavar="X",
        type=_number(float, -2, 2),
        default=d.frequency_penalty,
        help="lower the odds of a token more each time it appears; 0 is off "
        f"(default: {d.frequency_penalty:g})",
    )
    sampling.add_argument(
        "--mirostat",
        type=int,
        choices=(0, 1, 2),
        default=d.mirostat,
        help="Mirostat version, steering to a steady surprise instead of top-k, top-p, "
        f"min-p and typical-p; 0 is off (default: {d.mirostat})",
    )
    sampling.add_argument(
        "--mirostat-tau",
        metavar="TAU",
        type=_number(float, 0, None),
        default=d.mirostat_tau,
        help=f"Mirostat's target surprise (default: {d.mirostat_tau:g})",
    )
    sampling.add_argument(
        "--mirostat-eta",
        metavar="ETA",
        type=_number(float, 0, 1),
        default=d.mirostat_eta,
        help=f"how fast Mirostat adjusts (default: {d.mirostat_eta:g})",
    )
    sampling.add_argument(
        "--seed",
        metavar="N",
        type=_number(int, 0, MAX_SEED, hint="; leave it out for a random one"),
        default=d.seed,
        help="the random seed: the same seed and settings give the same text "
        "(default: a new one each run, shown with the stats)",
    )
    sampling.add_argument(
        "--stop",
        metavar="TEXT",
        action="append",
        type=_stop_text,
        help="end the text where this appears (not included); repeat for several; "
        "write \\n for a line break",
    )
    complete.set_defaults(handler=_cmd_complete)
