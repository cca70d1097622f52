"""An answer rendered as Markdown: what it shows, what it refuses, Copy, and streaming."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextBlock, QTextCursor
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from desktop.ui.chat import markdown_html
from desktop.ui.chat.markdown_html import MarkdownRenderer, render_markdown
from desktop.ui.chat.markdown_view import MarkdownView

pytestmark = pytest.mark.gui

PYTHON_CODE = 'def greet(name: str) -> str:\n    return f"Hello, {name}"  # say hi'

ANSWER = f"""# Title

Intro with **bold**, `inline`, a [site](https://example.com "Example") and <b>raw</b>.

## List

- one
- two
  - nested

1. first
2. second

| Name | Size |
|:-----|-----:|
| a    | 1    |

> quoted

```python
{PYTHON_CODE}
```

Second block, unknown language:

```nosuchlang
x <y> & z
```

    indented code

Setext heading
--------------

***

Bye <https://example.org>, or <someone@example.org>.
"""


def view_of(qtbot, text: str) -> MarkdownView:
    view = MarkdownView(dark=False)
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.set_markdown(text)
    view.show()
    qtbot.waitExposed(view)
    return view


def anchors(view: MarkdownView) -> list[str]:
    """Every link target in the document, once each."""
    found: list[str] = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            char_format = it.fragment().charFormat()
            if char_format.isAnchor():
                found.append(char_format.anchorHref())
            it += 1
        block = block.next()
    return list(dict.fromkeys(found))


def click_anchor(qtbot, view: MarkdownView, href: str) -> None:
    """A real mouse click on the "Copy" link whose target is `href`."""
    cursor = view.document().find("Copy")
    while not cursor.isNull() and cursor.charFormat().anchorHref() != href:
        cursor = view.document().find("Copy", cursor)
    assert not cursor.isNull(), href
    cursor.setPosition(cursor.selectionStart() + 1)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.cursorRect(cursor).center()
    )


def test_blocks_render_as_html():
    html = render_markdown(ANSWER).html
    assert "<h1>Title</h1>" in html
    assert "<h2>Setext heading</h2>" in html
    assert "<strong>bold</strong>" in html
    assert "<ul>" in html and "<ol>" in html and "<li>nested</li>" in html
    assert "<table" in html and "<th" in html and '<td align="right">1</td>' in html
    assert "<blockquote" in html and "<hr />" in html
    assert '<a href="https://example.com" title="Example">site</a>' in html
    assert '<a href="https://example.org">' in html
    assert '<a href="mailto:someone@example.org">' in html


@pytest.mark.parametrize(
    "text",
    [
        "Here is the code:\n```python\nprint(1)\n```\n",
        "- a step:\n  ```python\n  print(1)\n  ```\n",
        "> quoted:\n> ```python\n> print(1)\n> ```\n",
    ],
    ids=["after-a-paragraph", "in-a-list-item", "in-a-quote"],
)
def test_a_code_block_needs_no_blank_line_before_it(text):
    """Models often open a fence on the line after their sentence: it is code all the same."""
    rendered = render_markdown(text)
    assert rendered.code_blocks == ["print(1)"]
    assert "```" not in rendered.html


def test_view_shows_the_rendered_text(qtbot):
    view = view_of(qtbot, ANSWER)
    text = view.toPlainText()
    for visible in ("Title", "one", "nested", "quoted", "Setext heading", "indented code"):
        assert visible in text
    assert "# Title" not in text and "**" not in text
    assert "https://example.com" in anchors(view)
    assert view.document().toHtml().count("<table") >= 2  # the Markdown table, a code block


def test_raw_html_is_escaped_not_interpreted(qtbot):
    text = 'Hi <script>alert("x")</script> and <img src="http://evil/x.png">\n\n<div>block</div>\n'
    rendered = render_markdown(text)
    assert "<script" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "&lt;div&gt;" in rendered.html
    view = view_of(qtbot, text)
    assert '<script>alert("x")</script>' in view.toPlainText()
    assert "<div>block</div>" in view.toPlainText()


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript:alert(1))",
        "<javascript:alert(1)>",
        "[click](file:///etc/passwd)",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox)",
        "[click](relative/page.html)",
        "![pic](javascript:alert(1))",
    ],
)
def test_only_http_and_mailto_links_are_links(qtbot, link):
    html = render_markdown(f"Try {link} now.").html
    assert "<a " not in html
    view = view_of(qtbot, f"Try {link} now.")
    assert anchors(view) == []
    assert (
        "click" in view.toPlainText()
        or "pic" in view.toPlainText()
        or "javascript" in (view.toPlainText())
    )


def test_python_code_is_highlighted_and_copied_exactly(qtbot):
    rendered = render_markdown(ANSWER)
    assert rendered.code_blocks == [PYTHON_CODE, "x <y> & z", "indented code"]
    assert '<span style="color: #' in rendered.html  # Pygments colours, inline
    assert "x &lt;y&gt; &amp; z" in rendered.html  # unknown language: plain, escaped
    for index in range(3):
        assert f'href="copy-code:{index}"' in rendered.html

    view = view_of(qtbot, ANSWER)
    assert "copy-code:0" in anchors(view)
    keyword = view.document().find("def")
    assert keyword.charFormat().foreground().color().name() != "#000000"

    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(view.code_copied, timeout=2000) as copied:
        click_anchor(qtbot, view, "copy-code:0")
    assert copied.args == [0]
    assert QGuiApplication.clipboard().text() == PYTHON_CODE

    with qtbot.waitSignal(view.code_copied, timeout=2000) as copied:
        click_anchor(qtbot, view, "copy-code:1")
    assert copied.args == [1]
    assert QGuiApplication.clipboard().text() == "x <y> & z"


def test_web_links_are_reported_not_followed(qtbot):
    view = view_of(qtbot, "See [the site](https://example.com/a?b=1).")
    cursor = view.document().find("site")
    rect = view.cursorRect(cursor)
    with qtbot.waitSignal(view.link_activated, timeout=2000) as activated:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert activated.args == ["https://example.com/a?b=1"]
    assert view.markdown() == "See [the site](https://example.com/a?b=1)."  # still here


def test_copy_of_a_block_that_is_not_there_does_nothing(qtbot):
    view = view_of(qtbot, "no code")
    with qtbot.assertNotEmitted(view.code_copied):
        assert view.copy_code(0) is False
        assert view.copy_code("x") is False


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 17, 200])
def test_streamed_pieces_end_as_the_whole_text(qtbot, size):
    whole = render_markdown(ANSWER)
    view = MarkdownView(dark=False)
    qtbot.addWidget(view)
    for piece in pieces(ANSWER, size):
        view.append_markdown(piece)
    assert view.markdown() == ANSWER
    assert view.rendered() == whole
    reference = view_of(qtbot, ANSWER)
    assert view.toHtml() == reference.toHtml()


TRICKY = """Para one
continues lazily
===

- a

- b
not a new block
- c

1) x
2) y

