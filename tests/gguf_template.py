"""A copy of a GGUF model with another chat template, written by the `gguf` package's own
gguf-new-metadata: how the tests give the real starter model a template of their choosing."""

from __future__ import annotations

from pathlib import Path

from gguf import GGUFReader, GGUFValueType, GGUFWriter
from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

RESOURCES = Path(__file__).parent / "resources"


def with_chat_template(source: Path, target: Path, template: str) -> Path:
    """A copy of the GGUF `source` at `target` with `template` as tokenizer.chat_template."""
    reader = GGUFReader(source)
    writer = GGUFWriter(target, reader.fields["general.architecture"].contents())
    template_key = MetadataDetails(GGUFValueType.STRING, template)
    copy_with_new_metadata(reader, writer, {"tokenizer.chat_template": template_key}, [])
    return target


def qwen2_5_template() -> str:
    """Qwen2.5-Instruct's real chat template, which takes tools (its source is in the file)."""
    return (RESOURCES / "qwen2_5_instruct_chat_template.jinja").read_text(encoding="utf-8")
