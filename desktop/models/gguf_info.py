"""What Lantern knows of a GGUF model from its header: name, quantization, context, shape.

Read with `gguf_header`, from a local file or from the first megabytes of one still on the
Hub; a local file is also checked to hold every tensor its header lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from desktop.errors import InvalidModelFile
from desktop.models.gguf_header import (
    GGUF_MAGIC,
    GgufHeader,
    HeaderInvalid,
    TensorEntry,
    read_gguf_header,
)
from desktop.models.repo_files import model_parts, split_name

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
    vocab_size: int = 0
    feed_forward_length: int = 0
    layer_weight_bytes: int = 0  # the repeating layers' tensors, all of them
    input_bytes: int = 0  # token embeddings: llama.cpp keeps them in RAM
    output_bytes: int = 0  # output projection and final norm
    tied_embeddings: bool = (
        False  # no output projection: the embeddings serve, and a GPU gets a copy
    )

    @property
    def weight_bytes(self) -> int:
        return self.input_bytes + self.layer_weight_bytes + self.output_bytes

    def kv_cache_bytes(self, context_length: int, layers: int | None = None) -> int:
        """f16 keys and values at the given context, for `layers` of the layers (all by default).

        Sliding-window layers get the full context too: llama-cpp-python keeps a full-size
        cache for them (`swa_full`), so that the prompt cache works.
        """
        layers = self.layers if layers is None else layers
        head_dim = self.embedding_length // max(self.head_count, 1)
        k = self.key_length or head_dim
        v = self.value_length or head_dim
        return layers * context_length * self.head_count_kv * (k + v) * 2


# llama-cpp-python's default micro-batch: the compute buffers grow with it.
UBATCH = 512


@dataclass(frozen=True)
class HeaderLimit:
    """The values llama.cpp (or, where it sets none, good sense) allows for one number of a
    model's shape; `why` names the limit in the message."""

    key: str  # after the architecture's prefix
    low: int
    high: int
    why: str


# llama.cpp's own limits: LLAMA_MAX_LAYERS and LLAMA_MAX_EXPERTS (src/llama-hparams.h, 512
# each: llama-model.cpp asserts the expert count, and the loader's get_key_or_arr throws
# "n > N_MAX" for more layers), and llama_token, a 32-bit id. Where llama.cpp only stores a
# number in 32 bits, the bound is Lantern's: many times what any published model has, yet low
# enough that the memory estimate, linear in each, stays a real number. The records today:
# 16,384 wide (Llama 3.1 405B), 128 heads (Llama 3.1 405B, DeepSeek V3), a context of
# 10,485,760 (Llama 4 Scout), heads of 576 (DeepSeek's MLA keys). A head count of 0 is real:
# Mamba and RWKV have no attention.
PUBLISHED = "Lantern's bound, above any published model"
SHAPE_LIMITS = (
    HeaderLimit("block_count", 1, 512, "llama.cpp's LLAMA_MAX_LAYERS"),
    HeaderLimit("context_length", 1, 2**24, PUBLISHED),
    HeaderLimit("embedding_length", 1, 2**20, PUBLISHED),
    HeaderLimit("attention.head_count", 0, 1024, PUBLISHED),
    HeaderLimit("attention.key_length", 1, 2**16, PUBLISHED),
    HeaderLimit("attention.value_length", 1, 2**16, PUBLISHED),
    HeaderLimit("expert_count", 0, 512, "llama.cpp's LLAMA_MAX_EXPERTS"),
    HeaderLimit("vocab_size", 1, 2**31 - 1, "llama.cpp's 32-bit token ids"),
)


def _check_limits(header: GgufHeader, arch: str, name: str) -> None:
    """InvalidModelFile, naming the key and its limit, for a shape llama.cpp would refuse or
    that no real model has: a billion layers would also make the fit estimate loop forever."""
    for limit in SHAPE_LIMITS:
        value = header.get_int(f"{arch}.{limit.key}")
        if value is not None and not limit.low <= value <= limit.high:
            _refuse_limit(name, f"{arch}.{limit.key}", value, limit.low, limit.high, limit.why)
    # Grouped-query attention shares each key/value head among query heads: never more.
    heads = header.get_int(f"{arch}.attention.head_count")
    kv_heads = header.get_int(f"{arch}.attention.head_count_kv")
    if heads is not None and kv_heads is not None and not 0 <= kv_heads <= heads:
        why = f"at most its {heads:,} query heads"
        _refuse_limit(name, f"{arch}.attention.head_count_kv", kv_heads, 0, heads, why)
    experts = header.get_int(f"{arch}.expert_count") or 0
    used = header.get_int(f"{arch}.expert_used_count")
    if used is not None and not 0 <= used <= experts:
        why = f"at most its {experts:,} experts"
        _refuse_limit(name, f"{arch}.expert_used_count", used, 0, experts, why)


