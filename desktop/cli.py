"""The `lantern` command: the GUI by default, subcommands for scripting.

Every subcommand calls the same services as the GUI. Errors meant for the user are printed
as one plain line on stderr with exit code 1; `--json` prints data for scripts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop import APP_NAME, __version__
from desktop.cli_output import follow_run, open_lantern, print_json, write_nothing, write_out
from desktop.cli_playground import add_playground_commands
from desktop.cli_writing import add_writing_commands
from desktop.errors import InvalidModelFile, LanternError
from desktop.log_file import log_to_file
from desktop.paths import app_paths

if TYPE_CHECKING:
    from desktop.display_libraries import DisplayCheck
    from desktop.models.fit import FitEstimate

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    paths = app_paths()
    log_to_file(paths.logs)
    if args.self_test is not None:
        from desktop.cli_self_test import run_self_test

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
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130


def _open_window(args: argparse.Namespace) -> int:
    from desktop.ui.app import run_gui

    return run_gui()


# ---- output helpers ----


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


# ---- chat ----


def _cmd_chat(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        text = sys.stdin.read() if args.message == "-" else args.message
        turn = app.chat.send(
            text,
            conversation_id=args.conversation,
            model_id=args.model,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
        )
        if not args.json:
            print(f"[conversation {turn.conversation.id} · {turn.model.id}]", file=sys.stderr)
        write: Callable[[str], None] = write_nothing if args.json else write_out
        try:
            stopped = follow_run(turn, write)
        except LanternError:
            if not args.json:
                print(file=sys.stdout)
            raise
        if stopped:
            if not args.json:
                print()
            print(f"stopped; what was written is kept in conversation {turn.conversation.id}",
                  file=sys.stderr)  # fmt: skip
            return 130
        outcome = turn.outcome
        if args.json:
            print_json(
                {
                    "conversation_id": turn.conversation.id,
                    "message_id": outcome.answer.id,
                    "model_id": turn.model.id,
                    "status": outcome.status,
                    "content": outcome.answer.content,
                    "stats": asdict(outcome.stats) if outcome.stats else None,
                }
            )
        else:
            print()
            if outcome.stats:
                s = outcome.stats
                print(
                    f"[{s.generated_tokens} tokens · {s.generation_tokens_per_s:.1f} tok/s · "
                    f"prompt {s.prompt_tokens} tokens at {s.prompt_tokens_per_s:.0f} tok/s · "
                    f"first token after {s.time_to_first_token_s:.2f} s]",
                    file=sys.stderr,
                )
        return 0
    finally:
        app.close()


# ---- models ----


def _model_row(model: Any) -> dict[str, Any]:
    info = model.info
    return {
        "id": model.id,
        "name": info.name,
        "architecture": info.architecture,
        "quantization": info.quantization,
        "context_length": info.context_length,
        "size_bytes": model.size_bytes,
        "path": str(model.path),
    }


def _cmd_models_list(args: argparse.Namespace) -> int:
    app = open_lantern()
    models = app.models.list()
    if args.json:
        print_json([_model_row(m) for m in models])
    elif not models:
        print("No models installed. Try `lantern models install-starter`.")
    else:
        for m in models:
            print(
                f"{m.id}\t{m.info.quantization}\t{_size(m.size_bytes)}\t"
                f"ctx {m.info.context_length}\t{m.path}"
            )
    return 0


def _cmd_models_import(args: argparse.Namespace) -> int:
    model = open_lantern().models.import_file(Path(args.path))
    print(f"Imported {model.id} ({model.info.quantization}, {_size(model.size_bytes)})")
    return 0


def _cmd_models_rm(args: argparse.Namespace) -> int:
    model = open_lantern().models.remove(args.id)
    print(f"Removed {model.id}")
    return 0


def _cmd_models_install_starter(args: argparse.Namespace) -> int:
    app = open_lantern()
    model = app.models.install_starter(app.paths.cache)
    if model is None:
        print("A model is already installed; nothing to do.")
    else:
        print(f"Installed the starter model {model.id} ({_size(model.size_bytes)})")
    return 0


def _fit_row(estimate: FitEstimate) -> dict[str, Any]:
    return {
        "verdict": estimate.verdict,
        "context_length": estimate.context_length,
        "gpu_layers": estimate.gpu_layers,
        "total_layers": estimate.total_layers,
        "weights_bytes": estimate.need.weights,
        "kv_cache_bytes": estimate.need.kv_cache,
        "compute_bytes": estimate.need.compute,
        "total_bytes": estimate.need.total,
        "gpu_bytes": estimate.on_gpu,
        "ram_bytes": estimate.in_ram,
        "ram_available_bytes": estimate.machine.ram_available,
        "gpu_free_bytes": estimate.machine.gpu_free,
        "summary": estimate.summary(),
    }


def _cmd_models_search(args: argparse.Namespace) -> int:
    found = open_lantern().models.search(args.text, order=args.sort, limit=args.limit)
    if args.json:
        print_json([asdict(m) for m in found])
        return 0
    if not found:
        print(f"No GGUF models on the Hub match '{args.text}'.")
    for m in found:
        details = [
            m.architecture or "",
            f"ctx {m.context_length}" if m.context_length else "",
            f"{m.parameters / 1e9:.2f}B params" if m.parameters else "",
            "gated" if m.gated else "",
        ]
        described = " ".join(d for d in details if d)
        print(f"{m.repo}\t{m.downloads:,} downloads\t{m.likes:,} likes\t{described}")
    return 0


def _cmd_models_info(args: argparse.Namespace) -> int:
    service = open_lantern().models
    repository = service.repository(args.repo)
    rows = []
    for model in repository.files:
        row: dict[str, Any] = {
            "name": model.name,
            "quant": model.quant,
            "size_bytes": model.size,
            "parts": [asdict(p) for p in model.parts],
        }
        if not args.no_fit:
            try:  # one file llama.cpp would refuse does not hide the others
                info = service.remote_info(repository, model)
                row["fit"] = _fit_row(service.fit(info, args.ctx))
            except InvalidModelFile as exc:
                row["refused"] = str(exc)
        rows.append(row)
    if args.json:
        listing = {"revision": repository.revision, "files": rows}
        print_json({**asdict(repository.model), **listing, "left_out": list(repository.left_out)})
        return 0
    m = repository.model
    print(f"{m.repo}  ({m.architecture or 'unknown architecture'}, {m.downloads:,} downloads)")
    if notice := repository.left_out_notice():
        print(notice)
    if not rows:
        print("This repository holds no GGUF model files.")
    for row in rows:
        parts = f" in {len(row['parts'])} parts" if len(row["parts"]) > 1 else ""
        fit = ""
        if "fit" in row:
            fit = f"\t{row['fit']['summary']}"
        elif "refused" in row:
            fit = f"\tcannot be used: {row['refused']}"
        print(f"{row['quant']:>8}  {_size(row['size_bytes']):>9}{parts}  {row['name']}{fit}")
    return 0


def _cmd_models_fit(args: argparse.Namespace) -> int:
    service = open_lantern().models
    path = Path(args.model).expanduser()
    if path.is_file():
        from desktop.models.gguf_info import read_gguf_info

        info = read_gguf_info(path)
    else:
        info = service.get(args.model).info
    estimate = service.fit(info, args.ctx)
    if args.json:
        print_json(_fit_row(estimate))
    else:
        print(estimate.summary())
    return 0 if estimate.verdict != "too_big" else 2


def _cmd_models_pull(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        queue = app.downloads
        repo, revision, chosen = queue.choose_files(args.repo, quant=args.quant, file=args.file)
        installed = queue.installed(repo, chosen)
        if installed is not None:
            print(f"Already installed as {installed.id}")
            return 0
        record = queue.enqueue(repo, revision, chosen)
        on_disk = queue.bytes_on_disk(record)
        resumed = f", resuming at {_size(on_disk)}" if on_disk else ""
        print(
            f"Downloading {record.name} ({record.quant}, {_size(record.total_bytes)}) "
            f"from {record.repo}{resumed}",
            file=sys.stderr,
        )
        model = queue.run(record.id, on_progress=_progress_line)
        print(file=sys.stderr)
        if model is None:  # paused or cancelled from a Lantern window
            status = queue.get(record.id).status
            print(f"The download was {status} in another Lantern window.", file=sys.stderr)
            return 1
        print(f"Installed {model.id} ({model.info.quantization}, {_size(model.size_bytes)})")
        return 0
    except KeyboardInterrupt:
        print("\npaused: run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        app.close()


def _progress_line(progress: Any) -> None:
    """One line on stderr, redrawn: percent, bytes, speed, time left."""
    share = progress.done_bytes / max(progress.total_bytes, 1)
    bar = "#" * int(share * 30)
    left = progress.seconds_left
    eta = f"{int(left // 60)}:{int(left % 60):02d} left" if left is not None else ""
    sys.stderr.write(
        f"\r[{bar:<30}] {share:6.1%} {_size(progress.done_bytes)} / "
        f"{_size(progress.total_bytes)}  {_size(int(progress.bytes_per_second))}/s  {eta}   "
    )
    sys.stderr.flush()


def _cmd_models_downloads(args: argparse.Namespace) -> int:
    downloads = open_lantern().downloads.list()
    if args.json:
        print_json([{**asdict(d), "total_bytes": d.total_bytes} for d in downloads])
    elif not downloads:
        print("No downloads.")
    for d in [] if args.json else downloads:
        share = d.done_bytes / max(d.total_bytes, 1)
        print(f"{d.id}\t{d.status}\t{share:.0%} of {_size(d.total_bytes)}\t{d.repo}\t{d.name}")
    return 0


def _cmd_models_login(args: argparse.Namespace) -> int:
    from desktop.models.hub_token import save_token

    if args.token is not None and args.token != "-":
        print(TOKEN_ON_COMMAND_LINE_WARNING, file=sys.stderr)
        token = args.token
    else:
        token = _token_from_user()
    save_token(_checked_token(token))
    print("Token saved in the system keyring; gated models you have access to can be downloaded.")
    return 0


TOKEN_ON_COMMAND_LINE_WARNING = (
    "warning: a token given with --token stays in your shell's history and shows in the "
    "process list while Lantern runs. Next time run `lantern models login` and paste it at "
    'the hidden prompt, or pipe it in: `echo "$HF_TOKEN" | lantern models login`.'
)


class InvalidToken(LanternError, ValueError):
    """The access token typed or piped in is empty or not one word."""


def _token_from_user() -> str:
    """At a terminal a hidden prompt; otherwise standard input (`echo "$T" | lantern ...`)."""
    if sys.stdin is None:
        return ""
    if not sys.stdin.isatty():
        return sys.stdin.read()
    import getpass

    try:
        return getpass.getpass("Hugging Face access token (input hidden): ")
    except EOFError:  # Ctrl+D at the prompt
        return ""


def _checked_token(token: str) -> str:
    token = token.strip()
    if not token:
        raise InvalidToken(
            "No token was given. Copy one from https://huggingface.co/settings/tokens, then "
            "paste it at the prompt of `lantern models login`, or pipe it in: "
            '`echo "$HF_TOKEN" | lantern models login`.'
        )
    if any(c.isspace() for c in token):
        # Never the token itself in the message: it would land in logs and terminals.
        raise InvalidToken(
            "That is not one access token: it holds spaces or several lines. Give only the "
            "token (it starts with hf_), copied from https://huggingface.co/settings/tokens."
        )
    return token


def _cmd_models_logout(args: argparse.Namespace) -> int:
    from desktop.models.hub_token import forget_token

    print("Token removed." if forget_token() else "No token was saved.")
    return 0


# ---- history ----


def _cmd_history_list(args: argparse.Namespace) -> int:
    conversations = open_lantern().history.list_conversations()
    if args.json:
        print_json([asdict(c) for c in conversations])
    else:
        for c in conversations:
            pin = " (pinned)" if c.pinned else ""
            print(
                f"{c.id}\t{c.updated_at:%Y-%m-%d %H:%M}\t{c.message_count} messages\t{c.title}{pin}"
            )
    return 0


def _cmd_history_search(args: argparse.Namespace) -> int:
    from desktop.store.search import MATCH_END, MATCH_START

    hits = open_lantern().history.search(args.text, limit=args.limit)
    if args.json:
        print_json(
            [
                {**asdict(h), "snippet": h.snippet.replace(MATCH_START, "").replace(MATCH_END, "")}
                for h in hits
            ]
        )
        return 0
    if not hits:
        print(f"No message holds '{args.text}'.")
    for h in hits:
        snippet = " ".join(h.snippet.replace(MATCH_START, "[").replace(MATCH_END, "]").split())
        print(f"{h.conversation_id}\t{h.conversation_title}\t{h.role}: {snippet}")
    return 0


def _cmd_history_export(args: argparse.Namespace) -> int:
    history = open_lantern().history
    if args.output:
        history.export_file(args.id, Path(args.output).expanduser(), args.format)
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(history.export(args.id, args.format))
    return 0


def _cmd_history_import(args: argparse.Namespace) -> int:
    history = open_lantern().history
    if args.file == "-":
        conversation = history.import_stream(sys.stdin.buffer, "standard input")
    else:
        conversation = history.import_file(Path(args.file).expanduser())
    print(f"Imported conversation {conversation.id}: {conversation.title}")
    return 0


def _cmd_history_rm(args: argparse.Namespace) -> int:
    history = open_lantern().history
    title = history.conversations.get(args.id).title
    history.delete(args.id)
    history.conversations.purge_deleted()  # the command line has no Undo
    print(f"Deleted conversation {args.id}: {title}")
    return 0


def _cmd_history_show(args: argparse.Namespace) -> int:
    conversation, messages = open_lantern().chat.conversation(args.id)
    if args.json:
        print_json({**asdict(conversation), "messages": [asdict(m) for m in messages]})
        return 0
    print(f"# {conversation.title}  (model {conversation.model_id})\n")
    for m in messages:
        mark = "" if m.status == "complete" else f"  [{m.status}]"
        print(f"{m.role}{mark}:\n{m.content}\n")
    return 0


# ---- doctor and bench ----


def _display_row(check: DisplayCheck) -> dict[str, Any]:
    return {
        "window_can_open": check.window_can_open,
        "platform_plugin": check.plugin,
        "plugin_path": str(check.plugin_path) if check.plugin_path else None,
        "missing_libraries": list(check.missing),
        "install_command": check.install_command,
        "message": check.message(),
    }


def _cmd_doctor_display(args: argparse.Namespace) -> int:
    """`lantern doctor --display`: only whether the window can open (`make run` asks first)."""
    from desktop.display_libraries import MissingDisplayLibraries, check_display_libraries

    check = check_display_libraries()
    if args.json:
        print_json(_display_row(check))
        return 0 if check.window_can_open else 1
    if not check.window_can_open:
        raise MissingDisplayLibraries(check.message())
    print(check.message())
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from desktop.display_libraries import check_display_libraries
    from desktop.engine.hardware import system_memory

    if args.display:
        return _cmd_doctor_display(args)
    display = check_display_libraries()
    app = open_lantern()
    try:
        hw = app.engine.probe_hardware()
    finally:
        app.close()
    memory = system_memory()
    report = {
        "version": __version__,
        "python": sys.version.split()[0],
        "backend": hw.backend,
        "gpu_offload": hw.gpu_offload,
        "devices": [asdict(d) for d in hw.devices],
        "memory": asdict(memory),
        "paths": {k: str(v) for k, v in asdict(app.paths).items()}
        | {"database": str(app.paths.database)},
        "models": [_model_row(m) for m in app.models.list()],
        "llama_cpp_features": hw.system_info.strip(),
        "display": _display_row(display),
    }
    if args.json:
        print_json(report)
        return 0
    print(f"{APP_NAME} {__version__} (Python {report['python']})")
    print(
        f"Backend: {hw.backend} (GPU offload {'supported' if hw.gpu_offload else 'not built in'})"
    )
    for d in hw.devices:
        print(f"  {d.name}: {d.description}, {_size(d.free_bytes)} free of {_size(d.total_bytes)}")
    print(f"Memory: {_size(memory.available_bytes)} available of {_size(memory.total_bytes)}")
    print(display.message())
    for name, value in report["paths"].items():
        print(f"{name.capitalize()}: {value}")
    print(f"Models installed: {len(report['models'])}")
    for m in report["models"]:
        print(f"  {m['id']} ({m['quantization']}, {_size(m['size_bytes'])})")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from desktop.services.bench import run_bench

    app = open_lantern()
    print("Running the benchmark (this takes a minute)...", file=sys.stderr)
    report = run_bench(
        app.models,
        app.settings,
        app.paths.logs / "engine.log",
        model_id=args.model,
        runs=args.runs,
        max_tokens=args.max_tokens,
        threads=args.threads,
    )
    if args.json:
        print_json(report.as_dict())
        return 0
    print(
        f"Model {report.model_id} · {report.backend} · {report.threads} threads · "
        f"{report.gpu_layers} GPU layers · median of {report.runs} runs\n"
    )
    print(f"{'':28}{'Lantern (a)':>14}{'direct (b)':>14}{'a/b':>8}")
    rows = [
        ("prompt tokens", "prompt_tokens", "{:.0f}", None),
        ("generated tokens", "generated_tokens", "{:.0f}", None),
        ("time to first token (s)", "time_to_first_token_s", "{:.3f}", None),
        ("prefill tok/s", "prefill_tokens_per_s", "{:.1f}", report.prefill_ratio),
        ("decode tok/s", "decode_tokens_per_s", "{:.1f}", report.decode_ratio),
    ]
    for label, key, fmt, ratio in rows:
        a, b = getattr(report.lantern, key), getattr(report.direct, key)
        tail = f"{ratio:>8.3f}" if ratio is not None else ""
        print(f"{label:28}{fmt.format(a):>14}{fmt.format(b):>14}{tail}")
    return 0


# ---- the parser ----


def _parser() -> argparse.ArgumentParser:
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

    chat = commands.add_parser("chat", help="send a message and stream the answer")
    chat.add_argument("message", help="the message, or - to read it from standard input")
    chat.add_argument("--model", help="installed model id (default: the conversation's or default)")
    chat.add_argument("--conversation", type=int, help="continue this conversation id")
    chat.add_argument("--max-tokens", type=_positive_int, help="longest answer, in tokens")
    chat.add_argument("--temperature", type=_temperature, help="0 for the likeliest words")
    chat.add_argument("--json", action="store_true", help="print the whole turn as JSON at the end")
    chat.set_defaults(handler=_cmd_chat)

    models = commands.add_parser("models", help="find, fit, install and remove models")
    models.set_defaults(group_parser=models)
    models_commands = models.add_subparsers(title="commands", metavar="COMMAND")
    listing = models_commands.add_parser("list", help="installed models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_models_list)
    imp = models_commands.add_parser("import", help="install a GGUF file from this computer")
    imp.add_argument("path")
    imp.set_defaults(handler=_cmd_models_import)
    rm = models_commands.add_parser("rm", help="delete an installed model")
    rm.add_argument("id")
    rm.set_defaults(handler=_cmd_models_rm)
    starter = models_commands.add_parser(
        "install-starter", help="install the small starter model if no model is installed"
    )
    starter.set_defaults(handler=_cmd_models_install_starter)
    search = models_commands.add_parser(
        "search", help="search the Hugging Face Hub for GGUF models"
    )
    search.add_argument("text")
    search.add_argument("--sort", choices=["downloads", "likes", "recent"], default="downloads")
    search.add_argument("--limit", type=_positive_int, default=30)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_cmd_models_search)
    info = models_commands.add_parser(
        "info", help="a Hub repository's model files, quantizations, sizes and memory fit"
    )
    info.add_argument("repo", help="owner/name on the Hub, or a catalog id")
    info.add_argument("--ctx", type=_positive_int, help="context length for the fit estimate")
    info.add_argument("--no-fit", action="store_true", help="skip reading each file's header")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=_cmd_models_info)
    fit = models_commands.add_parser(
        "fit", help="will an installed model or a GGUF file fit this machine's memory"
    )
    fit.add_argument("model", help="installed model id or path to a GGUF file")
    fit.add_argument("--ctx", type=_positive_int, help="context length (default: the app's)")
    fit.add_argument("--json", action="store_true")
    fit.set_defaults(handler=_cmd_models_fit)

    pull = models_commands.add_parser(
        "pull", help="download a model from the Hub (resumes a download cut short)"
    )
    pull.add_argument("repo", help="owner/name on the Hub, or a catalog id")
    which = pull.add_mutually_exclusive_group()
    which.add_argument("--quant", help="quantization, e.g. Q4_K_M (default: the recommended one)")
    which.add_argument("--file", help="the file's name in the repository")
    pull.set_defaults(handler=_cmd_models_pull)
    downloads = models_commands.add_parser("downloads", help="the download queue")
    downloads.add_argument("--json", action="store_true")
    downloads.set_defaults(handler=_cmd_models_downloads)
    login = models_commands.add_parser(
        "login", help="save a Hugging Face access token (for gated models) in the keyring"
    )
    login.add_argument(
        "--token",
        help="the token (it then stays in your shell history: better paste it at the hidden "
        "prompt, or pipe it in); - reads it from standard input. Default: a hidden prompt at a "
        "terminal, standard input otherwise",
    )
    login.set_defaults(handler=_cmd_models_login)
    logout = models_commands.add_parser("logout", help="remove the saved Hugging Face token")
    logout.set_defaults(handler=_cmd_models_logout)

    history = commands.add_parser("history", help="stored conversations")
    history.set_defaults(group_parser=history)
    history_commands = history.add_subparsers(title="commands", metavar="COMMAND")
    hlist = history_commands.add_parser("list", help="conversations, newest first")
    hlist.add_argument("--json", action="store_true")
    hlist.set_defaults(handler=_cmd_history_list)
    hsearch = history_commands.add_parser("search", help="find a word in every conversation")
    hsearch.add_argument("text")
    hsearch.add_argument("--limit", type=_positive_int, default=50)
    hsearch.add_argument("--json", action="store_true")
    hsearch.set_defaults(handler=_cmd_history_search)
    export = history_commands.add_parser("export", help="a conversation as Markdown, JSON or HTML")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=["md", "json", "html"], default="md")
    export.add_argument("-o", "--output", help="write to this file (default: standard output)")
    export.set_defaults(handler=_cmd_history_export)
    himport = history_commands.add_parser(
        "import", help="a conversation from Lantern's JSON or an OpenAI-style message list"
    )
    himport.add_argument("file", help="the file, or - for standard input")
    himport.set_defaults(handler=_cmd_history_import)
    hrm = history_commands.add_parser("rm", help="delete a conversation")
    hrm.add_argument("id", type=int)
    hrm.set_defaults(handler=_cmd_history_rm)
    show = history_commands.add_parser("show", help="one conversation's messages")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_cmd_history_show)

    add_writing_commands(commands)
    add_playground_commands(commands)

    doctor = commands.add_parser(
        "doctor", help="backend, devices, memory, the window's libraries, paths and models"
    )
    doctor.add_argument(
        "--display",
        action="store_true",
        help="only check that the window can open: the system libraries Qt's platform plugin "
        "needs, with the command that installs what is missing (exit 1 then)",
    )
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=_cmd_doctor)

    bench = commands.add_parser("bench", help="Lantern's speed against llama-cpp-python direct")
    bench.add_argument("--model", help="installed model id")
    bench.add_argument("--runs", type=_positive_int, default=5)
    bench.add_argument("--max-tokens", type=_positive_int, default=256)
    bench.add_argument("--threads", type=_positive_int)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=_cmd_bench)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= value <= 5:
        raise argparse.ArgumentTypeError("must be between 0 and 5")
    return value
