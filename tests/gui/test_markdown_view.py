"""An answer rendered as Markdown: what it shows, what it refuses, Copy, and streaming."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

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


@pytest.mark.parametrize("text", [TRICKY, ANSWER])
def test_every_prefix_renders_as_if_whole(text):
    renderer = MarkdownRenderer()
    for end in range(len(text) + 1):
        assert renderer.render(text[:end]) == render_markdown(text[:end]), end


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
    """The streamed document is built by replacing its last block; Qt's HTML import joins
    blocks in its own ways (lists, tables, empty blocks), which it must match exactly."""
    view = MarkdownView(dark=False)
    reference = MarkdownView(dark=False)
    qtbot.addWidget(view)
    qtbot.addWidget(reference)
    for piece in pieces(text, 3):
        view.append_markdown(piece)
        reference.set_markdown(view.markdown())
        assert view.toHtml() == reference.toHtml(), view.markdown()


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
