"""A sentence-transformers BERT model (a zip of safetensors weights, `tokenizer.json`,
`config.json` and the pooling config) written as a GGUF that llama.cpp embeds with, the way
llama.cpp's convert_hf_to_gguf.py writes a BertModel; no torch (the `gguf` package writes it,
safetensors' numpy loader reads the weights).

What llama.cpp needs of it, and where the converter differs from a plain copy:
- its WordPiece ("bert") tokenizer wants the "phantom space" vocabulary: a word start carries
  U+2581, a continuation (`##x`) loses its `##`; `[CLS]`-style specials are CONTROL tokens;
- matrices in f16, but the position and token-type embeddings in f32 (llama.cpp adds them to
  f32 activations, which needs f32); `position_ids` and the unused `pooler.*` are left out;
- the pooling sentence-transformers applies (mean, or CLS) and non-causal attention.

The archive is untrusted input: anything unexpected in it is an InvalidModelFile that says what.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt
from safetensors import SafetensorError
from safetensors.numpy import load_file

from desktop.errors import InvalidModelFile

CONFIG = "config.json"
POOLING = "1_Pooling/config.json"
TOKENIZER = "tokenizer.json"
WEIGHTS = "model.safetensors"
# What the converter reads; the tokenizer's extra configs name the special tokens when present.
MEMBERS = (CONFIG, POOLING, TOKENIZER, WEIGHTS)
OPTIONAL_MEMBERS = ("tokenizer_config.json", "special_tokens_map.json")
MAX_UNPACKED_BYTES = 4 << 30  # what a small embedder unpacks to, many times over
POOLINGS = {
    "pooling_mode_mean_tokens": gguf.PoolingType.MEAN,
    "pooling_mode_cls_token": gguf.PoolingType.CLS,
}
# Added to f32 activations in llama.cpp's graph: kept in f32.
F32_TENSORS = ("position_embd", "token_types")
SKIPPED = ("embeddings.position_ids", "pooler.")
# The special tokens a GGUF names (gguf's SpecialVocab would also look for `cls`, which a
# GGUF has no key for: BERT's [CLS] is written as its beginning-of-sequence token).
SPECIAL_TOKENS = ("bos", "eos", "unk", "sep", "pad", "mask")


@dataclass(frozen=True)
class BertShape:
    """The numbers of config.json the GGUF header carries."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    layers: int
    heads: int
    context_length: int
    token_types: int
    layer_norm_eps: float


def convert_sentence_transformer(archive: Path, out: Path, *, name: str) -> None:
    """Write the model in the zip `archive` to `out` as an f16 GGUF called `name`."""
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".convert-") as folder:
        model_dir = Path(folder)
        _unpack(archive, model_dir)
        convert_model_folder(model_dir, out, name=name)


