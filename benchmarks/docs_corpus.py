"""The documents benchmarks' corpus (issue 19): the Python language reference topics that
ship with Python itself (`pydoc_data.topics`, what `help("for")` shows: 79 topics, about
465,000 characters of real technical prose), one Markdown file per topic.

Each file is `<topic>.md` and opens with the topic's title as a `# Title` heading; the
reference's own underlined section titles become Markdown headings (`*` level 1, `=` 2,
`-` 3, `~` 4), so the library sees a heading path as it would in a user's notes. The body
is the topic's text unchanged, so the same files come out on every run of one Python.

Two question sets ask about these files, each question naming its topic and an answer, a
short piece of that topic's text. `docs_questions.json` asks as a user of the reference
would: in their own words, with the technical name of the thing where a user knows it
(`global`, `__index__`), never copying the text (no run of `COPY_RUN` words in a row from
the topic). `docs_questions_adversarial.json` disguises its questions: the key terms
avoided, hardly a word of the answer's sentence in them. A passage answers a question when
it holds the answer (whitespace aside) and comes from a file that holds it (most answers
are in one file only; a few are in two, where one topic repeats another, as "function"
repeats part of "compound").

    .venv/bin/python benchmarks/docs_corpus.py FOLDER             (write the corpus)
    .venv/bin/python benchmarks/docs_corpus.py --questions [FILE] (a set's word overlap)
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from pydoc_data.topics import topics

UNDERLINES = {"*": "#", "=": "##", "-": "###", "~": "####"}
QUESTIONS = Path(__file__).with_name("docs_questions.json")
ADVERSARIAL_QUESTIONS = Path(__file__).with_name("docs_questions_adversarial.json")
# A question copies its topic when this many of its words in a row are in the topic's text.
COPY_RUN = 4
# Words that say nothing about a topic: left out of the word overlap.
_STOPWORDS = (
    "a an the and or not no of to in on at by for from with without into as is are was be "
    "been being it its this that these those there their them they i my me we our you your "
    "he she his her do does did doing done can could should would will shall may might must "
    "have has had if then than so what which who whom whose when where why how whether get "
    "gets got one any all each every some such other only just also still own both same very "
    "out up"
)
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Question:
    question: str
    topic: str  # the file is `<topic>.md`
    answer: str  # a piece of the topic's text, whitespace aside
    hard_for: str | None  # "keyword" (other words than the text's) or "vectors" (a rare name)


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


def questions(path: Path = QUESTIONS) -> list[Question]:
    """A question set, as its JSON file (by default `docs_questions.json`) has it."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [Question(e["question"], e["topic"], e["answer"], e.get("hard_for")) for e in entries]


def question_overlaps(asked: list[Question]) -> list[float]:
    """Each question's word overlap with the sentence of its answer (`word_overlap`)."""
    texts = {name: normalized(topic_markdown(name)) for name in topic_names()}
    return [
        word_overlap(q.question, answer_sentence(texts[q.topic], normalized(q.answer)))
        for q in asked
    ]


def describe(asked: list[Question]) -> str:
    """The set in a line: its size, its breadth, how little it repeats its answers' words."""
    overlaps = question_overlaps(asked)
    return (
        f"{len(asked)} questions over {len({q.topic for q in asked})} of {len(topics)} topics; "
        f"word overlap with the answer's sentence: mean {statistics.mean(overlaps):.3f}, "
        f"median {statistics.median(overlaps):.3f}"
    )


def copied_words(question: str, text: str) -> str | None:
    """The first `COPY_RUN` words in a row of `question` that `text` also has in a row
    (case and punctuation aside), or None when the question copies no such run."""
    asked = _words(question)
    runs = {tuple(asked[i : i + COPY_RUN]) for i in range(len(asked) - COPY_RUN + 1)}
    words = _words(text)
    for i in range(len(words) - COPY_RUN + 1):
        if (run := tuple(words[i : i + COPY_RUN])) in runs:
            return " ".join(run)
    return None


def normalized(text: str) -> str:
    """`text` with every run of whitespace one space: line wraps do not matter."""
    return " ".join(text.split())


def answer_sentence(text: str, answer: str) -> str:
    """The sentence (or sentences) of `text` around `answer`; both normalized."""
    start = text.index(answer)
    end = start + len(answer)
    ends = [m.end() for m in re.finditer(r"[.!?:](?=\s)", text)]
    before = [e for e in ends if e <= start]
    after = [e for e in ends if e >= end]
    return text[(before[-1] if before else 0) : (after[0] if after else len(text))].strip()


def word_overlap(question: str, sentence: str) -> float:
    """The share of the question's content words that its answer's sentence also has."""
    asked = _content_words(question)
    return len(asked & _content_words(sentence)) / len(asked) if asked else 0.0


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if len(w) > 1 and w not in STOPWORDS}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


def _stem(word: str) -> str:
    """A crude stem, so that "bound" and "bounds" or "called" and "calls" count as one."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


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
    parser.add_argument("folder", type=Path, nargs="?", help="where to write the Markdown files")
    parser.add_argument(
        "--questions",
        type=Path,
        nargs="?",
        const=QUESTIONS,
        metavar="FILE",
        help=f"print each question's word overlap (the set in FILE, else {QUESTIONS.name})",
    )
    args = parser.parse_args()
    if args.questions:
        _print_overlap(args.questions)
        return 0
    if args.folder is None:
        parser.error("give a FOLDER, or --questions")
    written = write_corpus(args.folder)
    size = sum(path.stat().st_size for path in written)
    print(f"{len(written)} topics, {size:,} bytes in {args.folder}")
    return 0


def _print_overlap(path: Path) -> None:
    asked = questions(path)
    overlaps = question_overlaps(asked)
    for q, overlap in zip(asked, overlaps, strict=True):
        print(f"{overlap:.2f}  {q.topic:<22} {q.question}")
    print(f"{describe(asked)}; max overlap {max(overlaps):.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
