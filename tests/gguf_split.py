"""Split a GGUF model into parts the way llama.cpp's `gguf-split` does (`x-00001-of-0000N.gguf`,
each part a GGUF with its share of the tensors and the `split.*` keys), with the `gguf`
package's own writer: a real split model for the tests, made from the starter model."""

from __future__ import annotations

from pathlib import Path

from gguf import GGUFReader, GGUFValueType, GGUFWriter


def split_gguf(source: Path, target: Path, parts: int) -> list[Path]:
    """Write `source` as `parts` files named after `target` (`name.gguf` gives
    `name-00001-of-0000N.gguf`...); the part paths, in order."""
    reader = GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    per_part = -(-len(reader.tensors) // parts)
    writer = GGUFWriter(target, arch, split_max_tensors=per_part)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue  # the writer adds these itself
        kind = field.types[0]
        item_kind = field.types[-1] if kind == GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=item_kind)
    for tensor in reader.tensors:
        writer.add_tensor(
            tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    stem = target.name.removesuffix(".gguf")
    return [target.with_name(f"{stem}-{i:05d}-of-{parts:05d}.gguf") for i in range(1, parts + 1)]
