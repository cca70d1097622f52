"""GGUF headers packed by hand, byte by byte: the hostile ones the `gguf` package's writer
would not write (five dimensions, a dimension of 2**63, a count with nothing behind it), and
a small llama-shaped model whose shape numbers a test chooses."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

from gguf import GGMLQuantizationType, GGUFValueType

_FORMATS = {
    GGUFValueType.UINT8: "<B",
    GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I",
    GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f",
    GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT64: "<d",
}
ALIGNMENT = 32
F32 = GGMLQuantizationType.F32


def gguf_string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def value_bytes(kind: GGUFValueType, value: object) -> bytes:
    if kind == GGUFValueType.STRING:
        assert isinstance(value, str | bytes)
        return gguf_string(value)
    return struct.pack(_FORMATS[kind], value)


def key_value(key: str | bytes, kind: GGUFValueType, value: object) -> bytes:
    return gguf_string(key) + struct.pack("<I", kind) + value_bytes(kind, value)


def array_key(
    key: str, item_kind: GGUFValueType | int, items: Sequence[object], length: int | None = None
) -> bytes:
    """An array; `length` claims another item count than the items that follow."""
    count = len(items) if length is None else length
    head = gguf_string(key) + struct.pack("<IIQ", GGUFValueType.ARRAY, item_kind, count)
    return head + b"".join(value_bytes(GGUFValueType(item_kind), item) for item in items)


def tensor_entry(name: str | bytes, dims: Sequence[int], kind: int = F32, offset: int = 0) -> bytes:
    shape = struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
    return gguf_string(name) + shape + struct.pack("<IQ", kind, offset)


def gguf_header(
    keys: Sequence[bytes],
    tensors: Sequence[bytes] = (),
    *,
    version: int = 3,
    key_count: int | None = None,
    tensor_count: int | None = None,
) -> bytes:
    counts = struct.pack(
        "<IQQ",
        version,
        len(tensors) if tensor_count is None else tensor_count,
        len(keys) if key_count is None else key_count,
    )
    return b"GGUF" + counts + b"".join(keys) + b"".join(tensors)


def _padded(size: int) -> int:
    return -(-size // ALIGNMENT) * ALIGNMENT


# A one-layer llama, 32 wide: the tensors a shape needs, with their sizes in bytes.
LLAMA_SHAPE = {
    "block_count": 1,
    "context_length": 256,
    "embedding_length": 32,
    "attention.head_count": 4,
    "attention.head_count_kv": 2,
}
_LLAMA_TENSORS = (("token_embd.weight", (32, 16)), ("blk.0.attn_q.weight", (32, 32)))


def small_llama(shape: dict[str, int] | None = None) -> bytes:
    """A whole model file, header and (zero) tensor data, with `shape` over LLAMA_SHAPE's
    numbers (`{"block_count": 10**9}`): the `llama.*` keys as UINT32, or UINT64 when larger."""
    numbers = {**LLAMA_SHAPE, **(shape or {})}
    keys = [
        key_value("general.architecture", GGUFValueType.STRING, "llama"),
        key_value("general.name", GGUFValueType.STRING, "Small Llama"),
        *(
            key_value(
                f"llama.{key}",
                GGUFValueType.UINT32 if 0 <= value < 2**32 else GGUFValueType.INT64,
                value,
            )
            for key, value in numbers.items()
        ),
    ]
    entries, offset = [], 0
    for name, dims in _LLAMA_TENSORS:
        entries.append(tensor_entry(name, dims, F32, offset))
        offset += _padded(4 * dims[0] * dims[1])
    header = gguf_header(keys, entries)
    return header + bytes(_padded(len(header)) - len(header)) + bytes(offset)


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
