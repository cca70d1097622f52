"""`lantern remote`: OpenAI-compatible servers (vLLM, llama-server, Ollama, LM Studio...) whose
models Lantern uses as `NAME:MODEL` beside its own. Adding one tests it first; its API key is
read from standard input (or a hidden prompt at a terminal), so that it stays out of the
shell's history and the process list, and is kept in the system keyring."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from desktop.cli.arguments import Commands, add_group
from desktop.cli.output import open_lantern, print_json, secret_from_user
from desktop.errors import InvalidRemote
from desktop.models.remotes import remote_model_id

if TYPE_CHECKING:
    from desktop.services.remotes import RemoteCheck, RemoteStatus


def add_commands(commands: Commands) -> None:
    remote_commands = add_group(
        commands, "remote", "models on OpenAI-compatible servers (vLLM, llama-server...)"
    )
    add = remote_commands.add_parser(
        "add", help="add a server by name and URL (its connection is tested first)"
    )
    add.add_argument("name", help="what to call it: letters, digits, -, _ or . (up to 40)")
    add.add_argument("url", help="the server's address, e.g. http://192.168.1.20:8000")
    add.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key from standard input (a hidden prompt at a terminal); it is "
        "kept in the system keyring",
    )
    add.set_defaults(handler=_add)
    listing = remote_commands.add_parser(
        "list", help="the servers added: whether each answers now, how fast, its models"
    )
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    test = remote_commands.add_parser(
        "test", help="test a server again: latency, models, what it can do"
    )
    test.add_argument("name")
    test.add_argument("--json", action="store_true")
    test.set_defaults(handler=_test)
    rm = remote_commands.add_parser("rm", help="remove a server and its API key")
    rm.add_argument("name")
    rm.set_defaults(handler=_rm)


def _add(args: argparse.Namespace) -> int:
    key = _api_key(args.name) if args.api_key_stdin else None
    app = open_lantern()
    try:
        check = app.remotes.add(args.name, args.url, key)
    finally:
        app.close()
    print(f"Added {check.remote.name} at {check.remote.url}.")
    _print_check(check)
    return 0


def _test(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        check = app.remotes.check(args.name)
    finally:
        app.close()
    if args.json:
        print_json(_check_row(check))
    else:
        _print_check(check)
    return 0


def _list(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        statuses = app.remotes.statuses()
    finally:
        app.close()
    if args.json:
        print_json([_status_row(s) for s in statuses])
    elif not statuses:
        print("No remotes. Add one with `lantern remote add NAME URL --api-key-stdin`.")
    for status in [] if args.json else statuses:
        answer = f"{status.latency_s * 1000:.0f} ms" if status.latency_s is not None else "-"
        state = "reachable"
        if status.problem is not None:  # unreachable, key refused, server error...
            state = f"{status.problem.replace('_', ' ')}: {status.error}"
        models = f"{status.models} model{'' if status.models == 1 else 's'}"
        print(f"{status.remote.name}\t{status.remote.url}\t{answer}\t{models}\t{state}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        removed = app.remotes.remove(args.name)
    finally:
        app.close()
    if removed.api_key_left is None:
        print(f"Removed {removed.name} and its API key.")
        return 0
    print(f"Removed {removed.name}.")
    print(
        f"error: The API key of {removed.name} is still in the system keyring: "
        f"{removed.api_key_left}.",
        file=sys.stderr,
    )
    return 1


def _print_check(check: RemoteCheck) -> None:
    print(
        f"{check.server} server, answered in {check.latency_s * 1000:.0f} ms; "
        f"{len(check.models)} model{'s' if len(check.models) != 1 else ''}:"
    )
    for model in check.models:
        window = (
            f"context {model.context_length:,}"
            if model.context_length
            else "context not stated by the server"
        )
        print(f"  {remote_model_id(check.remote.name, model.id)}\t{window}")
    for reason in _cannot(check):
        print(f"  - {reason}")


def _cannot(check: RemoteCheck) -> list[str]:
    return [reason for reason in asdict(check.capabilities).values() if reason]


def _check_row(check: RemoteCheck) -> dict[str, Any]:
    return {
        "name": check.remote.name,
        "url": check.remote.url,
        "server": check.server,
        "latency_ms": round(check.latency_s * 1000, 1),
        "models": [
            {
                "id": remote_model_id(check.remote.name, m.id),
                "model": m.id,
                "context_length": m.context_length,
            }
            for m in check.models
        ],
        "cannot": asdict(check.capabilities),
    }


def _status_row(status: RemoteStatus) -> dict[str, Any]:
    latency = status.latency_s
    return {
        "name": status.remote.name,
        "url": status.remote.url,
        "reachable": status.reachable,
        "problem": status.problem,
        "latency_ms": round(latency * 1000, 1) if latency is not None else None,
        "models": status.models,
        "error": status.error,
    }


def _api_key(name: str) -> str:
    key = secret_from_user(f"API key for {name} (input hidden): ")
    if not key or any(c.isspace() for c in key):
        # Never the key itself in the message: it would land in logs and terminals.
        raise InvalidRemote(
            "--api-key-stdin needs the API key, alone on standard input: "
            '`echo "$KEY" | lantern remote add NAME URL --api-key-stdin`.'
        )
    return key  # the service refuses one an HTTP header cannot carry
