"""The documents benchmarks' question set (benchmarks/docs_questions.json) against its
corpus, Python's own language reference topics: every answer is still in its topic's file as
Lantern reads it, so a new Python's wording cannot make the recall figure quietly wrong."""

from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks.docs_corpus import (
    normalized,
    question_overlaps,
    questions,
    topic_names,
    write_corpus,
)
from desktop.tasks.documents import read_document


def test_every_answer_is_in_its_topics_file_as_lantern_reads_it(tmp_path: Path) -> None:
    files = write_corpus(tmp_path)
    assert [path.name for path in files] == [f"{name}.md" for name in topic_names()]
    texts = {
        path.stem: normalized(read_document(path.read_bytes(), path.name).text) for path in files
    }
    for question in questions():
        assert question.topic in texts, question
        assert normalized(question.answer) in texts[question.topic], question
        assert 5 <= len(question.answer.split()) <= 15, question
        assert question.hard_for in (None, "keyword", "vectors"), question


def test_each_file_opens_with_its_title_as_a_heading(tmp_path: Path) -> None:
    for path in write_corpus(tmp_path):
        assert path.read_text(encoding="utf-8").startswith("# "), path.name
    assert (
        (tmp_path / "nonlocal.md")
        .read_text(encoding="utf-8")
        .startswith('# The "nonlocal" statement\n\n')
    )


def test_the_set_is_broad_and_asks_in_other_words() -> None:
    asked = questions()
    assert len(asked) >= 60
    assert len({q.topic for q in asked}) >= 40
    assert len({q.question for q in asked}) == len(asked)
    # Other words than the answer's: at most a third of a question's words are in it.
    assert statistics.mean(question_overlaps(asked)) < 0.35