* * *
| h | i |
| - | - |
| 1 | 2 |

    indented

    still indented
after

~~~~js
let a = 1

~~~
still code
~~~~

> q
lazy

```
unclosed
"""


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("text", [TRICKY, ANSWER])
def test_every_prefix_renders_as_if_whole(text, streaming):
    renderer = MarkdownRenderer()
    for end in range(len(text) + 1):
        expected = render_markdown(text[:end], streaming=streaming)
        assert renderer.render(text[:end], streaming=streaming) == expected, end


def test_reference_definitions_apply_before_them():
    text = "See [docs][d] now.\n\nMore text.\n\n[d]: https://example.com/docs\n"
    renderer = MarkdownRenderer()
    for end in range(len(text) + 1):
        assert renderer.render(text[:end]) == render_markdown(text[:end])
    assert '<a href="https://example.com/docs">docs</a>' in renderer.render(text).html


def test_a_new_text_starts_over():
    renderer = MarkdownRenderer()
    renderer.render(ANSWER)
    assert renderer.render("Other\n\ntext") == render_markdown("Other\n\ntext")


def test_height_fits_the_contents_and_stacks(qtbot):
    area = QScrollArea()
    area.setWidgetResizable(True)
    column = QWidget()
    layout = QVBoxLayout(column)
    views = [MarkdownView(dark=False) for _ in range(3)]
    for view in views:
        layout.addWidget(view)
    layout.addStretch(1)
    area.setWidget(column)
    qtbot.addWidget(area)
    area.resize(600, 300)
    area.show()
    qtbot.waitExposed(area)
    views[0].set_markdown("Short.")
    views[1].set_markdown(ANSWER)
    views[2].set_markdown("Also short.")

    def fitted() -> bool:
        return all(
            abs(view.height() - view.sizeHint().height()) <= 1
            and view.document().size().height() <= view.viewport().height() + 1
            for view in views
        )

    qtbot.waitUntil(fitted, timeout=2000)
    assert views[1].height() > 5 * views[0].height()
    assert column.height() > area.viewport().height()  # the area scrolls, not the views


JOINS = """Para before a list
- a
- b

1. a list after a list
2. two

***
# after a rule
#
- after an empty heading
-

    indented after an empty item

- item with code:

  ```python
  x = 1
  ```
- and a table:

  | a | b |
  |---|---|
  | 1 | 2 |

> quote
> ```
> code in a quote
> ```

```
a code block after a quote
```
> ```
> code first in a quote
> ```

- ```
  code first in an item
  ```
```js
then another
```
| table | after code |
|---|---|
| x | y |
---
Setext after a table
---
"""


@pytest.mark.parametrize("text", [ANSWER, TRICKY, JOINS])
def test_every_streamed_prefix_shows_as_if_set_whole(qtbot, text):
    """The streamed document is built by replacing its last block, or by typing into its open
    code block; Qt's HTML import joins blocks in its own ways (lists, tables, empty blocks, a
    <pre>'s last newline), which it must match exactly. An open code block is plain until it
    closes; once the stream ends, all of it is as if set whole."""
    view = MarkdownView(dark=False)
    reference = MarkdownView(dark=False)
    qtbot.addWidget(view)
    qtbot.addWidget(reference)
    for piece in pieces(text, 3):
        view.append_markdown(piece)
        reference.setHtml(render_markdown(view.markdown(), streaming=True).html)
        assert view.toHtml() == reference.toHtml(), view.markdown()
    view.set_markdown(text)  # the stream ends with the text as saved
    reference.set_markdown(text)
    assert view.toHtml() == reference.toHtml()


def test_streaming_keeps_the_finished_blocks_and_what_is_selected(qtbot):
    view = view_of(qtbot, "")
    view.append_markdown("# Title\n\nFirst paragraph.\n\nSecond")
    cursor = view.textCursor()
    cursor.setPosition(0)
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)  # the reader selects the title while the answer streams
    view.append_markdown(" paragraph grows,\n\n```python\nx = 1\n")
    view.append_markdown("```\n\nand ends.")
    assert view.textCursor().selectedText() == "Title"  # setting it whole would lose that
    assert view.toPlainText().rstrip().endswith("and ends.")


