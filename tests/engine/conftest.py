"""What the engine tests share: an engine process of their own, closed after the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.engine.client import EngineClient


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineClient]:
    client = EngineClient(tmp_path / "engine.log")
    yield client
    client.close()
