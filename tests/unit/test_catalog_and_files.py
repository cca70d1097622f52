"""The curated catalog is checked when read, and a repository's files are grouped as a user
chooses among them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.errors import InvalidCatalog
from desktop.models.catalog import load_catalog
from desktop.models.repo_files import RepoFile, group_model_files, pick_quant, quant_from_name
from desktop.paths import catalog_file


def test_the_shipped_catalog_is_valid_and_broad() -> None:
    entries = load_catalog(catalog_file())
    assert len(entries) >= 15
    assert len({e.family for e in entries}) >= 6
    sizes = [e.parameters_b for e in entries]
    assert min(sizes) <= 0.2 and 7 <= max(sizes) <= 15
    (starter,) = [e for e in entries if e.starter]
    assert starter.id == "smollm2-135m-instruct"
    assert any("translate" in e.good_for for e in entries)
    assert all(e.quant in e.quants for e in entries)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quant": "Q9_9"}, "entry 'qwen-test': the recommended quant Q9_9 is not in 'quants'"),
        ({"repo": "not a repo"}, "entry 'qwen-test': 'not a repo' is not a Hub repository"),
        ({"context_length": "long"}, "entry 'qwen-test': 'context_length' is missing or of the"),
        ({"good_for": ["dancing"]}, "entry 'qwen-test': 'good_for' may only hold"),
        ({"sizes": [1]}, "entry 'qwen-test': unknown fields ['sizes']"),
    ],
)
def test_a_bad_entry_is_named_in_the_error(tmp_path: Path, change: dict, message: str) -> None:
    entry = {
        "id": "qwen-test",
        "name": "Qwen test",
        "family": "Qwen2.5",
        "repo": "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        "quant": "Q4_K_M",
        "quants": ["Q4_K_M", "Q8_0"],
        "parameters_b": 0.5,
        "context_length": 32768,
        "license": "apache-2.0",
        "languages": ["en", "zh"],
        "good_for": ["chat"],
        "description": "A test entry.",
    }
    good = json.loads(catalog_file().read_text())["models"][0]
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"version": 1, "models": [good, {**entry, **change}]}))
    with pytest.raises(InvalidCatalog, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_catalog(path)


def test_a_catalog_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text("{ models: [")
    with pytest.raises(InvalidCatalog, match="is not valid JSON"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-7b-instruct-q5_k_m-00001-of-00002.gguf", "Q5_K_M"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
        ("google_gemma-3-4b-it-IQ4_XS.gguf", "IQ4_XS"),
        ("phi-4-BF16.gguf", "BF16"),
        ("gemma-3-12b-it-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("Q8_0/Llama-3.3-70B-Q8_0-00001-of-00002.gguf", "Q8_0"),
        ("model.gguf", "unknown"),
    ],
)
def test_quantization_is_read_from_the_file_name(name: str, quant: str) -> None:
    assert quant_from_name(name) == quant


def test_split_files_are_one_model_and_projectors_are_left_out() -> None:
    files = [
        RepoFile("Qwen-Q8_0-00002-of-00002.gguf", 300, "b"),
        RepoFile("Qwen-Q8_0-00001-of-00002.gguf", 500, "a"),
        RepoFile("Qwen-Q4_K_M.gguf", 450, "c"),
        RepoFile("Qwen-Q6_K-00001-of-00002.gguf", 400, "d"),  # its second part is missing
        RepoFile("mmproj-Qwen-f16.gguf", 100, "e"),
        RepoFile("README.md", 10, None),
    ]
    models = group_model_files(files)
    assert [(m.name, m.quant, m.size) for m in models] == [
        ("Qwen-Q4_K_M.gguf", "Q4_K_M", 450),
        ("Qwen-Q8_0.gguf", "Q8_0", 800),
    ]
    split = pick_quant(models, "q8_0")
    assert split is not None and split.is_split
    assert [p.path for p in split.parts] == [
        "Qwen-Q8_0-00001-of-00002.gguf",
        "Qwen-Q8_0-00002-of-00002.gguf",
    ]
    assert pick_quant(models, "Q2_K") is None


@given(st.integers(min_value=1, max_value=9), st.permutations(range(9)))
def test_a_complete_split_is_grouped_in_order_whatever_the_listing_order(
    count: int, order: list[int]
) -> None:
    parts = [
        RepoFile(f"m-Q4_0-{i:05d}-of-{count:05d}.gguf", i, str(i)) for i in range(1, count + 1)
    ]
    shuffled = [parts[i] for i in order if i < count]
    (model,) = group_model_files(shuffled)
    assert model.parts == tuple(parts)