def test_streaming_stays_pinned_to_the_bottom(qtbot):
    view = MarkdownView(dark=False)
    qtbot.addWidget(view)
    view.setMaximumHeight(120)  # shorter than the answer: it must scroll itself
    view.resize(400, 120)
    view.show()
    qtbot.waitExposed(view)
    bar = view.verticalScrollBar()
    for piece in pieces(ANSWER, 40):
        view.append_markdown(piece)
        assert bar.value() == bar.maximum()
    bar.setValue(0)  # the reader scrolled up: stay where they are
    view.append_markdown("\n\nOne more paragraph.\n")
    assert bar.value() == 0


def test_dark_palette_gets_dark_code_colours():
    light = render_markdown(ANSWER, dark=False).html
    dark = render_markdown(ANSWER, dark=True).html
    assert light != dark
    assert "#161b22" in dark and "#f6f8fa" in light


# ---- code blocks while they stream ----

CODE_CASES = {
    "closed": (
        'Intro.\n\n```python\ndef f(x):\n    return x + 1\n\n\nprint(f(2))  # <3 & "co"\n```\n'
        "\nAfter.\n"
    ),
    "unclosed": "Intro.\n\n```python\ndef f(x):\n    return x + 1\n\n\n\tprint(f(2))\n",
    "first and unclosed": "```js\nlet a = 1\n\nlet b = '<a & b>'\n\n",
    "nested in a list": (
        "- step one:\n\n  ```bash\n  pip install x\n\n  lantern --help\n  ```\n"
        "- step two:\n  ```python\n  x = 1\n    y = 2\n\n  z = [\n"
    ),
    "tildes around backticks": (
        "~~~python\n```\nnot the end\n```\n~~~\n\nThen:\n\n~~~~text\n~~~\nstill code\n"
    ),
    "info string in pieces": "```javascript\nconst x = 1;\n```\n",
    "in a quote": "> ```python\n> x = 1\n>\n> y = 2\n",
    "indented": "Para.\n\n    indented code\n\n    more\n",
}


