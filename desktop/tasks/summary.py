"""Summarizing a text of any length, as data: the options, the prompt of each step, and the
map-reduce plan that makes every part of a long document reach the summary.

A text that fits the model's context is summarized in one pass. A longer one is cut into
chunks (tasks.chunking, by the model's own token count); each chunk becomes notes (map); notes
that together fit become the summary (final), and notes that do not are merged group by
group into shorter notes first (combine), as many rounds as it takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from desktop.engine.protocol import ChatMessage
from desktop.errors import LanternError
from desktop.tasks.prompts import fill, template

Length = Literal["sentence", "short", "detailed", "words"]
Format = Literal["paragraph", "bullets", "keypoints", "tldr"]
LENGTHS: tuple[Length, ...] = ("sentence", "short", "detailed", "words")
FORMATS: tuple[Format, ...] = ("paragraph", "bullets", "keypoints", "tldr")

# A text too long for one pass is cut into parts of at most this many tokens, even when the
# context could take more: a token read (or written) late in a long prompt costs more
# (attention). On the starter model, 2 CPU threads, a 3,500-token prompt was read at 0.68x
# the speed of a 470-token one; a 21,000-token document took 265 s in parts of 3,514 tokens,
# 273 s in parts of 2,048 and 247 s in parts of 1,024 (benchmarks/summarize_long.py).
MAX_CHUNK_TOKENS = 1024
# The notes of one part (or one merge of notes): long enough to keep a part's facts, short
# enough that many parts' notes fit one context; an eighth of the part, within bounds.
MIN_NOTE_TOKENS, MAX_NOTE_TOKENS = 96, 400
# Tokens the chat template adds around each message, and a margin for what counting the
# prompt's pieces apart misses.
TEMPLATE_TOKENS_PER_MESSAGE = 8
SAFETY_TOKENS = 48
NOTES_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class SummaryOptions:
    length: Length = "short"
    words: int | None = None  # with length "words": the target word count
    format: Format = "paragraph"
    tone: str = ""  # audience or tone, in the user's words: "for a ten-year-old"
    language: str = ""  # the summary's language; "" for the document's own
    focus: str = ""  # "focus on ...", in the user's words

    def __post_init__(self) -> None:
        if self.length not in LENGTHS:
            raise LanternError(f"The length is one of {', '.join(LENGTHS)} or a word count.")
        if self.format not in FORMATS:
            raise LanternError(f"The format is one of {', '.join(FORMATS)}.")
        if self.length == "words" and not (self.words and 5 <= self.words <= 3000):
            raise LanternError("A target length is a number of words from 5 to 3000.")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SummaryOptions:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def answer_tokens(self) -> int:
        """Room for the summary itself: what was asked for, with slack (a word is 1-2 tokens)."""
        if self.length == "words":
            assert self.words is not None
            return self.words * 2 + 64
        return {"sentence": 96, "short": 320, "detailed": 1000}[self.length]


def parse_length(value: str) -> tuple[Length, int | None]:
    """A length as the user writes it: a name, or a number of words ("150")."""
    value = value.strip().lower()
    if value.isdigit():
        return "words", int(value)
    if value in LENGTHS and value != "words":
        return value, None
    raise LanternError(
        f'"{value}" is not a length. Use sentence, short, detailed or a number of words.'
    )


# ---- prompts ------------------------------------------------------------------------------


def _source(name: str | None) -> str:
    return f" ({name})" if name else ""


def _focus(options: SummaryOptions) -> str:
    focus = options.focus.strip()
    return " " + fill("summarize/focus", focus=focus) if focus else ""


def _notes_language(options: SummaryOptions) -> str:
    return options.language.strip() or "the language of the text"


def note_tokens(context_length: int, chunk_tokens: int | None = None) -> int:
    """The most tokens the notes of one part may take: a tenth of the context at most (room
    the part's prompt leaves), an eighth of the part, within bounds."""
    cap = (
        context_length // 10
        if chunk_tokens is None
        else min(context_length // 10, chunk_tokens // 8)
    )
    return max(MIN_NOTE_TOKENS, min(MAX_NOTE_TOKENS, cap))


def _note_words(tokens: int) -> int:
    return tokens * 2 // 5  # words, leaving slack for long ones


def part_messages(
    text: str,
    part: int,
    parts: int,
    options: SummaryOptions,
    note_size: int,
    source_name: str | None = None,
) -> tuple[ChatMessage, ...]:
    """Notes of one chunk (`part` counts from 1), of at most `note_size` tokens."""
    user = fill(
        "summarize/part",
        part=part,
        parts=parts,
        source=_source(source_name),
        words=_note_words(note_size),
        language=_notes_language(options),
        focus=_focus(options),
        text=text,
    )
    return _messages(user)


def combine_messages(
    notes: Sequence[str],
    options: SummaryOptions,
    note_size: int,
    source_name: str | None = None,
) -> tuple[ChatMessage, ...]:
    """Notes of consecutive parts merged into one shorter set of notes."""
    user = fill(
        "summarize/combine",
        source=_source(source_name),
        words=_note_words(note_size),
        language=_notes_language(options),
        focus=_focus(options),
        text=NOTES_SEPARATOR.join(notes),
    )
    return _messages(user)


def final_messages(
    text: str, options: SummaryOptions, *, from_notes: bool, source_name: str | None = None
) -> tuple[ChatMessage, ...]:
    """The summary of the whole text, or of the notes on all its parts."""
    length = fill(f"summarize/length/{options.length}", words=options.words)
    tone = " " + fill("summarize/tone", tone=options.tone.strip()) if options.tone.strip() else ""
    user = fill(
        "summarize/final_from_notes" if from_notes else "summarize/final",
        source=_source(source_name),
        text=text,
        length=length,
        format=template(f"summarize/format/{options.format}"),
        tone=tone,
        focus=_focus(options),
        language=options.language.strip() or "the same language as the document",
    )
    return _messages(user)


def _messages(user: str) -> tuple[ChatMessage, ...]:
    return (ChatMessage("system", template("summarize/system")), ChatMessage("user", user))


def prompt_overhead(messages: Sequence[ChatMessage], count_tokens: Any) -> int:
    """Tokens a prompt takes besides the text put in it, counted on the prompt with an empty
    text: what the chunk budget must leave room for."""
    words = sum(count_tokens(m.content) for m in messages)
    return words + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) + SAFETY_TOKENS


# ---- the plan -----------------------------------------------------------------------------


def text_budget(context_length: int, overhead: int, answer_tokens: int) -> int:
    """Tokens of text one step can take: the context less the prompt and the answer."""
    budget = context_length - overhead - answer_tokens
    if budget < 64:
        raise LanternError(
            f"The model's context ({context_length} tokens) is too small to summarize with: "
            "choose a larger context in the settings, a shorter summary, or another model."
        )
    return budget


def group_notes(tokens_of_notes: Sequence[int], budget: int) -> list[range]:
    """Consecutive runs of notes whose tokens together fit `budget` (a note that alone is over
    it is a group by itself)."""
    groups: list[range] = []
    start, total = 0, 0
    for index, tokens in enumerate(tokens_of_notes):
        if index > start and total + tokens > budget:
            groups.append(range(start, index))
            start, total = index, 0
        total += tokens
    if tokens_of_notes:
        groups.append(range(start, len(tokens_of_notes)))
    return groups


def estimated_passes(chunks: int, final_budget: int, combine_budget: int, note: int) -> int:
    """Passes over the text a plan of `chunks` parts will take, assuming each part's notes
    take `note` tokens: 1 for a text that fits, else notes + merge rounds + summary."""
    if chunks <= 1:
        return 1
    passes, notes = 1, chunks
    while notes * note > final_budget:
        per_group = max(1, combine_budget // note)
        notes = -(-notes // per_group)
        passes += 1
        if per_group == 1:
            break
    return passes + 1
