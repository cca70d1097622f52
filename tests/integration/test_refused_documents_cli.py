"""`lantern summarize` and `lantern translate` given a hostile or broken document: the
message that says what is wrong and what to do, exit status 1, no traceback, nothing stored
(issue 16, point 3). No model is needed: the document is refused before Lantern opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sample_documents import docx_inflating_to, pdf_with_stream_inflating_to
from test_cli import lantern

from desktop.paths import app_paths

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("command", "name", "content", "message"),
    [
        (
            ["summarize"],
            "report.docx",
            lambda: docx_inflating_to(100 * MB),
            "report.docx unpacks to 100 MB (100 MB of it text and layout); Lantern opens Word "
            "documents that unpack to at most 200 MB (32 MB of text and layout).",
        ),
        (
            ["translate", "--to", "fr"],
            "scan.pdf",
            lambda: pdf_with_stream_inflating_to(80 * MB),
            "scan.pdf has a part that unpacks to more than 72 MB, the most Lantern unpacks.",
        ),
        (
            ["summarize"],
            "minutes.docx",
            lambda: docx_inflating_to(MB)[:-200],  # the zip's directory cut off
            "minutes.docx is not a Word document Lantern can read: it may be damaged.",
        ),
    ],
    ids=["word-zip-bomb", "pdf-stream-bomb", "broken-word-file"],
)
def test_a_refused_document_prints_its_message_and_exits_1(
    tmp_path: Path,
    command: list[str],
    name: str,
    content: Callable[[], bytes],
    message: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content())
    result = lantern(command[0], str(path), *command[1:], check=False)  # asserts no traceback
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {message}")
    assert result.stdout == ""
    assert not app_paths().database.exists()  # refused before any session was stored
