"""Read and check a GGUF file's header with the `gguf` reader, without loading the weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.errors import InvalidModelFile

GGUF_MAGIC = b"GGUF"

# general.file_type -> the quantization name people know (llama.cpp's LLAMA_FTYPE_*).
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4",
}


@dataclass(frozen=True)
class ModelShape:
    """What memory decisions need to know of a model."""

    file_bytes: int
    layers: int
    embedding_length: int
    head_count: int
    head_count_kv: int
    key_length: int | None = None
    value_length: int | None = None

    def kv_cache_bytes(self, context_length: int, bytes_per_value: int = 2) -> int:
        """Keys and values for every layer at the given context (f16 by default)."""
        head_dim = self.embedding_length // max(self.head_count, 1)
        k = self.key_length or head_dim
        v = self.value_length or head_dim
        return self.layers * context_length * self.head_count_kv * (k + v) * bytes_per_value


@dataclass(frozen=True)
class GgufInfo:
    architecture: str
    name: str
    quantization: str
    context_length: int
    has_chat_template: bool
    shape: ModelShape


def read_gguf_info(path: Path) -> GgufInfo:
    """The header of a GGUF file; InvalidModelFile, with a plain reason, for anything else.

    Checks the magic, that the header and the tensor table parse (the reader maps every
    tensor, so a file cut off before its end fails), and that the architecture's keys are there.
    """
    from gguf import GGUFReader  # heavy import (numpy); only when a file is actually read

    name = path.name
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    if magic != GGUF_MAGIC:
        raise InvalidModelFile(
            f"{name} is not a GGUF model file (it does not start with the GGUF signature). "
            "Lantern runs GGUF models, such as the ones llama.cpp and LM Studio use."
        )
    try:
        reader = GGUFReader(path, "r")
        fields = {key: _field_value(field) for key, field in reader.fields.items()}
    except Exception as exc:  # the reader raises many kinds on damaged headers
        # The reader fails this way on a damaged header and on a file cut off before the end
        # of its tensors alike.
        raise InvalidModelFile(
            f"{name} is damaged or incomplete and cannot be loaded ({exc}). If it was "
            "downloaded, the download was probably cut off: download the file again."
        ) from exc
    if not reader.tensors:
        raise InvalidModelFile(f"{name} holds no model weights (it may be a vocabulary file only).")
    arch = str(fields.get("general.architecture", ""))

    def need(key: str) -> int:
        value = fields.get(f"{arch}.{key}")
        if not isinstance(value, int):
            raise InvalidModelFile(f"{name} lacks '{arch}.{key}' in its header; it cannot be run.")
        return value

    def optional(key: str) -> int | None:
        value = fields.get(f"{arch}.{key}")
        return value if isinstance(value, int) else None

    head_count = need("attention.head_count")
    shape = ModelShape(
        file_bytes=path.stat().st_size,
        layers=need("block_count"),
        embedding_length=need("embedding_length"),
        head_count=head_count,
        head_count_kv=optional("attention.head_count_kv") or head_count,
        key_length=optional("attention.key_length"),
        value_length=optional("attention.value_length"),
    )
    file_type = fields.get("general.file_type")
    return GgufInfo(
        architecture=arch,
        name=str(fields.get("general.name") or path.stem),
        quantization=FILE_TYPES.get(file_type, "unknown")
        if isinstance(file_type, int)
        else "unknown",
        context_length=need("context_length"),
        has_chat_template="tokenizer.chat_template" in fields,
        shape=shape,
    )


def _field_value(field: Any) -> Any:
    """Scalars and strings as Python values; arrays (the vocabulary) are skipped as None."""
    if len(field.types) != 1:
        return None
    value = field.contents()
    return value.item() if hasattr(value, "item") else value