def _refuse_limit(name: str, key: str, value: int, low: int, high: int, why: str) -> NoReturn:
    raise InvalidModelFile(
        f"{name} cannot be run: its header gives '{key}' as {value:,}, outside {low:,} to "
        f"{high:,} ({why}). The file is damaged or was not made for llama.cpp; choose another "
        "file."
    )


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

    Checks the signature, that the header and the tensor table parse, that the file holds
    every tensor the table lists (a cut-off download fails here), and that the
    architecture's keys are there. Milliseconds, where `gguf.GGUFReader`, which maps every
    tensor and vocabulary string, takes 5 to 25 seconds on the same files. The first part of
    a split model (`x-00001-of-00003.gguf`) stands for the whole: every part is checked.
    """
    split = split_name(path.name)
    parts = model_parts(path)
    name = path.stem if split is None else split[0]
    headers = [_complete_header(part, parts) for part in parts]
    tensors = tuple(t for header in headers for t in header.tensors)
    if not tensors:
        raise InvalidModelFile(
            f"{path.name} holds no model weights (it may be a vocabulary file only)."
        )
    size = sum(part.stat().st_size for part in parts)
    return gguf_info_from_header(headers[0], size, name, tensors)


def _complete_header(path: Path, parts: list[Path]) -> GgufHeader:
    name = path.name
    if not path.exists() and len(parts) > 1:
        raise InvalidModelFile(
            f"{name} is missing: the model is split into {len(parts)} files and needs all of "
            "them in one folder."
        )
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            magic = fh.read(4)
            header = (
                read_gguf_header(lambda n: (fh.seek(0), fh.read(n))[1])
                if magic == GGUF_MAGIC
                else None
            )
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    except HeaderInvalid as exc:
        raise InvalidModelFile(
            f"{name} is damaged and cannot be loaded: {exc.reason}. If it was downloaded, "
            "download it again."
        ) from exc
    if header is None:
        raise InvalidModelFile(
            f"{name} is not a GGUF model file (it does not start with the GGUF signature). "
            "Lantern runs GGUF models, such as the ones llama.cpp and LM Studio use."
        )
    if size < header.expected_file_bytes:
        raise InvalidModelFile(
            f"{name} is incomplete: it holds {size:,} of the {header.expected_file_bytes:,} bytes "
            "its header describes. The download was probably cut off: download it again."
        )
    return header


def gguf_info_from_header(
    header: GgufHeader,
    file_bytes: int,
    fallback_name: str,
    tensors: tuple[TensorEntry, ...] | None = None,
) -> GgufInfo:
    """The fields Lantern uses, from a parsed header; InvalidModelFile when one is missing.
    `tensors`: those of every part of a split model, when there are several."""
    tensors = header.tensors if tensors is None else tensors
    fields = header.metadata
    arch = str(fields.get("general.architecture", ""))

    def optional(key: str) -> int | None:
        return header.get_int(f"{arch}.{key}")

    def need(key: str) -> int:
        value = optional(key)
        if value is None:
            raise InvalidModelFile(
                f"{fallback_name} lacks '{arch}.{key}' in its header; it cannot be run."
            )
        return value

    _check_limits(header, arch, fallback_name)
    layers = need("block_count")
    head_count = need("attention.head_count")
    sizes = {"input": 0, "layers": 0, "output": 0}
    for tensor in tensors:
        part = "layers" if tensor.name.startswith("blk.") else "output"
        part = "input" if tensor.name.startswith("token_embd") else part
        sizes[part] += tensor.n_bytes
    shape = ModelShape(
        file_bytes=file_bytes,
        layers=layers,
        embedding_length=need("embedding_length"),
        head_count=head_count,
        head_count_kv=optional("attention.head_count_kv") or head_count,
        key_length=optional("attention.key_length"),
        value_length=optional("attention.value_length"),
        vocab_size=optional("vocab_size") or header.array_length("tokenizer.ggml.tokens") or 0,
        feed_forward_length=optional("feed_forward_length") or 0,
        layer_weight_bytes=sizes["layers"],
        input_bytes=sizes["input"],
        output_bytes=sizes["output"],
        tied_embeddings=not any(t.name == "output.weight" for t in tensors),
    )
    file_type = fields.get("general.file_type")
    return GgufInfo(
        architecture=arch,
        name=str(fields.get("general.name") or fallback_name),
        quantization=FILE_TYPES.get(file_type, "unknown")
        if isinstance(file_type, int)
        else "unknown",
        context_length=need("context_length"),
        has_chat_template="tokenizer.chat_template" in fields,
        shape=shape,
    )
