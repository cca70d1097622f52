"""Download throughput: Lantern's whole download path against huggingface_hub's own.

Serves one GGUF from the tests' local Hub (127.0.0.1, the same redirect-to-CDN dance as the
real Hub, in a process of its own) and fetches it, alternately, with
  a) Lantern's DownloadQueue.run: ranged resumable transfer, sha256 while receiving,
     atomic install into the models folder and the header check;
  b) huggingface_hub.hf_hub_download into an empty cache (the baseline);
each run into fresh folders. Prints the median MB/s of each and the ratio a/b.

    .venv/bin/python benchmarks/download_throughput.py MODEL.gguf [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from hub_server import LocalHub

REPO = "bench/Model-GGUF"


def lantern_download(file_name: str) -> float:
    from desktop.services.app import Lantern

    with tempfile.TemporaryDirectory() as home:
        os.environ["LANTERN_HOME"] = home
        app = Lantern()
        try:
            app.downloads.list()  # the database is open before any download in the app
            start = time.perf_counter()
            record = app.downloads.add(REPO, file=file_name)  # lists the repo, as hf does a HEAD
            model = app.downloads.run(record.id)
            elapsed = time.perf_counter() - start
            assert model is not None
        finally:
            app.close()
    return elapsed


def hub_download(file_name: str, endpoint: str) -> float:
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        hf_hub_download(REPO, file_name, cache_dir=cache, endpoint=endpoint)
        return time.perf_counter() - start


def serve(model: Path, endpoints: multiprocessing.Queue[str], stop: Any) -> None:
    """The Hub in a process of its own, as a real one is on another machine: it does not
    share the downloader's interpreter lock."""
    hub = LocalHub().start()
    hub.add_repo(REPO, {model.name: model})
    endpoints.put(hub.endpoint)
    stop.wait()
    hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    endpoints: multiprocessing.Queue[str] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.model, endpoints, stop), daemon=True)
    server.start()
    endpoint = endpoints.get(timeout=60)
    os.environ["HF_ENDPOINT"] = endpoint
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    size_mb = args.model.stat().st_size / 1e6
    lantern_download(args.model.name)  # warm-up: imports, page cache
    times: dict[str, list[float]] = {"lantern": [], "huggingface_hub": []}
    for _ in range(args.runs):
        times["lantern"].append(lantern_download(args.model.name))
        times["huggingface_hub"].append(hub_download(args.model.name, endpoint))
    stop.set()
    server.join()

    speed = {name: size_mb / statistics.median(runs) for name, runs in times.items()}
    result = {
        "file_mb": round(size_mb, 1),
        "runs": args.runs,
        "lantern_mb_per_s": round(speed["lantern"], 1),
        "huggingface_hub_mb_per_s": round(speed["huggingface_hub"], 1),
        "ratio": round(speed["lantern"] / speed["huggingface_hub"], 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['file_mb']} MB, median of {args.runs}: Lantern {result['lantern_mb_per_s']} "
            f"MB/s, hf_hub_download {result['huggingface_hub_mb_per_s']} MB/s, "
            f"ratio {result['ratio']}"
        )


if __name__ == "__main__":
    main()
