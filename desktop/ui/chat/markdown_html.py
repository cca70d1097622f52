"""A chat answer's Markdown as the HTML subset QTextBrowser understands. Qt-free, so it is
tested and timed without a display.

markdown-it-py parses CommonMark plus tables; raw HTML in the text is escaped, never
interpreted; links survive only for http, https and mailto. Code blocks are highlighted by
Pygments with inline styles (QTextBrowser ignores style sheets' classes) and each one gets a
"Copy" link `copy-code:N`, N being its index in `RenderedMarkdown.code_blocks`. An answer from
the user's documents cites its sources as [1], [2]: given the numbers it has (`citations`),
each such citation becomes a link `source:N` to its source.

`MarkdownRenderer` is the streaming form: it keeps the HTML of the blocks that can no longer
change and re-renders only the last one, so re-rendering a growing answer ~40 times a second
costs the size of its last block, not of the whole answer.

While an answer streams (`streaming=True`), a fenced code block that is still open (no closing
fence yet, and the text ends inside it) is shown as plain text, not highlighted: it only grows,
so the view appends the new code to what it shows (see `markdown_view.AnswerDocument`) instead
of highlighting and laying out the whole block again on each update. Once the fence closes,
or the stream ends, the block is highlighted once, as a whole render would.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.rules_block import StateBlock, fence
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
COPY_SCHEME = "copy-code"
CITATION_SCHEME = "source"
CITATION = re.compile(r"\[(\d{1,3})\]")  # [n] in an answer's text


@dataclass(frozen=True)
class RenderedMarkdown:
    """The HTML of a message, and the raw text of its code blocks (index N is `copy-code:N`)."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CodeTheme:
    """Colours that read on the view's background: one light, one dark."""

    pygments_style: str
    code_background: str
    header_background: str
    code_text: str
    inline_background: str
    border: str
    muted: str
    link: str


LIGHT = CodeTheme(
    pygments_style="default",
    code_background="#f6f8fa",
    header_background="#e8ebef",
    code_text="#1f2328",
    inline_background="#eff1f3",
    border="#d0d7de",
    muted="#57606a",
    link="#0969da",
)
DARK = CodeTheme(
    pygments_style="github-dark",
    code_background="#161b22",
    header_background="#22272e",
    code_text="#e6edf3",
    inline_background="#2d333b",
    border="#444c56",
    muted="#9198a1",
    link="#4493f8",
)


def is_allowed_link(url: str) -> bool:
    """Only links a chat answer may carry: http, https and mailto (no javascript:, file:...)."""
    try:
        scheme = urlsplit(url.strip()).scheme
    except ValueError:
        return False
    return scheme.lower() in LINK_SCHEMES


def render_markdown(
    text: str,
    *,
    dark: bool = False,
    streaming: bool = False,
    citations: Collection[int] = frozenset(),
) -> RenderedMarkdown:
    """The whole `text` rendered at once (what `MarkdownRenderer` gives for the same text).
    `citations`: the source numbers whose [n] become links."""
    md = _markdown(dark)
    env: dict[str, Any] = {
        "code_blocks": [],
        "code_offset": 0,
        "streaming": streaming,
        "citations": frozenset(citations),
    }
    tokens = md.parse(_normalize(text), env)
    html = md.renderer.render(tokens, md.options, env)
    return RenderedMarkdown(html, list(env["code_blocks"]))


