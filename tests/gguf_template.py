"""A copy of a GGUF model with another chat template, written by the `gguf` package's own
gguf-new-metadata: how the tests give the real starter model a template of their choosing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gguf import GGUFReader, GGUFValueType, GGUFWriter
from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

from desktop.engine.protocol import ToolCallForm

RESOURCES = Path(__file__).parent / "resources"


def with_chat_template(
    source: Path, target: Path, template: str, *, renamed_tokens: Mapping[int, str] = {}
) -> Path:
    """A copy of the GGUF `source` at `target` with `template` as tokenizer.chat_template,
    and the tokens of its vocabulary in `renamed_tokens` (by id) written as given there."""
    reader = GGUFReader(source)
    writer = GGUFWriter(target, reader.fields["general.architecture"].contents())
    keys = {"tokenizer.chat_template": MetadataDetails(GGUFValueType.STRING, template)}
    if renamed_tokens:
        field = reader.fields["tokenizer.ggml.tokens"]
        tokens = [bytes(field.parts[part]).decode() for part in field.data]
        for token_id, text in renamed_tokens.items():
            tokens[token_id] = text
        keys["tokenizer.ggml.tokens"] = MetadataDetails(
            GGUFValueType.ARRAY, tokens, sub_type=GGUFValueType.STRING
        )
    copy_with_new_metadata(reader, writer, keys, [])
    return target


def real_template(model: str) -> str:
    """A model's real chat template, kept in tests/resources as `<model>_chat_template.jinja`
    (where it comes from is in the file)."""
    return (RESOURCES / f"{model}_chat_template.jinja").read_text(encoding="utf-8")


def qwen2_5_template() -> str:
    """Qwen2.5-Instruct's real chat template, which takes tools and teaches Hermes' form."""
    return real_template("qwen2_5_instruct")


# For each form of tool call but Hermes', a real template that teaches it.
FORM_TEMPLATES: dict[ToolCallForm, str] = {
    "llama3": "llama3_1_instruct",
    "mistral": "mistral_nemo_instruct",
    "mistral_args": "mistral_small_3_2_instruct",
}
