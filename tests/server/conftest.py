"""`lantern serve`'s API, started for real on 127.0.0.1 (a free port) over a whole Lantern with
the starter model, its key kept in a keyring in a file of the test's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_server import Served, serve

from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern


@pytest.fixture
def served(
    lantern: Lantern, installed_starter: InstalledModel, file_keyring: Path
) -> Iterator[Served]:
    running = serve(lantern, lantern.serving, installed_starter)
    yield running
    running.server.stop()
