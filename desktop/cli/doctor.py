"""`lantern doctor`: what Lantern runs on (backend, devices, memory), whether its window can
open (the system libraries Qt's platform plugin needs), where its files are, and the models
installed; `--display` checks only the window, as `make run` does first."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from desktop import APP_NAME, __version__
from desktop.cli.arguments import Commands
from desktop.cli.output import installed_model_row, open_lantern, print_json, size

if TYPE_CHECKING:
    from desktop.display_libraries import DisplayCheck


def add_commands(commands: Commands) -> None:
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
    doctor.set_defaults(handler=_doctor)


def _display_row(check: DisplayCheck) -> dict[str, Any]:
    return {
        "window_can_open": check.window_can_open,
        "platform_plugin": check.plugin,
        "plugin_path": str(check.plugin_path) if check.plugin_path else None,
        "missing_libraries": list(check.missing),
        "install_command": check.install_command,
        "message": check.message(),
    }


def _display(args: argparse.Namespace) -> int:
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


def _doctor(args: argparse.Namespace) -> int:
    from desktop.display_libraries import check_display_libraries
    from desktop.engine.hardware import system_memory

    if args.display:
        return _display(args)
    display = check_display_libraries()
    app = open_lantern()
    try:
        hw = app.engines.probe_hardware()
    finally:
        app.close()
    memory = system_memory()
    report: dict[str, Any] = {
        "version": __version__,
        "python": sys.version.split()[0],
        "backend": hw.backend,
        "gpu_offload": hw.gpu_offload,
        "devices": [asdict(d) for d in hw.devices],
        "memory": asdict(memory),
        "paths": {k: str(v) for k, v in asdict(app.paths).items()}
        | {"database": str(app.paths.database)},
        "models": [installed_model_row(m) for m in app.models.list()],
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
        print(f"  {d.name}: {d.description}, {size(d.free_bytes)} free of {size(d.total_bytes)}")
    print(f"Memory: {size(memory.available_bytes)} available of {size(memory.total_bytes)}")
    print(display.message())
    for name, value in report["paths"].items():
        print(f"{name.capitalize()}: {value}")
    print(f"Models installed: {len(report['models'])}")
    for m in report["models"]:
        print(f"  {m['id']} ({m['quantization']}, {size(m['size_bytes'])})")
    return 0
