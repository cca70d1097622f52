"""The real starter model's header, mutated: whatever is changed, reading it (as from the Hub)
and estimating its fit either works or fails with Lantern's own error, within a second."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.errors import InvalidModelFile
from desktop.models.fit import MachineMemory, fit_estimate
from desktop.models.gguf_header import REMOTE_HEADER_LIMIT, read_gguf_header
from desktop.models.gguf_info import gguf_info_from_header

MACHINE = MachineMemory(ram_available=16 * 1024**3, gpu_free=8 * 1024**3)
# Values a hostile or broken field would hold, as 8 or 4 little-endian bytes.
EXTREMES = [0, 1, 5, 48, 513, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]


@pytest.fixture(scope="module")
def starter_header(starter_model_path: Path) -> bytes:
    """The starter's header (1.7 MB: metadata, a 49,152-token vocabulary, 272 tensors) and the
    first 64 KB of its weights."""
    with starter_model_path.open("rb") as fh:
        header = read_gguf_header(lambda size: (fh.seek(0), fh.read(size))[1])
        fh.seek(0)
        return fh.read(header.data_offset + 64 * 1024)


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[int, bytes]]:
    """Up to eight overwrites: the counts, the metadata before the vocabulary, the tensor
    table at the header's end (where every field is structural), or anywhere."""
    where = st.one_of(
        st.integers(8, 24),
        st.integers(24, 2048),
        st.integers(max(0, size - 90_000), size - 1),
        st.integers(0, size - 1),
    )
    what = st.one_of(
        st.binary(min_size=1, max_size=8),
        st.builds(lambda v: v.to_bytes(8, "little"), st.sampled_from(EXTREMES)),
        st.builds(lambda v: (v % 2**32).to_bytes(4, "little"), st.sampled_from(EXTREMES)),
    )
    return draw(st.lists(st.tuples(where, what), min_size=1, max_size=8))


def mutated(data: bytes, changes: list[tuple[int, bytes]], cut: int | None) -> bytes:
    buffer = bytearray(data)
    for position, value in changes:
        buffer[position : position + len(value)] = value
    return bytes(buffer[:cut])


@settings(
    max_examples=120,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_mutated_real_header_gives_a_header_or_lanterns_own_error(
    starter_header: bytes, data: st.DataObject
) -> None:
    size = len(starter_header)
    changes = data.draw(mutations(size))
    cut = data.draw(st.none() | st.integers(0, size))
    hostile = mutated(starter_header, changes, cut)
    try:
        header = read_gguf_header(lambda n: hostile[:n], limit=REMOTE_HEADER_LIMIT)
        info = gguf_info_from_header(header, len(hostile), "mutated")
    except InvalidModelFile as exc:  # HeaderInvalid is one
        assert exc.message and "Traceback" not in exc.message
        return
    estimate = fit_estimate(info.shape, info.context_length, MACHINE)
    assert 0 <= estimate.gpu_layers <= info.shape.layers + 1 <= 513