def convert_model_folder(model_dir: Path, out: Path, *, name: str) -> None:
    """The same, from the model's unpacked files in `model_dir`."""
    shape = _shape(_json(model_dir, CONFIG))
    pooling = _pooling(_json(model_dir, POOLING))
    tokens, control = _vocabulary(_json(model_dir, TOKENIZER), shape.vocab_size)
    weights = _weights(model_dir / WEIGHTS)

    writer = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_name(name)
    writer.add_context_length(shape.context_length)
    writer.add_embedding_length(shape.hidden_size)
    writer.add_feed_forward_length(shape.intermediate_size)
    writer.add_block_count(shape.layers)
    writer.add_head_count(shape.heads)
    writer.add_layer_norm_eps(shape.layer_norm_eps)
    writer.add_causal_attention(False)
    writer.add_pooling_type(pooling)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_token_type_count(shape.token_types)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([_phantom(token) for token in tokens])
    writer.add_token_types(
        [
            gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL
            for i in range(len(tokens))
        ]
    )
    gguf.SpecialVocab(
        model_dir, special_token_types=SPECIAL_TOKENS, n_vocab=len(tokens)
    ).add_to_gguf(writer)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, shape.layers)
    for tensor, data in _gguf_tensors(weights, names, shape):
        writer.add_tensor(tensor, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _unpack(archive: Path, model_dir: Path) -> None:
    """The members the converter reads, unpacked into `model_dir` (names fixed here, so no
    member's name becomes a path)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            present = set(zipped.namelist())
            missing = [m for m in MEMBERS if m not in present]
            if missing:
                raise InvalidModelFile(
                    f"{archive.name} is not a sentence-transformers model: it lacks "
                    f"{', '.join(missing)}."
                )
            wanted = [*MEMBERS, *(m for m in OPTIONAL_MEMBERS if m in present)]
            if sum(zipped.getinfo(m).file_size for m in wanted) > MAX_UNPACKED_BYTES:
                raise InvalidModelFile(f"{archive.name} unpacks to more than a small model does.")
            for member in wanted:
                target = model_dir / member
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as src, target.open("wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InvalidModelFile(f"{archive.name} is a damaged zip archive ({exc}).") from exc


def _json(model_dir: Path, member: str) -> dict[str, Any]:
    try:
        value = json.loads((model_dir / member).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidModelFile(f"The model's {member} cannot be read: {exc}.") from exc
    if not isinstance(value, dict):
        raise InvalidModelFile(f"The model's {member} does not hold a JSON object.")
    return value


def _shape(config: dict[str, Any]) -> BertShape:
    if config.get("architectures") != ["BertModel"]:
        raise InvalidModelFile(
            f"The model is a {config.get('architectures')!r}, not a BertModel: Lantern converts "
            "BERT models only."
        )

    def number(key: str, kind: type = int) -> Any:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InvalidModelFile(f"The model's config.json lacks a positive '{key}'.")
        if kind is int and not isinstance(value, int):
            raise InvalidModelFile(f"The model's config.json gives '{key}' as {value!r}.")
        return kind(value)

    shape = BertShape(
        vocab_size=number("vocab_size"),
        hidden_size=number("hidden_size"),
        intermediate_size=number("intermediate_size"),
        layers=number("num_hidden_layers"),
        heads=number("num_attention_heads"),
        context_length=number("max_position_embeddings"),
        token_types=number("type_vocab_size"),
        layer_norm_eps=number("layer_norm_eps", float),
    )
    if shape.hidden_size % shape.heads:
        raise InvalidModelFile("The model's hidden size is not a multiple of its head count.")
    return shape


def _pooling(config: dict[str, Any]) -> gguf.PoolingType:
    chosen = [kind for key, kind in POOLINGS.items() if config.get(key) is True]
    others = [k for k, v in config.items() if k.startswith("pooling_mode") and v is True]
    if len(chosen) != 1 or len(others) != 1:
        raise InvalidModelFile(
            f"The model pools with {others or 'nothing'}; Lantern converts models that pool by "
            "the mean or the first token only."
        )
    return chosen[0]


def _vocabulary(tokenizer: dict[str, Any], vocab_size: int) -> tuple[list[str], set[int]]:
    """The tokens by id, and the ids of the special (control) ones."""
    model = tokenizer.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if (
        not isinstance(model, dict)
        or model.get("type") != "WordPiece"
        or not isinstance(vocab, dict)
    ):
        raise InvalidModelFile("The model's tokenizer.json is not a WordPiece vocabulary.")
    by_id = {i: t for t, i in vocab.items() if isinstance(i, int) and not isinstance(i, bool)}
    if len(by_id) != len(vocab) or sorted(by_id) != list(range(vocab_size)):
        raise InvalidModelFile(
            f"The model's vocabulary does not number its {vocab_size:,} tokens 0 to "
            f"{vocab_size - 1:,}."
        )
    added = tokenizer.get("added_tokens") or []
    control = {
        t["id"] for t in added if isinstance(t, dict) and t.get("special") is True and "id" in t
    }
    return [by_id[i] for i in range(vocab_size)], control


def _phantom(token: str) -> str:
    """llama.cpp's WordPiece vocabulary: a word start carries U+2581, a continuation loses ##."""
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def _weights(path: Path) -> dict[str, npt.NDArray[Any]]:
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidModelFile(f"The model's weights ({path.name}) are damaged: {exc}.") from exc


def _gguf_tensors(
    weights: dict[str, npt.NDArray[Any]], names: gguf.TensorNameMap, shape: BertShape
) -> list[tuple[str, npt.NDArray[Any]]]:
    """Each weight under llama.cpp's name, in the type llama.cpp's BERT graph takes it."""
    embeddings = weights.get("embeddings.word_embeddings.weight")
    if embeddings is None or embeddings.shape != (shape.vocab_size, shape.hidden_size):
        raise InvalidModelFile(
            "The model's word embeddings are missing or do not match its vocabulary and width."
        )
    tensors = []
    for name, array in weights.items():
        if name.startswith(SKIPPED):
            continue
        new_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise InvalidModelFile(f"The model has a weight llama.cpp's BERT lacks: {name}.")
        if not np.issubdtype(array.dtype, np.floating):
            raise InvalidModelFile(f"The model's weight {name} is not floating point.")
        data = array.astype(np.float32)
        if data.ndim == 2 and not new_name.startswith(F32_TENSORS):
            data = data.astype(np.float16)
        tensors.append((new_name, data))
    return tensors
