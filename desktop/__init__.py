"""Lantern: run language models entirely on your own computer."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

APP_NAME = "Lantern"

try:
    __version__ = version("lantern-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
