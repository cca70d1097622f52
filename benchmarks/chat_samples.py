"""Made-up chat content for the chat view benchmarks: Markdown answers of realistic shape
(headings, paragraphs with inline markup, lists, tables, fenced code in a few languages) and
the pieces a model streams them in. Seeded, so that every run shows the same conversation."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.store.repositories import MessageRecord
from desktop.ui.app import gui_application
from desktop.ui.chat.view import ChatView

PROSE = (
    "the model reads each token of the prompt and writes its answer one piece at a time while "
    "the window keeps drawing so a reader can scroll select text or stop the answer a cache "
    "keeps what it has already computed and a longer context costs more memory for every "
    "layer of the network quantized weights trade a little accuracy for speed on small "
    "machines the lighthouse keeper counted ships that passed the harbour during the storm"
)
WORDS = PROSE.split()

PYTHON = [
    "def {name}(items: list[int]) -> int:",
    '    """Sum the {noun} that pass the filter."""',
    "    total = 0",
    "    for item in items:",
    "        if item % {n} == 0:",
    "            total += item * {n}",
    "    return total",
    "",
    "",
    "class {Name}:",
    "    def __init__(self, path: str, limit: int = {n}) -> None:",
    "        self.path = path",
    "        self.limit = limit",
    "",
    "    def read(self) -> list[str]:",
    "        with open(self.path, encoding='utf-8') as handle:",
    "            return [line.rstrip() for line in handle][: self.limit]",
    "",
    'print({name}([1, 2, 3, 4, {n}]))  # -> "{noun}"',
]
JAVASCRIPT = [
    "async function {name}(url, retries = {n}) {{",
    "  for (let attempt = 0; attempt < retries; attempt++) {{",
    "    const response = await fetch(url);",
    "    if (response.ok) return response.json();",
    "    await new Promise((r) => setTimeout(r, 100 * attempt));",
    "  }}",
    "  throw new Error(`{noun}: giving up after ${{retries}} tries`);",
    "}}",
]
SHELL = [
    "python -m venv .venv",
    ". .venv/bin/activate",
    "pip install --upgrade {noun}",
    "{name} --threads {n} --output results.json",
]
CODE = {"python": PYTHON, "javascript": JAVASCRIPT, "bash": SHELL}

MOMENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def sentence(rng: random.Random, words: int | None = None) -> str:
    count = words or rng.randint(8, 22)
    chosen = [rng.choice(WORDS) for _ in range(count)]
    if rng.random() < 0.4:
        i = rng.randrange(count)
        chosen[i] = f"**{chosen[i]}**"
    if rng.random() < 0.4:
        i = rng.randrange(count)
        chosen[i] = f"`{chosen[i]}()`"
    text = " ".join(chosen)
    return text[0].upper() + text[1:] + rng.choice(".....!?")


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def code_block(rng: random.Random, lines: int) -> str:
    language = rng.choice(list(CODE))
    template = CODE[language]
    start = rng.randrange(len(template))
    body = [template[(start + i) % len(template)] for i in range(lines)]
    name = rng.choice(WORDS) + "_" + rng.choice(WORDS)
    fields = {"name": name, "Name": name.title().replace("_", ""), "noun": rng.choice(WORDS)}
    text = "\n".join(line.format(n=rng.randint(2, 99), **fields) for line in body)
    return f"```{language}\n{text}\n```"


def table(rng: random.Random, rows: int) -> str:
    head = "| Setting | Value | Effect |\n|:--------|------:|--------|"
    body = [
        f"| `{rng.choice(WORDS)}` | {rng.randint(1, 4096)} | {sentence(rng, 5)} |"
        for _ in range(rows)
    ]
    return "\n".join([head, *body])


def bullet_list(rng: random.Random, items: int, ordered: bool = False) -> str:
    return "\n".join(
        f"{f'{i + 1}.' if ordered else '-'} {sentence(rng, rng.randint(4, 12))}"
        for i in range(items)
    )


def long_answer(rng: random.Random, sections: int = 4) -> str:
    """Several sections, each a heading, prose, a list and code; a table now and then."""
    parts = [paragraph(rng, 2)]
    for _ in range(sections):
        parts.append(f"## {sentence(rng, rng.randint(2, 5)).rstrip('.!?')}")
        parts.append(paragraph(rng, rng.randint(2, 4)))
        parts.append(bullet_list(rng, rng.randint(3, 5), ordered=rng.random() < 0.3))
        parts.append(code_block(rng, rng.randint(6, 16)))
        if rng.random() < 0.5:
            parts.append(table(rng, rng.randint(3, 5)))
    parts.append(paragraph(rng, 1))
    return "\n\n".join(parts) + "\n"


def short_answer(rng: random.Random) -> str:
    """An everyday answer: a few paragraphs, sometimes a list, a third of them with code."""
    parts = [paragraph(rng, rng.randint(2, 5))]
    if rng.random() < 0.4:
        parts.append(bullet_list(rng, rng.randint(2, 5)))
    if rng.random() < 0.33:
        parts.append(code_block(rng, rng.randint(3, 10)))
    if rng.random() < 0.5:
        parts.append(paragraph(rng, rng.randint(2, 4)))
    return "\n\n".join(parts) + "\n"


def question(rng: random.Random) -> str:
    return sentence(rng, rng.randint(6, 30)).rstrip(".!") + "?"


def conversation(
    count: int, *, seed: int = 1, long: bool = False, conversation_id: int = 1
) -> list[MessageRecord]:
    """`count` messages, user and assistant in turn, each the parent of the next."""
    rng = random.Random(seed)
    messages: list[MessageRecord] = []
    parent: int | None = None
    for n in range(count):
        role = "user" if n % 2 == 0 else "assistant"
        if role == "user":
            content = question(rng)
        else:
            content = long_answer(rng) if long else short_answer(rng)
        message_id = conversation_id * 1_000_000 + n + 1
        messages.append(
            MessageRecord(
                id=message_id,
                conversation_id=conversation_id,
                parent_id=parent,
                role=role,
                content=content,
                status="complete",
                model_id=None if role == "user" else "bench-model",
                stats=None if role == "user" else {"generated_tokens": len(content) // 4},
                error=None,
                created_at=MOMENT,
                updated_at=MOMENT,
            )
        )
        parent = message_id
    return messages


TOKEN = re.compile(r" ?[A-Za-z]+| ?[0-9]{1,3}|\n+| +|[^\sA-Za-z0-9]")


def tokens(text: str, rng: random.Random) -> list[str]:
    """`text` cut the way a tokenizer would: words with their leading space, longer words in
    pieces, punctuation and newlines on their own; 1 to 6 characters each."""
    pieces: list[str] = []
    for match in TOKEN.finditer(text):
        piece = match.group()
        while len(piece) > 6:
            cut = rng.randint(2, 6)
            pieces.append(piece[:cut])
            piece = piece[cut:]
        pieces.append(piece)
    assert "".join(pieces) == text
    return pieces


def long_code_answer(lines: int, *, seed: int = 11) -> str:
    """A sentence, one fenced Python block `lines` long (a whole module pasted back), and a
    closing sentence: the answer whose last block grows longest while it streams."""
    rng = random.Random(seed)
    fields = {"name": "read_limited", "Name": "LimitedReader", "noun": "lines"}
    body = "\n".join(
        PYTHON[i % len(PYTHON)].format(n=rng.randint(2, 99), **fields) for i in range(lines)
    )
    return f"{paragraph(rng, 1)}\n\n```python\n{body}\n```\n\n{paragraph(rng, 1)}\n"


def streamed_answer(count: int, *, seed: int = 7) -> list[str]:
    """The pieces of an answer `count` tokens long (cut at a piece, so it may end mid-block)."""
    rng = random.Random(seed)
    text = ""
    while len(tokens(text, random.Random(seed))) < count:
        text += long_answer(rng, sections=2) + "\n"
    return tokens(text, random.Random(seed))[:count]


def shown_chat_view() -> tuple[QWidget, ChatView]:
    """The application, and a ChatView filling a shown 1000x700 window (offscreen or not)."""
    gui_application()
    window = QWidget()
    window.resize(1000, 700)
    layout = QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    view = ChatView()
    layout.addWidget(view)
    window.show()
    return window, view