class MarkdownRenderer:
    """Renders a growing text, caching the finished blocks.

    A top-level block is finished once a later top-level block has begun on a complete
    line: CommonMark's block structure is decided line by line, so what is appended later
    cannot change it. (Link reference definitions are the exception, as they act on text
    before them; a text that has any is rendered whole each time.)
    """

    def __init__(self, *, dark: bool = False) -> None:
        self._dark = dark
        self._citations: frozenset[int] = frozenset()
        self.reset()

    @property
    def dark(self) -> bool:
        return self._dark

    @property
    def stable_length(self) -> int:
        """How much of the last render's HTML is finished blocks: the rest (its last block)
        may still change as the text grows."""
        return len(self._stable_html)

    @property
    def citations(self) -> frozenset[int]:
        return self._citations

    def set_citations(self, numbers: Collection[int]) -> None:
        """The source numbers whose [n] become links; the finished blocks are rendered again."""
        if frozenset(numbers) != self._citations:
            self._citations = frozenset(numbers)
            self.reset()

    def reset(self) -> None:
        self._stable_text = ""
        self._stable_html = ""
        self._stable_code: list[str] = []

    def render(self, text: str, *, streaming: bool = False) -> RenderedMarkdown:
        """`streaming`: more text is to come, so a code block still open is left plain."""
        text = _normalize(text)
        if not text.startswith(self._stable_text):
            self.reset()
        md = _markdown(self._dark)
        tail = text[len(self._stable_text) :]
        env: dict[str, Any] = {
            "code_blocks": [],
            "code_offset": len(self._stable_code),
            "streaming": streaming,
            "citations": self._citations,
        }
        tokens = md.parse(tail, env)
        if env.get("references"):
            # A definition applies to the text before it too: no block is ever finished.
            self.reset()
            return render_markdown(
                text, dark=self._dark, streaming=streaming, citations=self._citations
            )

        split = _last_finished_boundary(tokens, complete_lines=tail.count("\n"))
        if split is not None:
            index, line = split
            self._stable_html += md.renderer.render(tokens[:index], md.options, env)
            self._stable_code.extend(env["code_blocks"])
            self._stable_text += tail[: _line_offset(tail, line)]
            env["code_blocks"] = []
            env["code_offset"] = len(self._stable_code)
            tokens = tokens[index:]
        tail_html = md.renderer.render(tokens, md.options, env)
        return RenderedMarkdown(
            self._stable_html + tail_html, self._stable_code + env["code_blocks"]
        )


# ---- markdown-it setup ----


def _normalize(text: str) -> str:
    # What markdown-it's own normalize rule does, done first so that line numbers agree.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _last_finished_boundary(tokens: list[Token], complete_lines: int) -> tuple[int, int] | None:
    """(token index, source line) where the last top-level block that began on a complete
    line starts, if a block comes before it; None when nothing is finished yet."""
    starts = [
        (i, token.map[0])
        for i, token in enumerate(tokens)
        if token.level == 0 and token.nesting >= 0 and token.map is not None
    ]
    for i, line in reversed(starts[1:]):
        if line < complete_lines:
            return i, line
    return None


def _line_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    return offset


