"""What every `lantern` subcommand shares: the app it works on and how it prints data."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=json_default, ensure_ascii=False))


def open_lantern() -> Any:
    from desktop.services.app import Lantern

    return Lantern()