def code_lines(view: MarkdownView) -> list[tuple[str, bool]]:
    """Each line of code shown (a <pre>'s blocks), and whether all of it is in monospace."""
    lines = []
    block = view.document().begin()
    while block.isValid():
        if block.blockFormat().nonBreakableLines():
            it, monospace = block.begin(), True
            while not it.atEnd():
                fragment = it.fragment()
                families = fragment.charFormat().fontFamilies() or []
                monospace &= "monospace" in families or not fragment.text().strip()
                it += 1
            lines.append((block.text(), monospace))
        block = block.next()
    return lines


@pytest.mark.parametrize("size", [1, 4])
@pytest.mark.parametrize("case", list(CODE_CASES))
def test_streamed_code_shows_what_a_whole_render_shows(qtbot, case, size):
    """While it streams, the code's lines are those of the answer rendered at once, in
    monospace; once the fence closes or the stream ends, all of it is, highlighting too."""
    text = CODE_CASES[case]
    view = MarkdownView(dark=False)
    whole = MarkdownView(dark=False)
    qtbot.addWidget(view)
    qtbot.addWidget(whole)
    for piece in pieces(text, size):
        view.append_markdown(piece)
        whole.set_markdown(view.markdown())
        # (Qt may end an open block's last line with a space, from the markup after it.)
        streamed = [line.rstrip(" ") for line, _ in code_lines(view)]
        expected = [line.rstrip(" ") for line, _ in code_lines(whole)]
        # An open block with no code yet shows no line of code (a whole render, an empty one).
        assert streamed in (expected, expected[:-1] if expected[-1:] == [""] else expected)
        assert all(monospace for _, monospace in code_lines(view)), view.markdown()
    if case in ("closed", "info string in pieces"):  # closed while streaming: highlighted
        assert view.toHtml() == whole.toHtml()
    view.set_markdown(text)  # the stream ends
    assert view.toHtml() == whole.toHtml()
    assert view.toPlainText() == whole.toPlainText()
    assert view.rendered() == render_markdown(text)


def test_an_open_code_block_grows_in_place_and_is_highlighted_once(qtbot, monkeypatch):
    """400 lines of code streamed: what is shown of the block stays (the same text blocks,
    never highlighted or laid out again), and the block is highlighted once, as it closes."""
    highlights: list[str] = []
    original = markdown_html.highlight
    monkeypatch.setattr(
        markdown_html,
        "highlight",
        lambda code, *args: highlights.append(code) or original(code, *args),
    )
    code = "".join(f"value_{n} = compute({n}) + 1  # line {n}\n" for n in range(400))
    view = view_of(qtbot, "")
    view.append_markdown("Here it is:\n\n```python\n")
    view.append_markdown(code[:40])
    first = next(b for b in blocks(view) if b.text().startswith("value_0"))
    first.setUserState(1)  # gone if the block were rendered and inserted again
    position = first.position()
    for piece in pieces(code[40:], 7):
        view.append_markdown(piece)
    assert highlights == []
    kept = view.document().findBlock(position)
    assert (kept.userState(), kept.text()) == (1, first.text())
    assert code_lines(view)[-1] == ("value_399 = compute(399) + 1  # line 399", True)

    view.append_markdown("```\n\nDone.")
    assert highlights == [code.removesuffix("\n")]
    reference = view_of(qtbot, view.markdown())
    assert view.toHtml() == reference.toHtml()
    assert view.copy_code(0) and QGuiApplication.clipboard().text() == code.removesuffix("\n")


def test_a_stream_that_ends_inside_code_highlights_it_in_place(qtbot):
    """Stopped mid-code: the answer as saved highlights the block, and the text before the
    block is not set again."""
    view = view_of(qtbot, "")
    for piece in pieces("# Title\n\nSome prose.\n\n```python\nx = 1\ny = 2\n", 5):
        view.append_markdown(piece)
    title = view.document().begin()
    title.setUserState(1)
    view.set_markdown(view.markdown())
    assert view.document().begin().userState() == 1
    title.setUserState(-1)
    assert view.toHtml() == view_of(qtbot, view.markdown()).toHtml()
    number = view.document().find("1")
    assert number.charFormat().foreground().color().name() != "#1f2328"  # highlighted


def blocks(view: MarkdownView) -> list[QTextBlock]:
    found = []
    block = view.document().begin()
    while block.isValid():
        found.append(block)
        block = block.next()
    return found
