"""Parse a GGUF header (metadata and tensor table) from its first bytes.

`gguf.GGUFReader` needs the whole file on disk and builds every vocabulary string as an
array (seconds per model). The memory-fit estimate must work on a model that is not
downloaded yet, from a ranged read of the first few megabytes, so this reads the header
sequentially and stops where the tensor data begins. Types and block sizes come from the
`gguf` package's constants, so new quantization types are known as soon as it knows them.

A header is untrusted input: it is held to the limits llama.cpp's own reader enforces
(`gguf_init_from_reader` in ggml/src/gguf.cpp), so that Lantern refuses at import, or before
a download, what llama.cpp would refuse at load time; and every count or length in it is
checked before it drives a loop or an allocation.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from math import prod

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from desktop.errors import InvalidModelFile

GGUF_MAGIC = b"GGUF"

# llama.cpp's limits. ggml.h: GGML_MAX_DIMS, GGML_MAX_NAME; ggml/src/gguf.cpp:
# GGUF_MAX_STRING_LENGTH, GGUF_MAX_ARRAY_ELEMENTS; a dimension is read into an int64_t `ne[j]`
# and must not be negative, the element count must stay under INT64_MAX, a tensor's bytes and
# the whole data section under SIZE_MAX; `general.alignment` is a UINT32 power of two.
GGML_MAX_DIMS = 4
GGML_MAX_NAME = 64
GGUF_MAX_STRING_LENGTH = 1024**3
GGUF_MAX_ARRAY_ELEMENTS = 1024**3
GGUF_DEFAULT_ALIGNMENT = 32
INT64_MAX = 2**63 - 1
SIZE_MAX = 2**64 - 1
# llama.cpp bounds these two counts only by SIZE_MAX / sizeof(entry); Lantern by far less:
# the largest real models list a few thousand tensors and a few hundred keys.
MAX_TENSORS = 1_000_000
MAX_KEYS = 1_000_000
# The fewest bytes a key (length, type) and a tensor entry (name length, dimension count,
# type, offset) take: a count is checked against the bytes it needs before its loop runs.
_MIN_KEY_BYTES = 8 + 4
_MIN_TENSOR_BYTES = 8 + 4 + 4 + 8

# The most bytes read to find a header's end. The largest real headers (vocabularies of
# 260,000 tokens with their merges) take under 10 MB. A local file may hold more (llama.cpp
# reads whatever the file holds); a header read from the Hub, before anything is downloaded,
# stops sooner: it costs the user's bandwidth and runs while they browse.
LOCAL_HEADER_LIMIT = 256 * 1024**2
REMOTE_HEADER_LIMIT = 32 * 1024**2
FIRST_READ = 2 * 1024**2

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


class HeaderInvalid(InvalidModelFile):
    """Not a GGUF file, or a header llama.cpp would refuse. `reason` says what is wrong in
    words that fit after a file's name; the message stands alone (the Hub file view shows it
    beside the file it is about)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"This file cannot be loaded by llama.cpp: {reason}. It is damaged or was not "
            "made for llama.cpp; choose another file."
        )
        self.reason = reason


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

    def need(self, count: int) -> None:
        """HeaderIncomplete unless `count` more bytes follow: checked before a count drives
        a loop, so that a huge count asks for (and is refused by) the byte cap first."""
        if self.pos + count > len(self.data):
            raise HeaderIncomplete(self.pos + count)

    def take(self, fmt: struct.Struct) -> object:
        self.need(fmt.size)
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return value

    def u32(self) -> int:
        return int(self.take(_U32))  # type: ignore[call-overload]

    def u64(self) -> int:
        return int(self.take(_U64))  # type: ignore[call-overload]

    def raw_string(self) -> bytes:
        length = self.u64()
        if length > GGUF_MAX_STRING_LENGTH:
            raise HeaderInvalid(
                f"it holds a text of {length:,} bytes, more than llama.cpp's limit of "
                f"{GGUF_MAX_STRING_LENGTH:,} (GGUF_MAX_STRING_LENGTH)"
            )
        self.need(length)
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw

    def string(self) -> str:
        return self.raw_string().decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Step over `count` strings: a vocabulary holds up to 260,000, so one tight loop."""
        self.need(count * 8)  # every string has its 8-byte length, at least
        data, pos, size, unpack = self.data, self.pos, len(self.data), _U64.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                raise HeaderIncomplete(pos + 8)
            pos += 8 + unpack(data, pos)[0]
        if pos > size:
            raise HeaderIncomplete(pos)
        self.pos = pos


def _value_type(code: int, key: str) -> GGUFValueType:
    try:
        return GGUFValueType(code)
    except ValueError:
        raise HeaderInvalid(f"its key '{key}' has an unknown value type ({code})") from None


def _read_value(cursor: _Cursor, kind: GGUFValueType, key: str) -> object:
    if kind == GGUFValueType.STRING:
        return cursor.string()
    if kind != GGUFValueType.ARRAY:
        return cursor.take(_SCALARS[kind])
    item_kind = _value_type(cursor.u32(), key)
    length = cursor.u64()
    if item_kind == GGUFValueType.ARRAY:
        raise HeaderInvalid(f"its key '{key}' holds arrays of arrays, which llama.cpp refuses")
    if length > GGUF_MAX_ARRAY_ELEMENTS:
        raise HeaderInvalid(
            f"its key '{key}' lists {length:,} items, more than llama.cpp's limit of "
            f"{GGUF_MAX_ARRAY_ELEMENTS:,} (GGUF_MAX_ARRAY_ELEMENTS)"
        )
    if length <= _KEPT_ARRAY_LENGTH:
        return [_read_value(cursor, item_kind, key) for _ in range(length)]
    if item_kind == GGUFValueType.STRING:
        cursor.skip_strings(length)
    else:
        size = length * _SCALARS[item_kind].size
        cursor.need(size)
        cursor.pos += size
    return ("array", length)


def _read_metadata(cursor: _Cursor, kv_count: int) -> dict[str, object]:
    cursor.need(kv_count * _MIN_KEY_BYTES)
    metadata: dict[str, object] = {}
    for _ in range(kv_count):
        key = cursor.string()
        if not key:
            raise HeaderInvalid("one of its metadata keys is empty")
        if key in metadata:
            raise HeaderInvalid(f"its key '{key}' appears twice")
        kind = _value_type(cursor.u32(), key)
        if key == "general.alignment" and kind != GGUFValueType.UINT32:
            raise HeaderInvalid(f"'general.alignment' is a {kind.name}; llama.cpp needs a UINT32")
        metadata[key] = _read_value(cursor, kind, key)
    return metadata


def _alignment(metadata: dict[str, object]) -> int:
    align = metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
    assert isinstance(align, int)  # a UINT32, checked as it was read
    if align == 0 or align & (align - 1):
        raise HeaderInvalid(f"'general.alignment' is {align}; llama.cpp needs a power of two")
    return align


def _tensor_name(cursor: _Cursor, seen: set[str]) -> str:
    raw = cursor.raw_string()
    name = raw.decode("utf-8", errors="replace")
    if len(raw) >= GGML_MAX_NAME:
        raise HeaderInvalid(
            f"a tensor name is {len(raw)} bytes long; llama.cpp allows at most "
            f"{GGML_MAX_NAME - 1} (GGML_MAX_NAME)"
        )
    if name in seen:
        raise HeaderInvalid(f"its tensor '{name}' appears twice")
    seen.add(name)
    return name


def _tensor_shape(cursor: _Cursor, name: str) -> list[int]:
    n_dims = cursor.u32()
    if n_dims > GGML_MAX_DIMS:
        raise HeaderInvalid(
            f"its tensor '{name}' has {n_dims:,} dimensions; llama.cpp allows at most "
            f"{GGML_MAX_DIMS} (GGML_MAX_DIMS)"
        )
    dims = [cursor.u64() for _ in range(n_dims)]
    for dim in dims:
        if dim > INT64_MAX:
            raise HeaderInvalid(
                f"its tensor '{name}' has a dimension of {dim:,}; llama.cpp allows at most "
                f"{INT64_MAX:,} (INT64_MAX)"
            )
    # gguf.cpp's test, as it writes it: INT64_MAX / ne[1] <= ne[0], and so on for ne[2], ne[3].
    ne = [*dims, 1, 1, 1, 1][:GGML_MAX_DIMS]
    if prod(ne) > 0 and any(INT64_MAX // ne[j] <= prod(ne[:j]) for j in range(1, GGML_MAX_DIMS)):
        raise HeaderInvalid(
            f"its tensor '{name}' has {prod(ne):,} elements; llama.cpp counts at most "
            f"{INT64_MAX:,} (INT64_MAX)"
        )
    return ne


def _tensor_bytes(type_code: int, shape: list[int], name: str) -> tuple[str, int]:
    try:
        qtype = GGMLQuantizationType(type_code)
    except ValueError:
        raise HeaderInvalid(f"its tensor '{name}' has an unknown type ({type_code})") from None
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if shape[0] % block_size:
        raise HeaderInvalid(
            f"its tensor '{name}' has rows of {shape[0]:,} values, not a whole number of "
            f"{qtype.name} blocks of {block_size}"
        )
    n_bytes = prod(shape) // block_size * type_size
    if n_bytes > SIZE_MAX:
        raise HeaderInvalid(f"its tensor '{name}' takes more than {SIZE_MAX:,} bytes (SIZE_MAX)")
    return qtype.name, n_bytes


def _read_tensors(cursor: _Cursor, tensor_count: int) -> list[TensorEntry]:
    cursor.need(tensor_count * _MIN_TENSOR_BYTES)
    tensors: list[TensorEntry] = []
    seen: set[str] = set()
    for _ in range(tensor_count):
        name = _tensor_name(cursor, seen)
        shape = _tensor_shape(cursor, name)
        type_name, n_bytes = _tensor_bytes(cursor.u32(), shape, name)
        tensors.append(TensorEntry(name, type_name, n_bytes, cursor.u64()))
    return tensors


def _check_tensor_offsets(tensors: list[TensorEntry], align: int) -> None:
    """llama.cpp places each tensor right after the one before, padded to the alignment, and
    refuses a file whose table says otherwise; the expected file size relies on it too."""
    expected = 0
    for tensor in tensors:
        if tensor.offset != expected:
            raise HeaderInvalid(
                f"its tensor '{tensor.name}' starts at byte {tensor.offset:,} of the data, "
                f"where llama.cpp expects byte {expected:,}"
            )
        expected += -(-tensor.n_bytes // align) * align
    if expected > SIZE_MAX:
        raise HeaderInvalid(f"its tensors take more than {SIZE_MAX:,} bytes (SIZE_MAX)")


def parse_gguf_header(data: bytes) -> GgufHeader:
    """The header held in `data` (the start of a GGUF file).

    Raises HeaderIncomplete when `data` ends inside the header (or a count in it needs more
    bytes than `data` holds), HeaderInvalid when it is not a GGUF header llama.cpp would load.
    """
    cursor = _Cursor(data)
    if len(data) >= 4 and data[:4] != GGUF_MAGIC:
        raise HeaderInvalid("it does not start with the GGUF signature")
    cursor.pos = 4
    version = cursor.u32()
    if version not in (2, 3):
        raise HeaderInvalid(f"it is GGUF version {version:,}; only versions 2 and 3 are loaded")
    tensor_count = cursor.u64()
    kv_count = cursor.u64()
    if tensor_count > MAX_TENSORS:
        raise HeaderInvalid(f"it lists {tensor_count:,} tensors; Lantern reads at most 1,000,000")
    if kv_count > MAX_KEYS:
        raise HeaderInvalid(f"it lists {kv_count:,} metadata keys; Lantern reads at most 1,000,000")
    metadata = _read_metadata(cursor, kv_count)
    align = _alignment(metadata)
    tensors = _read_tensors(cursor, tensor_count)
    _check_tensor_offsets(tensors, align)
    data_offset = -(-cursor.pos // align) * align
    return GgufHeader(version, metadata, tuple(tensors), data_offset)


def read_gguf_header(
    read_prefix: Callable[[int], bytes],
    first_read: int = FIRST_READ,
    limit: int = LOCAL_HEADER_LIMIT,
) -> GgufHeader:
    """Parse a header through `read_prefix(n)` (the file's first n bytes, or fewer at its
    end), reading more while the header goes on, never more than `limit` bytes: a local file,
    or a ranged HTTP request (`REMOTE_HEADER_LIMIT`)."""
    size = min(first_read, limit)
    while True:
        data = read_prefix(size)
        try:
            return parse_gguf_header(data)
        except HeaderIncomplete as exc:
            if exc.needed > limit:  # refused before reading it: the count alone says so
                raise HeaderInvalid(
                    f"its header would take {exc.needed:,} bytes, more than the "
                    f"{limit // 1024**2:,} MB Lantern reads for one"
                ) from exc
            if len(data) < size:  # the file itself ends inside the header
                raise HeaderInvalid("the file ends inside its header; it is cut off") from exc
            size = min(limit, max(size * 2, exc.needed + 1024**2))
