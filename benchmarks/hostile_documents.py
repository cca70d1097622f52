"""How long reading (or refusing) a hostile document takes, and the most memory it needs:
each case is built, then read by `read_document` in a fresh process, which reports its wall
time and its peak resident memory (the building is not counted in either).

Budget (issue 16): any document is read or refused in seconds and under 1 GB.

    .venv/bin/python benchmarks/hostile_documents.py [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sample_documents import (
    docx_inflating_to,
    html_nested_divs,
    html_paragraphs,
    pdf_with_stream_inflating_to,
)

MB = 1024 * 1024
CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "html-40000-paragraphs": ("log.html", lambda: html_paragraphs(40_000).encode()),
    "html-100000-nested-divs": ("deep.html", lambda: html_nested_divs(100_000).encode()),
    "docx-bomb-400MB": ("bomb.docx", lambda: docx_inflating_to(400 * MB)),
    # Just inside the zip limits: 31 MB of XML, the most python-docx is given to parse.
    "docx-31MB-of-xml": ("big.docx", lambda: docx_inflating_to(31 * MB)),
    # Read whole: 46,260 paragraphs, 1.8 million characters, both just under their limits.
    "docx-46260-paragraphs": ("long.docx", lambda: docx_inflating_to(3 * MB)),
    "pdf-stream-100MB": ("bomb.pdf", lambda: pdf_with_stream_inflating_to(100 * MB)),
}


def read_one(name: str, path: Path) -> dict[str, object]:
    from desktop.tasks.documents import UnreadableDocument, read_document

    data = path.read_bytes()
    start = time.perf_counter()
    try:
        outcome = f"read, {len(read_document(data, name).text):,} characters"
    except UnreadableDocument as refused:
        outcome = f"refused: {refused.message}"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    return {"seconds": round(seconds, 2), "peak_mb": peak, "outcome": outcome}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument("--read", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(json.dumps(read_one(args.read[0], Path(args.read[1]))))
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for case, (name, build) in CASES.items():
            if args.case and case != args.case:
                continue
            path = Path(folder) / name
            path.write_bytes(build())
            child = subprocess.run(
                [sys.executable, __file__, "--read", name, str(path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            result = json.loads(child.stdout)
            print(f"{case:26} {path.stat().st_size / MB:7.2f} MB on disk  "
                  f"{result['seconds']:6.2f} s  peak {result['peak_mb']:5} MB  "
                  f"{result['outcome'][:90]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
