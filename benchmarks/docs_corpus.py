"""The documents benchmarks' corpus (issue 19): the Python language reference topics that
ship with Python itself (`pydoc_data.topics`, what `help("for")` shows: 79 topics, about
465,000 characters of real technical prose), one Markdown file per topic.

Each file is `<topic>.md` and opens with the topic's title as a `# Title` heading; the
reference's own underlined section titles become Markdown headings (`*` level 1, `=` 2,
`-` 3, `~` 4), so the library sees a heading path as it would in a user's notes. The body
is the topic's text unchanged, so the same files come out on every run of one Python.

    .venv/bin/python benchmarks/docs_corpus.py FOLDER
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydoc_data.topics import topics

UNDERLINES = {"*": "#", "=": "##", "-": "###", "~": "####"}


def topic_names() -> list[str]:
    """The topics, sorted: also the files' names without `.md`."""
    return sorted(topics)


def topic_markdown(name: str) -> str:
    """One topic as Markdown: its underlined titles as `#` headings, the rest as it is."""
    lines = topics[name].strip("\n").split("\n")
    out: list[str] = []
    for line in lines:
        title = out[-1] if out else ""
        if _underlines(line, title):
            out[-1] = f"{UNDERLINES[line[0]]} {title}"
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def write_corpus(folder: Path) -> list[Path]:
    """Write every topic into `folder` (made if missing); the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in topic_names():
        path = folder / f"{name}.md"
        path.write_text(topic_markdown(name), encoding="utf-8")
        written.append(path)
    return written


def _underlines(line: str, title: str) -> bool:
    """Whether `line` is a reST title underline of `title` (one character repeated, as long
    as the title; a table border has spaces or `+` in it)."""
    return (
        bool(line)
        and line[0] in UNDERLINES
        and line == line[0] * len(line)
        and len(line) == len(title)
        and not title[0].isspace()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to write the Markdown files")
    args = parser.parse_args()
    written = write_corpus(args.folder)
    size = sum(path.stat().st_size for path in written)
    print(f"{len(written)} topics, {size:,} bytes in {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
