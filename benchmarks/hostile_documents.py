"""How long reading (or refusing) a hostile document takes, and the most memory it needs:
each case is built, then read by `read_document` in a fresh process, which reports its wall
time and its peak resident memory (the building is not counted in either).

Budget (issue 16): any document is read or refused in seconds and under 1 GB. A case
still reading after --limit seconds (120 unless told) is stopped and reported as such.

    .venv/bin/python benchmarks/hostile_documents.py [--case NAME ...] [--limit SECONDS]
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
    docx_table_merged_down,
    html_empty_paragraphs,
    html_nested_divs,
    html_paragraphs,
    pdf_drawing_a_form,
    pdf_pages_sharing_content,
    pdf_with_stream_inflating_to,
    zip_listing,
)

MB = 1024 * 1024
CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "html-40000-paragraphs": ("log.html", lambda: html_paragraphs(40_000).encode()),
    "html-100000-nested-divs": ("deep.html", lambda: html_nested_divs(100_000).encode()),
    # Markup with one sentence of text: read, however many empty blocks come before it.
    "html-1M-empty-paragraphs": ("blank.html", lambda: html_empty_paragraphs(10**6).encode()),
    "docx-bomb-400MB": ("bomb.docx", lambda: docx_inflating_to(400 * MB)),
    # Just inside the zip limits: 31 MB of XML, the most python-docx is given to parse.
    "docx-31MB-of-xml": ("big.docx", lambda: docx_inflating_to(31 * MB)),
    # Read whole: 46,260 paragraphs, 1.8 million characters, both just under their limits.
    "docx-46260-paragraphs": ("long.docx", lambda: docx_inflating_to(3 * MB)),
    # A table whose cells are merged down (python-docx followed each merge up, row by row).
    "docx-table-300x30-merged": ("merged.docx", lambda: docx_table_merged_down(300, 30)),
    "docx-table-1000x50-merged": ("merged.docx", lambda: docx_table_merged_down(1000, 50)),
    # The main document kept under a name that is not .xml: its content type says XML.
    "docx-41MB-of-xml-in-d.bin": ("named.docx", lambda: docx_inflating_to(41 * MB, "word/d.bin")),
    # A zip that lists 2 million entries (a ZipInfo each, were its directory read).
    "docx-zip-of-2M-entries": ("listing.docx", lambda: zip_listing(2_000_000)),
    "pdf-stream-100MB": ("bomb.pdf", lambda: pdf_with_stream_inflating_to(100 * MB)),
    # One content stream (1 MB of text operators showing nothing) shown by 1,000 pages.
    "pdf-1MB-content-on-1000-pages": ("shared.pdf", lambda: pdf_pages_sharing_content(1000, MB)),
    # One page drawing a form of 1 MB of such operators 1,000 times.
    "pdf-1MB-form-drawn-1000-times": ("form.pdf", lambda: pdf_drawing_a_form(1000, MB)),
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
    return {"seconds": round(seconds, 2), "peak_mb": peak_megabytes(), "outcome": outcome}


def peak_megabytes() -> int:
    """The most memory this process has held: Linux's VmHWM, which starts again with the
    program (ru_maxrss keeps the peak of the parent it was forked from: the builder's)."""
    status = Path("/proc/self/status")
    for line in status.read_text().splitlines() if status.exists() else []:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds a case may take")
    parser.add_argument("--read", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(json.dumps(read_one(args.read[0], Path(args.read[1]))))
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for case, (name, build) in CASES.items():
            if args.case and case not in args.case:
                continue
            path = Path(folder) / name
            path.write_bytes(build())
            try:
                child = subprocess.run(
                    [sys.executable, __file__, "--read", name, str(path)],
                    capture_output=True, text=True, check=True, timeout=args.limit,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                print(f"{case:30} {path.stat().st_size / MB:7.2f} MB on disk  "
                      f"stopped after {args.limit:.0f} s, still reading")  # fmt: skip
                continue
            result = json.loads(child.stdout)
            print(f"{case:30} {path.stat().st_size / MB:7.2f} MB on disk  "
                  f"{result['seconds']:6.2f} s  peak {result['peak_mb']:5} MB  "
                  f"{result['outcome'][:90]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
