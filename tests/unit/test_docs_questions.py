"""The documents benchmarks' question sets (benchmarks/docs_questions.json, asked as users
ask, and benchmarks/docs_questions_adversarial.json, disguised) against their corpus,
Python's own language reference topics: every answer is still in its topic's file as
Lantern reads it, so a new Python's wording cannot make the recall figures quietly wrong;
and the users' set rewords its topics rather than copying them."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from benchmarks.docs_corpus import (
    ADVERSARIAL_QUESTIONS,
    COPY_RUN,
    QUESTIONS,
    copied_words,
    normalized,
    question_overlaps,
    questions,
    topic_markdown,
    topic_names,
    write_corpus,
)
from desktop.tasks.documents import read_document


@pytest.mark.parametrize("question_set", [QUESTIONS, ADVERSARIAL_QUESTIONS], ids=lambda p: p.name)
def test_every_answer_is_in_its_topics_file_as_lantern_reads_it(
    tmp_path: Path, question_set: Path
) -> None:
    files = write_corpus(tmp_path)
    assert [path.name for path in files] == [f"{name}.md" for name in topic_names()]
    texts = {
        path.stem: normalized(read_document(path.read_bytes(), path.name).text) for path in files
    }
    for question in questions(question_set):
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


def test_the_users_set_is_broad_and_rewords_without_copying() -> None:
    asked = questions(QUESTIONS)
    assert len(asked) >= 80
    assert len({q.topic for q in asked}) >= 50
    assert len({q.question for q in asked}) == len(asked)
    assert {"keyword", "vectors"} <= {q.hard_for for q in asked}
    for question in asked:
        copied = copied_words(question.question, topic_markdown(question.topic))
        assert copied is None, f"{question.question!r} copies {copied!r} from its topic"
    # Reworded as users ask: some of the answer sentence's words, most of them not.
    assert 0.25 <= statistics.mean(question_overlaps(asked)) <= 0.45


def test_the_adversarial_set_is_broad_and_asks_in_other_words() -> None:
    asked = questions(ADVERSARIAL_QUESTIONS)
    assert len(asked) >= 60
    assert len({q.topic for q in asked}) >= 40
    assert len({q.question for q in asked}) == len(asked)
    # Other words than the answer's: at most a third of a question's words are in it.
    assert statistics.mean(question_overlaps(asked)) < 0.35


def test_a_question_copying_its_topic_is_caught() -> None:
    text = topic_markdown("break")
    assert COPY_RUN == 4
    assert copied_words("Does the LOOP control target keep its value?", text) == (
        "the loop control target"
    )
    assert copied_words("After break, what value does the loop variable hold?", text) is None
