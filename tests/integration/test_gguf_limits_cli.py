"""Model files llama.cpp would refuse, end to end: `lantern models import` says why in one
line and installs nothing; a header read from the Hub stops at the tighter remote cap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gguf import GGUFValueType
from gguf_bytes import array_key, gguf_header, small_llama, tensor_entry, write_file
from hub_server import LocalHub
from test_cli import lantern

from desktop.models.gguf_header import FIRST_READ, HeaderInvalid
from desktop.models.hub import HubClient


@pytest.mark.parametrize(
    ("data", "said"),
    [
        pytest.param(
            small_llama({"block_count": 10**9}),
            "error: layers cannot be run: its header gives 'llama.block_count' as "
            "1,000,000,000, outside 1 to 512 (llama.cpp's LLAMA_MAX_LAYERS)",
            id="a billion layers",
        ),
        pytest.param(
            gguf_header([], [tensor_entry("t", [1] * 200_000)]) + bytes(4096),
            "error: layers.gguf is damaged and cannot be loaded: its tensor 't' has 200,000 "
            "dimensions; llama.cpp allows at most 4 (GGML_MAX_DIMS)",
            id="200,000 dimensions",
        ),
    ],
)
def test_import_of_a_file_llama_cpp_would_refuse_says_why_and_installs_nothing(
    tmp_path: Path, lantern_home: Path, data: bytes, said: str
) -> None:
    result = lantern(
        "models", "import", str(write_file(tmp_path / "layers.gguf", data)), check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith(said)
    assert json.loads(lantern("models", "list", "--json").stdout) == []
    assert not any((lantern_home / "models").glob("**/*.gguf"))


@pytest.fixture
def remote_hub(tmp_path: Path) -> Iterator[LocalHub]:
    # A header whose tokenizer text claims 100 MB: past the remote cap, within the local one.
    claim = gguf_header([array_key("tokenizer.chat_template", GGUFValueType.UINT8, [], 10**8)])
    hub = LocalHub().start()
    hub.add_repo("hostile/Big-Header-GGUF", {"m-Q4_0.gguf": write_file(tmp_path / "m", claim)})
    yield hub
    hub.stop()


def test_a_header_read_from_the_hub_is_refused_past_the_remote_cap(remote_hub: LocalHub) -> None:
    hub = HubClient(lambda: None, endpoint=remote_hub.endpoint)
    revision = hub.repository("hostile/Big-Header-GGUF").revision
    with pytest.raises(HeaderInvalid, match="more than the 32 MB Lantern reads"):
        hub.read_header("hostile/Big-Header-GGUF", revision, "m-Q4_0.gguf")
    reads = remote_hub.file_requests("m-Q4_0.gguf")
    assert [r.range for r in reads] == [f"bytes=0-{FIRST_READ - 1}"], "one read, then refused"
