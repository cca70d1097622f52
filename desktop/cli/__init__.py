"""The `lantern` command: the window by default, subcommands for scripting.

Every subcommand calls the same services as the window. Errors meant for the user are printed
as one plain line on stderr, with the command line's advice for their kind (`advice.py`), and
exit code 1; a bad argument ends the command before anything runs, with exit code 2; `--json`
prints data for scripts.

One module per command group: `chat`, `models` (with `hub_login`), `history`, `writing`
(summarize, translate), `complete` (the Playground), `docs` (libraries of the user's
files), `ask` (questions answered from them), `remote` (servers whose models are used
beside the local ones), `serve` (Lantern's own OpenAI-compatible API), `doctor`, `bench`;
`self_test` behind `--self-test`. To add a group:

1. write `desktop/cli/<group>.py` with `add_commands(commands)`, which adds its parsers
   (`add_group` for a group of subcommands, `add_sampling_flag` for a sampling setting) and
   sets each one's `handler`: a function of the parsed arguments that returns the exit code;
2. import what is slow to load (services, huggingface_hub, Qt) inside the handlers, so that
   `lantern --help` stays quick;
3. list the module in COMMAND_GROUPS below, and in the import-linter contract on the CLI's
   groups in pyproject.toml.

What the groups share is in `arguments.py` (parsers, checked numbers, the sampling flags from
the one table of sampling fields) and `output.py` (the app, printing, Ctrl+C that stops a run);
a group never imports another group.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop import APP_NAME, __version__
from desktop.cli import (
    ask,
    bench,
    chat,
    complete,
    docs,
    doctor,
    history,
    models,
    remote,
    serve,
    writing,
)
from desktop.cli.advice import error_line
from desktop.cli.arguments import Handler
from desktop.errors import LanternError
from desktop.log_file import log_to_file
from desktop.paths import app_paths

log = logging.getLogger(__name__)

# In the order `lantern --help` lists them.
COMMAND_GROUPS = (chat, models, history, writing, complete, docs, ask, remote, serve, doctor, bench)


def main(argv: Sequence[str] | None = None) -> int:
    parser = command_parser()
    args = parser.parse_args(argv)
    paths = app_paths()
    log_to_file(paths.logs)
    if args.self_test is not None:
        from desktop.cli.self_test import run_self_test

        return run_self_test(Path(args.self_test) if args.self_test else None)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        if getattr(args, "group_parser", None) is not None:
            args.group_parser.print_help(sys.stderr)
            return 2
        handler = _open_window
    try:
        return handler(args)
    except LanternError as exc:
        log.info("User error: %s", exc)
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130


def _open_window(args: argparse.Namespace) -> int:
    from desktop.ui.app import run_gui

    return run_gui()


def command_parser() -> argparse.ArgumentParser:
    """The whole `lantern` command line: every group's commands and flags."""
    parser = argparse.ArgumentParser(
        prog="lantern", description=f"{APP_NAME}: run language models on your own computer."
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--self-test",
        nargs="?",
        const="",
        metavar="GGUF",
        help="check this installation without a screen: a model (the starter model unless "
        "GGUF is given) answers in the engine process, the store is written and read in a "
        "temporary home, the main window opens offscreen; exit 0 when all pass",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser
