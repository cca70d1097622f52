"""`lantern models search / info / fit` against the local test Hub, through subprocesses."""

from __future__ import annotations

from conftest import CATALOG_STARTER_REPO, GATED_REPO, SPLIT_REPO, STARTER_REPO
from hub_server import LocalHub
from test_cli import lantern, lantern_json


def test_search_finds_gguf_repos_most_downloaded_first(test_hub: LocalHub) -> None:
    found = lantern_json("models", "search", "smollm2")
    assert [m["repo"] for m in found] == [STARTER_REPO, GATED_REPO, CATALOG_STARTER_REPO]
    assert found[0]["architecture"] == "llama" and found[0]["context_length"] == 8192
    assert found[1]["gated"] is True
    by_likes = lantern_json("models", "search", "gguf", "--sort", "likes")
    assert by_likes[0]["repo"] == SPLIT_REPO
    assert (
        "No GGUF models on the Hub match" in lantern("models", "search", "nothing-like-it").stdout
    )


def test_info_lists_files_with_quant_size_and_fit_from_the_header_alone(
    test_hub: LocalHub, starter_model_path
) -> None:
    info = lantern_json("models", "info", STARTER_REPO, "--ctx", "2048")
    (file,) = info["files"]
    assert file["quant"] == "Q4_1"
    assert file["size_bytes"] == starter_model_path.stat().st_size
    fit = file["fit"]
    assert fit["verdict"] == "cpu" and fit["context_length"] == 2048
    # llama.cpp allocates 92.10 MiB of weights, 45.00 MiB of KV cache at 2,048 tokens and
    # 99.38 + 0.19 MiB of compute and output buffers for this model (its own log says so).
    assert abs(fit["total_bytes"] / 1024**2 - 236.67) < 0.05 * 236.67
    # The header came from ranged reads of the file's start, not the whole file.
    transfers = test_hub.file_requests("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert transfers and all(r.range and r.range.startswith("bytes=0-") for r in transfers)
    assert sum(r.bytes_sent for r in transfers) < file["size_bytes"] // 10
    assert all(r.host.startswith("localhost") for r in transfers), "served by the 'CDN' host"


def test_split_files_are_listed_as_one_model(test_hub: LocalHub) -> None:
    info = lantern_json("models", "info", SPLIT_REPO, "--no-fit")
    (file,) = info["files"]
    assert file["name"] == "SmolLM2-Q4_1.gguf" and file["quant"] == "Q4_1"
    assert [p["path"] for p in file["parts"]] == [
        "SmolLM2-Q4_1-00001-of-00002.gguf",
        "SmolLM2-Q4_1-00002-of-00002.gguf",
    ]
    text = lantern("models", "info", SPLIT_REPO, "--no-fit").stdout
    assert "in 2 parts" in text


def test_hub_errors_are_one_clear_line(test_hub: LocalHub) -> None:
    missing = lantern("models", "info", "nobody/nothing-GGUF", check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: The Hub has no model repository called")
    gated = lantern("models", "info", GATED_REPO, check=False)
    assert gated.returncode == 1
    assert "gated model" in gated.stderr and "huggingface.co/settings/tokens" in gated.stderr


def test_fit_of_an_installed_model_and_a_context_too_long_for_memory(installed_starter) -> None:
    ok = lantern_json("models", "fit", installed_starter.id, "--ctx", "2048")
    assert ok["verdict"] in ("cpu", "gpu", "partial")
    assert ok["weights_bytes"] + ok["kv_cache_bytes"] + ok["compute_bytes"] == ok["total_bytes"]
    huge = lantern("models", "fit", installed_starter.id, "--ctx", "1000000", check=False)
    assert huge.returncode == 2
    assert huge.stdout.startswith("Does not fit") and "a context of" in huge.stdout
