"""Fixtures the GUI tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.paths import app_paths
from desktop.settings import Settings, save_settings


@pytest.fixture
def short_answers(lantern_home: Path) -> None:
    """Answers of at most 24 tokens: enough for a turn to happen, and quick on a loaded
    machine (the model's default of 1,024 can take over a minute there)."""
    save_settings(app_paths().settings_file, Settings(max_tokens=24))
