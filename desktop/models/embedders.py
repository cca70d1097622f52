"""Embedding models: which installed models make vectors for documents rather than chat, which
one documents use, and the prefixes it wants before a query and before a passage.

An embedding model is told apart by its architecture: llama.cpp's encoder-only ones (BERT and
its kin, EmbeddingGemma) pool a text into one vector and cannot write a reply, so they are never
offered for chat. Prefixes come from the catalog entry the model was downloaded from (or whose
id its file name starts with); a model no entry knows gets none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from desktop.errors import EmbedderMissing
from desktop.models.catalog import CatalogEntry
from desktop.models.installed import InstalledModel

# llama.cpp's architectures (gguf's MODEL_ARCH_NAMES) that only embed.
EMBEDDING_ARCHITECTURES = frozenset(
    {
        "bert",
        "nomic-bert",
        "nomic-bert-moe",
        "jina-bert-v2",
        "jina-bert-v3",
        "modern-bert",
        "neo-bert",
        "eurobert",
        "t5encoder",
        "gemma-embedding",
        "llama-embed",
    }
)
# The offline default, converted from its PyPI wheel (embedder_install.py): its model id.
OFFLINE_EMBEDDER_ID = "all-MiniLM-L6-v2.F16"


@dataclass(frozen=True)
class Embedder:
    model: InstalledModel
    key: str  # what vectors are tagged with: the installed model's id
    query_prefix: str
    document_prefix: str


def is_embedding_model(model: InstalledModel) -> bool:
    return model.info.architecture in EMBEDDING_ARCHITECTURES


def choose_embedder(
    installed: Sequence[InstalledModel], chosen_id: str, catalog: Sequence[CatalogEntry]
) -> Embedder:
    """The embedder `chosen_id` names (the settings' `embedding_model`); for "": the offline
    default if installed, else the first installed embedding model. EmbedderMissing if none."""
    embedders = [m for m in installed if is_embedding_model(m)]
    if chosen_id:
        model = next((m for m in embedders if m.id == chosen_id), None)
        if model is None:
            raise EmbedderMissing(
                f"The embedding model chosen for documents, '{chosen_id}', is not installed."
            )
    else:
        default = next((m for m in embedders if m.id == OFFLINE_EMBEDDER_ID), None)
        model = default or next(iter(embedders), None)
        if model is None:
            raise EmbedderMissing("Documents need an embedding model, and none is installed.")
    entry = catalog_entry_of(model, catalog)
    return Embedder(
        model=model,
        key=model.id,
        query_prefix=entry.query_prefix if entry else "",
        document_prefix=entry.document_prefix if entry else "",
    )


def catalog_entry_of(model: InstalledModel, catalog: Sequence[CatalogEntry]) -> CatalogEntry | None:
    """The embedding entry `model` was downloaded from (its folder is the entry's repository),
    else the one whose id its file name starts with (`nomic-embed-text-v1.5.Q8_0.gguf`)."""
    entries = [e for e in catalog if e.kind == "embedding"]
    from_repo = next((e for e in entries if model.id.startswith(f"{e.repo}/")), None)
    file_name = model.path.name.lower()
    return from_repo or next((e for e in entries if file_name.startswith(e.id)), None)
