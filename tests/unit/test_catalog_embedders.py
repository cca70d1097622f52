"""The catalog's embedding models: real GGUF embedders on the Hub, each with the prefixes it
was trained to expect, checked when the catalog is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.errors import InvalidCatalog
from desktop.models.catalog import load_catalog
from desktop.paths import catalog_file


def test_the_shipped_catalog_offers_embedders_with_their_prefixes() -> None:
    entries = load_catalog(catalog_file())
    embedders = {e.id: e for e in entries if e.kind == "embedding"}
    assert set(embedders) == {
        "all-minilm-l6-v2",
        "bge-small-en-v1.5",
        "multilingual-e5-small",
        "nomic-embed-text-v1.5",
        "embeddinggemma-300m",
    }
    prefixes = {i: (e.query_prefix, e.document_prefix) for i, e in embedders.items()}
    assert prefixes["nomic-embed-text-v1.5"] == ("search_query: ", "search_document: ")
    assert prefixes["multilingual-e5-small"] == ("query: ", "passage: ")
    assert prefixes["all-minilm-l6-v2"] == ("", "")
    assert all(e.good_for == ("documents",) for e in embedders.values())
    assert any(len(e.languages) > 10 for e in embedders.values())  # a multilingual one
    chat = [e for e in entries if e.kind == "chat"]
    assert chat and all("documents" not in e.good_for and not e.query_prefix for e in chat)


EMBEDDER = {
    "id": "bge-test",
    "name": "BGE test",
    "family": "BGE",
    "repo": "CompendiumLabs/bge-small-en-v1.5-gguf",
    "quant": "Q8_0",
    "quants": ["Q8_0"],
    "parameters_b": 0.033,
    "context_length": 512,
    "license": "mit",
    "languages": ["en"],
    "good_for": ["documents"],
    "description": "A test entry.",
    "kind": "embedding",
    "query_prefix": "Represent this sentence for searching relevant passages: ",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "reranker"}, "entry 'bge-test': 'kind' may only be chat or embedding"),
        ({"good_for": ["chat"]}, "entry 'bge-test': an embedding model is good for 'documents'"),
        ({"kind": "chat"}, "entry 'bge-test': an embedding model is good for 'documents'"),
        ({"document_prefix": 3}, "entry 'bge-test': 'document_prefix' is text"),
    ],
)
def test_a_bad_embedding_entry_is_named(tmp_path: Path, change: dict, message: str) -> None:
    good = json.loads(catalog_file().read_text())["models"][0]
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"version": 1, "models": [good, {**EMBEDDER, **change}]}))
    with pytest.raises(InvalidCatalog, match=message):
        load_catalog(path)


def test_a_chat_entry_takes_no_prefix(tmp_path: Path) -> None:
    good = json.loads(catalog_file().read_text())["models"][0]
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"version": 1, "models": [{**good, "query_prefix": "q: "}]}))
    with pytest.raises(InvalidCatalog, match="'query_prefix' is text, for embedding models only"):
        load_catalog(path)
    entry = load_catalog(catalog_file())[0]  # an entry that names no kind is a chat model
    assert "kind" not in good and (entry.kind, entry.query_prefix) == ("chat", "")
