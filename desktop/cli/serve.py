"""`lantern serve`: the installed models behind a local OpenAI-compatible API, until Ctrl+C
(or SIGTERM), which stops it cleanly (exit 0).

Secure by default: it listens on this computer only (127.0.0.1) unless another address is
given, which it warns about; every request needs the API key, the one kept in the system
keyring (made on the first start and printed here: this is the user's own terminal), or one
read from standard input with --api-key-stdin (for scripts, or where there is no keyring);
no web page may call it unless its origin is listed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from desktop.cli.arguments import Commands, number_in
from desktop.cli.output import open_lantern, secret_from_user
from desktop.errors import NoModelInstalled, SecretStoreUnavailable, ServerOptionInvalid
from desktop.tasks.sampling_fields import NumberRange

if TYPE_CHECKING:
    from desktop.server.runner import ServerHandle
    from desktop.services.request_log import RequestLogEntry

port_number = number_in(NumberRange(whole=True, low=0, high=65535), "; 0 takes a free one")


def add_commands(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve", help="a local OpenAI-compatible API for the installed models, until Ctrl+C"
    )
    serve.add_argument(
        "--host",
        help="the address to listen on (default: the settings', 127.0.0.1: this computer "
        "only); 0.0.0.0 lets other computers reach it, with the API key",
    )
    serve.add_argument(
        "--port", type=port_number, help="the port (default: the settings', 8537; 0: any free)"
    )
    serve.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key for this run from standard input (a hidden prompt at a "
        "terminal), instead of the one kept in the system keyring",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="a web page's origin that may call it from a browser, e.g. "
        "http://localhost:3000 (repeat for more; default: the settings', none; never '*')",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="another name that requests may address it by (their Host header), e.g. this "
        "computer's name on the network (repeat for more)",
    )
    serve.add_argument(
        "--log-contents",
        action="store_true",
        help="keep the requests' and answers' text in the request log",
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from desktop.server.options import ServerOptions
    from desktop.server.runner import ServerHandle

    given_key = _api_key() if args.api_key_stdin else None
    app = open_lantern()
    try:
        options = ServerOptions.from_settings(
            app.settings,
            host=args.host,
            port=args.port,
            cors_origins=tuple(args.cors_origin) if args.cors_origin else None,
            allowed_hosts=tuple(args.allowed_host or ()),
        )
        service = app.serving
        models = service.models()
        if not models:  # the command line's advice says how to get one
            raise NoModelInstalled("No model is installed yet: the API would have none to offer.")
        service.log.keep_contents = service.log.keep_contents or args.log_contents
        server = ServerHandle(
            service, options, api_key=(lambda: given_key) if given_key is not None else None
        )
        with _stop_requested() as stop:
            _start(server)
            unsubscribe = service.log.subscribe(_print_entry)
            try:
                _say_where(server, given_key is None, [m.id for m in models])
                stop.wait()
            finally:
                server.stop()  # the requests under way end, and are shown, first
                unsubscribe()
    finally:
        app.close()
    print("Stopped.", file=sys.stderr)
    return 0


def _start(server: ServerHandle) -> None:
    try:
        server.start()
    except SecretStoreUnavailable as exc:
        raise SecretStoreUnavailable(
            f"{exc.message} Give a key for this run instead: "
            '`echo "$KEY" | lantern serve --api-key-stdin`.'
        ) from None


def _say_where(server: ServerHandle, key_from_keyring: bool, model_ids: list[str]) -> None:
    options = server.options
    if options.on_network:
        print(
            f"warning: listening on {options.host}: other computers on the network can reach "
            "this server (each request still needs the API key).",
            file=sys.stderr,
        )
    print(f"Lantern's OpenAI-compatible API: {server.url}", flush=True)
    if key_from_keyring:
        print(f"API key: {server.service.keys.current()}")
    else:
        print("API key: the one given on standard input")
    print(f"Models: {', '.join(model_ids)}")
    print("Press Ctrl+C to stop. Each request is shown as it ends.", flush=True)


def _print_entry(entry: RequestLogEntry) -> None:
    """A request, as it ends: one line of figures; its text below it, if the log keeps it."""
    figures = [
        entry.at.strftime("%H:%M:%S"),
        entry.client,
        f"{entry.method} {entry.endpoint}",
        str(entry.status),
        f"{entry.duration_s:.2f} s",
        entry.model or "",
        f"{entry.prompt_tokens} + {entry.completion_tokens or 0} tokens"
        if entry.prompt_tokens is not None
        else "",
        f"{entry.tokens_per_s:.1f} tok/s" if entry.tokens_per_s else "",
        "stopped: the client left" if entry.finish_reason == "cancelled" else "",
        entry.error or "",
    ]
    print(" · ".join(figure for figure in figures if figure), flush=True)
    for label, text in (("request", entry.request_text), ("answer", entry.response_text)):
        if text is not None:
            print(f"  {label}: {text}", flush=True)


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """While the block runs, Ctrl+C (SIGINT) and SIGTERM set the event it gives, instead of
    interrupting whatever the main thread is doing."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in signals}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _api_key() -> str:
    key = secret_from_user("API key for this server (input hidden): ")
    if not key or not key.isascii() or not key.isprintable() or " " in key:
        # Never the key itself in the message: it would land in logs and terminals.
        raise ServerOptionInvalid(
            "--api-key-stdin needs the API key alone on standard input, one word of printable "
            'ASCII: `echo "$KEY" | lantern serve --api-key-stdin`.'
        )
    return key