def _fence_noting_if_open(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """markdown-it's fence rule, which also notes in the token's meta whether the fence is
    still open: no closing fence, and it runs to the end of the text (not closed by the end
    of a list item or quote), so that text streamed next may only add to its code."""
    if not fence(state, start, end, silent):
        return False
    if not silent:
        token = state.tokens[-1]
        at_end = state.line >= len(state.bMarks) - 1  # bMarks has one entry past the last line
        # Without a closing fence, the code is every line after the opening one.
        indent = state.sCount[start]
        unclosed = state.getLines(start + 1, state.line, indent, True) == token.content
        token.meta["open"] = at_end and unclosed
    return True


# Which rules a fence may interrupt (markdown-it's own fence rule has these; `at` drops them).
FENCE_INTERRUPTS = ["paragraph", "reference", "blockquote", "list"]


@cache
def _markdown(dark: bool) -> MarkdownIt:
    theme = DARK if dark else LIGHT
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    # The same chains as the rule it replaces: a fence may end a paragraph, a list item, a quote.
    md.block.ruler.at("fence", _fence_noting_if_open, {"alt": FENCE_INTERRUPTS})
    md.validateLink = is_allowed_link  # type: ignore[method-assign]

    def code(tokens: list[Token], idx: int, env: dict[str, Any], language: str) -> str:
        source = tokens[idx].content
        source = source[:-1] if source.endswith("\n") else source
        index = env["code_offset"] + len(env["code_blocks"])
        env["code_blocks"].append(source)
        label = escapeHtml(language) if language else "&nbsp;"
        copy = (
            f'<a href="{COPY_SCHEME}:{index}" style="font-size:small; color:{theme.link}">Copy</a>'
        )
        if env.get("streaming") and tokens[idx].meta.get("open"):
            # Still growing: plain, under a one-line header, not in a table's cell (Qt lays a
            # whole table out again for each character typed into it, a block for itself).
            # No newline after it: Qt would add it to the code's last line, as a space.
            return (
                f'<p style="margin-top:4px; margin-bottom:0;'
                f' background-color:{theme.header_background}">'
                f'<span style="color:{theme.muted}; font-size:small">{label}</span>'
                f"&nbsp;&nbsp;{copy}</p>"
                f'<pre style="margin-top:0; margin-bottom:0; color:{theme.code_text};'
                f' background-color:{theme.code_background}">{escapeHtml(source)}</pre>'
            )
        return (
            f'<table width="100%" cellspacing="0" cellpadding="6" border="0"'
            f' style="border-collapse:collapse; margin-top:4px; margin-bottom:8px;'
            f' border-color:{theme.border}">'
            f'<tr><td bgcolor="{theme.header_background}">'
            f'<span style="color:{theme.muted}; font-size:small">{label}</span></td>'
            f'<td bgcolor="{theme.header_background}" align="right">{copy}</td></tr>'
            f'<tr><td colspan="2" bgcolor="{theme.code_background}">'
            f'<pre style="margin-top:0; margin-bottom:0; color:{theme.code_text}">'
            f"{_highlighted(source, language, theme)}</pre></td></tr></table>\n"
        )

    def fence(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        info = unescapeAll(tokens[idx].info).strip()
        return code(tokens, idx, env, info.split(maxsplit=1)[0] if info else "")

    def code_block(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        return code(tokens, idx, env, "")

    def code_inline(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        return (
            f'<code style="background-color:{theme.inline_background}">'
            f"{escapeHtml(tokens[idx].content)}</code>"
        )

    def image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        # Never fetched: an answer's image is shown as a link to it.
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        alt = self.renderInlineAsText(token.children or [], options, env) or src
        return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'

    def table_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        return (
            f'<table border="1" cellspacing="0" cellpadding="4"'
            f' style="border-collapse:collapse; border-color:{theme.border};'
            f' margin-top:4px; margin-bottom:8px">\n'
        )

    def cell_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        # QTextBrowser reads the align attribute, not markdown-it's text-align style.
        token = tokens[idx]
        style = str(token.attrGet("style") or "")
        align = style.removeprefix("text-align:") if style.startswith("text-align:") else ""
        attrs = f' align="{escapeHtml(align)}"' if align else ""
        if token.tag == "th":
            attrs += f' bgcolor="{theme.inline_background}"'
        return f"<{token.tag}{attrs}>"

    def blockquote_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        return f'<blockquote style="color:{theme.muted}">\n'

    def text(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        escaped = escapeHtml(tokens[idx].content)
        numbers = env.get("citations")
        if not numbers or _inside_link(tokens, idx):
            return escaped

        def link(match: re.Match[str]) -> str:
            if int(match[1]) not in numbers:
                return match[0]
            return f'<a href="{CITATION_SCHEME}:{match[1]}">{match[0]}</a>'

        return CITATION.sub(link, escaped)

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", code_block)
    md.add_render_rule("code_inline", code_inline)
    md.add_render_rule("image", image)
    md.add_render_rule("table_open", table_open)
    md.add_render_rule("th_open", cell_open)
    md.add_render_rule("td_open", cell_open)
    md.add_render_rule("blockquote_open", blockquote_open)
    md.add_render_rule("text", text)
    return md


def _inside_link(tokens: list[Token], idx: int) -> bool:
    """Whether inline token `idx` is a link's text (a citation there would be a link in one)."""
    depth = 0
    for token in tokens[:idx]:
        depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
    return depth > 0


def _highlighted(source: str, language: str, theme: CodeTheme) -> str:
    lexer = _lexer(language.lower()) if language else None
    if lexer is None:
        return escapeHtml(source)
    return highlight(source, lexer, _formatter(theme.pygments_style))


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    try:
        # Keep the code's own leading and trailing lines: the view shows what Copy copies.
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@cache
def _formatter(style: str) -> HtmlFormatter:
    return HtmlFormatter(nowrap=True, noclasses=True, style=style)
