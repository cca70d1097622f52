"""Parse a GGUF header (metadata and tensor table) from its first bytes.

`gguf.GGUFReader` needs the whole file on disk and builds every vocabulary string as an
array (seconds per model). The memory-fit estimate must work on a model that is not
downloaded yet, from a ranged read of the first few megabytes, so this reads the header
sequentially and stops where the tensor data begins. Types and block sizes come from the
`gguf` package's constants, so new quantization types are known as soon as it knows them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from math import prod

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

GGUF_MAGIC = b"GGUF"

_SCALARS: dict[GGUFValueType, struct.Struct] = {
    GGUFValueType.UINT8: struct.Struct("<B"),
    GGUFValueType.INT8: struct.Struct("<b"),
    GGUFValueType.UINT16: struct.Struct("<H"),
    GGUFValueType.INT16: struct.Struct("<h"),
    GGUFValueType.UINT32: struct.Struct("<I"),
    GGUFValueType.INT32: struct.Struct("<i"),
    GGUFValueType.FLOAT32: struct.Struct("<f"),
    GGUFValueType.BOOL: struct.Struct("<?"),
    GGUFValueType.UINT64: struct.Struct("<Q"),
    GGUFValueType.INT64: struct.Struct("<q"),
    GGUFValueType.FLOAT64: struct.Struct("<d"),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
# Arrays longer than this (vocabularies, merges) are skipped and kept as their length only.
_KEPT_ARRAY_LENGTH = 64


class HeaderIncomplete(Exception):
    """The bytes given end inside the header; read at least `needed` bytes and try again."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"the GGUF header needs at least {needed} bytes")
        self.needed = needed


class HeaderInvalid(ValueError):
    """Not a GGUF file, or a header that makes no sense."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    type_name: str
    n_bytes: int
    offset: int  # from the start of the tensor data


@dataclass(frozen=True)
class GgufHeader:
    version: int
    metadata: dict[str, object]  # long arrays appear as ("array", length)
    tensors: tuple[TensorEntry, ...]
    data_offset: int  # where the tensor data begins

    @property
    def expected_file_bytes(self) -> int:
        """The least a complete file holds: up to the end of its last tensor."""
        return self.data_offset + max((t.offset + t.n_bytes for t in self.tensors), default=0)

    def get_int(self, key: str) -> int | None:
        value = self.metadata.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def array_length(self, key: str) -> int | None:
        value = self.metadata.get(key)
        if isinstance(value, tuple) and value[:1] == ("array",):
            return int(value[1])
        return len(value) if isinstance(value, list) else None


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: struct.Struct) -> object:
        end = self.pos + fmt.size
        if end > len(self.data):
            raise HeaderIncomplete(end)
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos = end
        return value

    def u32(self) -> int:
        return int(self.take(_U32))  # type: ignore[call-overload]

    def u64(self) -> int:
        return int(self.take(_U64))  # type: ignore[call-overload]

    def string(self) -> str:
        length = self.u64()
        end = self.pos + length
        if end > len(self.data):
            raise HeaderIncomplete(end)
        text = self.data[self.pos : end].decode("utf-8", errors="replace")
        self.pos = end
        return text

    def skip_strings(self, count: int) -> None:
        """Step over `count` strings: a vocabulary holds up to 260,000, so one tight loop."""
        data, pos, size, unpack = self.data, self.pos, len(self.data), _U64.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                raise HeaderIncomplete(pos + 8)
            pos += 8 + unpack(data, pos)[0]
        if pos > size:
            raise HeaderIncomplete(pos)
        self.pos = pos


def _value_type(code: int) -> GGUFValueType:
    try:
        return GGUFValueType(code)
    except ValueError:
        raise HeaderInvalid(f"unknown metadata value type {code}") from None


def _read_value(cursor: _Cursor, kind: GGUFValueType) -> object:
    if kind == GGUFValueType.STRING:
        return cursor.string()
    if kind != GGUFValueType.ARRAY:
        return cursor.take(_SCALARS[kind])
    item_kind = _value_type(cursor.u32())
    length = cursor.u64()
    if length <= _KEPT_ARRAY_LENGTH and item_kind != GGUFValueType.ARRAY:
        return [_read_value(cursor, item_kind) for _ in range(length)]
    if item_kind == GGUFValueType.STRING:
        cursor.skip_strings(length)
    elif item_kind == GGUFValueType.ARRAY:
        raise HeaderInvalid("nested metadata arrays are not supported")
    else:
        cursor.pos += length * _SCALARS[item_kind].size
        if cursor.pos > len(cursor.data):
            raise HeaderIncomplete(cursor.pos)
    return ("array", length)


def _tensor_bytes(type_code: int, dims: list[int]) -> tuple[str, int]:
    try:
        qtype = GGMLQuantizationType(type_code)
    except ValueError:
        raise HeaderInvalid(f"unknown tensor type {type_code}") from None
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    return qtype.name, prod(dims) // block_size * type_size


def parse_gguf_header(data: bytes) -> GgufHeader:
    """The header held in `data` (the start of a GGUF file).

    Raises HeaderIncomplete when `data` ends inside the header, HeaderInvalid when it is
    not a GGUF header at all.
    """
    cursor = _Cursor(data)
    if len(data) >= 4 and data[:4] != GGUF_MAGIC:
        raise HeaderInvalid("the file does not start with the GGUF signature")
    cursor.pos = 4
    version = cursor.u32()
    if version not in (2, 3):
        raise HeaderInvalid(f"GGUF version {version} is not supported (only 2 and 3)")
    tensor_count = cursor.u64()
    kv_count = cursor.u64()
    if tensor_count > 1_000_000 or kv_count > 1_000_000:
        raise HeaderInvalid("its header counts are implausible")
    metadata: dict[str, object] = {}
    for _ in range(kv_count):
        key = cursor.string()
        metadata[key] = _read_value(cursor, _value_type(cursor.u32()))
    tensors = []
    for _ in range(tensor_count):
        name = cursor.string()
        dims = [cursor.u64() for _ in range(cursor.u32())]
        type_name, n_bytes = _tensor_bytes(cursor.u32(), dims)
        tensors.append(TensorEntry(name, type_name, n_bytes, cursor.u64()))
    alignment = metadata.get("general.alignment", 32)
    align = alignment if isinstance(alignment, int) and alignment > 0 else 32
    data_offset = -(-cursor.pos // align) * align
    return GgufHeader(version, metadata, tuple(tensors), data_offset)


def read_gguf_header(
    read_prefix: Callable[[int], bytes], first_read: int = 2 * 1024**2, limit: int = 256 * 1024**2
) -> GgufHeader:
    """Parse a header through `read_prefix(n)` (the file's first n bytes, or fewer at its
    end), reading more while the header goes on; a local file or a ranged HTTP request."""
    size = first_read
    while True:
        data = read_prefix(size)
        try:
            return parse_gguf_header(data)
        except HeaderIncomplete as exc:
            if len(data) < size:  # the file itself ends inside the header
                raise HeaderInvalid("the file ends inside its header; it is cut off") from exc
            if size >= limit:
                raise HeaderInvalid(f"the header is larger than {limit} bytes") from exc
            size = min(limit, max(size * 2, exc.needed + 1024**2))
