"""A model's own chat template (Jinja, read from the GGUF header: untrusted) rendered with
limits, so that a hostile or broken template fails with a message instead of taking the
engine, or the machine, down.

Jinja's sandbox keeps a template away from Python's internals, but not from time and memory:
`{{ "a" * 10**10 }}` asks for 10 GB (at compile time, even: Jinja folds constants), and two
nested loops over a 100,000-item list never end. Here every render and compile:
- runs in a sandbox that refuses, before building it, a text past the output allowance
  (from repetition, `+` and `~`, join, replace, indent, `%` and str.format), a power past
  4096 bits, a number past LARGEST_NUMBER handed to a function, filter or `%` format, and a
  format width of millions (no memory ceiling needed: these hold on every system);
- ends after RENDER_TIME_LIMIT_S, or as soon as the request is stopped: the hooks above
  check, and a watchdog interrupts the main thread for loops that call no hook;
- on Linux runs under an RLIMIT_DATA ceiling of what the process holds now plus
  RENDER_MEMORY_BYTES (RLIMIT_AS would break the model's memory map), so that an
  allocation no rule above foresaw is a MemoryError, not a machine out of memory.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import math
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.ext
import jinja2.meta
from jinja2 import nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import soft_str

from desktop.engine.protocol import (
    HERMES_CALL_OPENING,
    MISTRAL_ARGS,
    MISTRAL_TOOL_CALLS,
    ToolCallForm,
)

# A real template renders a chat in milliseconds; seconds mean a loop without end.
RENDER_TIME_LIMIT_S = 2.0
# Far above what a real template needs (the prompt is a few times the chat), far below what
# hurts a machine that runs language models.
RENDER_MEMORY_BYTES = 512 * 2**20
# Output allowed beyond four times the chat and the template themselves, in characters.
OUTPUT_ALLOWANCE_CHARS = 1_000_000
# No real template hands a function or filter a count this large (widths, repeats, indents).
LARGEST_NUMBER = 1_000_000
# How often the watchdog looks at the clock and at Stop.
WATCH_INTERVAL_S = 0.05

_HUGE_WIDTH = re.compile(r"\d{7,}")  # a width or precision of millions in a format string


class TemplateRefused(Exception):
    """The template cannot be compiled or rendered; the message is for the user."""


class RenderStopped(Exception):
    """The request was stopped while its template was rendering."""


@dataclass(frozen=True)
class RenderedPrompt:
    """What llama-cpp-python's ChatFormatterResponse holds, as the worker uses it."""

    prompt: str
    stop: list[str]
    added_special: bool = True


class _Refused(Exception):
    """A limit the template went past; the message says which."""


class _TimeUp(BaseException):
    """Raised into the render by a hook or the watchdog (time limit or Stop); not an
    Exception, so that no `except Exception` on the way swallows it."""


class _ConversationRefused(Exception):
    """The template's own raise_exception(): it refuses this conversation (roles, say)."""


@dataclass
class _Watch:
    """The limits of one compile or render."""

    deadline: float
    char_limit: int
    should_stop: Callable[[], bool]
    timed_out: bool = field(default=False)
    fired: bool = field(default=False)  # _TimeUp raised: the render is ending

    def should_end(self) -> bool:
        if time.monotonic() > self.deadline:
            self.timed_out = True
        return self.timed_out or self.should_stop()

    def check(self) -> None:
        if self.should_end():
            self.fired = True
            raise _TimeUp


def _never() -> bool:
    return False


class _SizedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to a call of the sandbox, which checks the text's size before it is
    built: Jinja joins it inline, and `{% set ns.s = ns.s ~ ns.s %}` doubles it each time."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.tilde_join(context, (")
        for operand in node.nodes:
            self.visit(operand, frame)
            self.write(", ")
        self.write("))")


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _SizedCodeGenerator

    def __init__(self, extensions: Sequence[type[jinja2.ext.Extension]]) -> None:
        # As llama-cpp-python's Jinja2ChatFormatter, but without the optimizer: constant
        # folding would run `"a" * 10**10` while compiling, before any limit applies.
        super().__init__(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[*extensions, jinja2.ext.loopcontrols],
            optimized=False,
        )
        self.watch = _Watch(math.inf, OUTPUT_ALLOWANCE_CHARS, _never)
        self.filters.update(self._sized_filters())
        self.filters = {name: self._bounded(name, f) for name, f in self.filters.items()}

    def _bounded(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def bounded_filter(*args: Any, **kwargs: Any) -> Any:
            self.watch.check()
            _check_numbers(f"the {name} filter", args, kwargs)
            return function(*args, **kwargs)

        # Jinja reads how to call a filter (pass the context, the environment...) from it.
        bounded_filter.__dict__.update(getattr(function, "__dict__", {}))
        return bounded_filter

    def _sized_filters(self) -> dict[str, Callable[..., Any]]:
        """The filters whose text can be far longer than what they are given, each checking
        the length of its result before building it."""
        join, replace, indent, percent = (
            self.filters[name] for name in ("join", "replace", "indent", "format")
        )

        @pass_eval_context
        def sized_join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
            if attribute is not None:
                value = map(make_attrgetter(eval_ctx.environment, attribute), value)
            items = list(value)
            self._check_size(_joined_size(d, items))
            return join(eval_ctx, items, d)

        @pass_eval_context
        def sized_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
            self._check_size(_replaced_size(s, old, new, count))
            return replace(eval_ctx, s, old, new, count)

        def sized_indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> Any:
            text = str(s)
            indention = (
                len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            )
            lines = text.count("\n") + 1
            self._check_size(len(text) + lines * max(indention, 0))
            return indent(s, width, first, blank)

        def sized_format(value: Any, *args: Any, **kwargs: Any) -> Any:
            self._check_percent_format("the format filter", str(value), kwargs or args)
            return percent(value, *args, **kwargs)

        return {
            "join": sized_join,
            "replace": sized_replace,
            "indent": sized_indent,
            "format": sized_format,
        }

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.watch.check()
        if operator == "*":
            self._check_repetition(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+":
            self._check_size(_length(left) + _length(right))
        elif operator == "%" and isinstance(left, str):
            self._check_percent_format("a % format", left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.watch.check()
        name = getattr(__obj, "__name__", "a function")
        _check_numbers(_CALLABLE_NAMES.get(name, name), args, kwargs)
        # The sandbox hands out str.format wrapped; the string is the wrapped method's own.
        text = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(text, str):
            args = __self._check_str_method(text, name, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def _check_str_method(
        self, text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, ...]:
        """Refuse `text.name(*args, **kwargs)` whose result would be too long, before it is
        built; the arguments to call it with (what join joins is read here, once)."""
        if name == "join" and len(args) == 1 and not kwargs:
            items = list(args[0])
            self._check_size(_joined_size(text, items))
            return (items,)
        if name == "replace" and len(args) in (2, 3) and not kwargs:
            self._check_size(_replaced_size(text, *args))
        elif name == "format":
            _SizedFormatter(self).vformat(text, args, kwargs)
        elif name == "format_map" and len(args) == 1 and not kwargs:
            _SizedFormatter(self).vformat(text, (), args[0])
        return args

    def tilde_join(self, context: Any, operands: tuple[Any, ...]) -> str:
        """`a ~ b ~ c`, as Jinja joins it, once its length is known to be within limits."""
        self.watch.check()
        texts = [soft_str(operand) for operand in operands]
        self._check_size(sum(len(text) for text in texts))
        return markup_join(texts) if context.eval_ctx.autoescape else str_join(texts)

    def concat(self, pieces: Iterable[str]) -> str:
        """Every output, of the template and of each macro or block, piece by piece."""
        parts, total = [], 0
        for piece in pieces:
            total += len(piece)
            self._check_size(total)
            self.watch.check()
            parts.append(piece)
        return "".join(parts)

    def _check_percent_format(self, what: str, text: str, values: Any) -> None:
        """`text % values`: the widths and the values it is given add up to the length of
        the result, at most (a `*` width takes a number of the values)."""
        _check_format_width(text)
        if isinstance(values, dict):
            values = tuple(values.values())
        elif not isinstance(values, tuple):
            values = (values,)
        _check_numbers(what, values, {})
        widths = sum(
            int(width or 0) + int(precision or 0)
            for width, precision in _PERCENT_FIELD.findall(text)
        )
        if "*" in text:
            widths += sum(abs(v) for v in values if isinstance(v, int))
        self._check_size(len(text) + widths + sum(_text_length(v) for v in values))

    def _check_repetition(self, left: Any, right: Any) -> None:
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                self._check_size(len(sequence) * times)

    def _check_size(self, size: int) -> None:
        if size > self.watch.char_limit:
            raise _Refused(
                f"it builds a text of {size:,} characters, more than the "
                f"{self.watch.char_limit:,} a prompt may have"
            )


class _SizedFormatter(SandboxedFormatter):
    """str.format as the sandbox runs it, checking each field's width once it is known (it
    may come from an argument: `"{:{}}".format(x, "999999999")`) and the text's length as it
    grows. Run first, to check; Jinja's own formatter then makes the result."""

    def __init__(self, sandbox: _BoundedSandbox) -> None:
        super().__init__(sandbox)
        self._sandbox = sandbox
        self._length = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_width(format_spec)
        text = super().format_field(value, format_spec)
        self._length += len(text)
        self._sandbox._check_size(self._length)
        return text


_CALLABLE_NAMES = {"safe_range": "range"}
# One %-conversion: its width and precision.
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\d*)(?:\.(\d*))?")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _text_length(value: Any) -> int:
    """The length of `value` written out by %s (near enough for %r: a limit, not a count)."""
    return len(value) if isinstance(value, str) else len(repr(value))


def _joined_size(separator: Any, items: list[Any]) -> int:
    return len(str(separator)) * max(len(items) - 1, 0) + sum(len(str(item)) for item in items)


def _replaced_size(text: Any, old: Any, new: Any, count: Any = None) -> int:
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _check_numbers(what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST_NUMBER:
            raise _Refused(
                f"it passes {value:,} to {what}, more than the {LARGEST_NUMBER:,} allowed"
            )


def _check_format_width(text: str) -> None:
    if _HUGE_WIDTH.search(text):
        raise _Refused("its format string asks for a width of millions of characters")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        bits = exponent * math.log2(abs(base))
        if bits > 4096:  # far past any number a template needs; the result could take minutes
            raise _Refused(f"it raises {base} to the power {exponent:,}")


class ChatTemplate:
    """The model's template, compiled once (under the limits) and rendered per request."""

    def __init__(
        self,
        source: str,
        *,
        eos_token: str,
        bos_token: str,
        extensions: Sequence[type[jinja2.ext.Extension]] = (),
        tojson: Callable[..., str] | None = None,
        strftime_now: Callable[[str], str] | None = None,
        time_limit_s: float = RENDER_TIME_LIMIT_S,
    ) -> None:
        self._eos_token = eos_token
        self._bos_token = bos_token
        self._strftime_now = strftime_now
        self._time_limit_s = time_limit_s
        self._environment = _BoundedSandbox(extensions)
        if tojson is not None:
            self._environment.filters["tojson"] = self._environment._bounded("tojson", tojson)
        try:
            self._template = self._limited(
                lambda: self._environment.from_string(source), len(source), _never
            )
        except TemplateRefused as exc:
            raise TemplateRefused(
                _advice(f"This model's chat template could not be read: {exc}")
            ) from None
        # Parsed again (it compiled: it parses), for the names it reads.
        self.takes_tools = _reads_tools(self._environment, source)
        self.tool_call_form = _tool_call_form(source) if self.takes_tools else None

    def __call__(
        self,
        *,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        should_stop: Callable[[], bool] = _never,
    ) -> RenderedPrompt:
        """The chat as the template writes it, with the `tools` the model may call (OpenAI's
        JSON form) where given. RenderStopped when `should_stop()` turns true."""

        def raise_exception(message: str) -> None:
            raise _ConversationRefused(message)

        def render() -> str:
            return self._template.render(
                messages=messages,
                eos_token=self._eos_token,
                bos_token=self._bos_token,
                raise_exception=raise_exception,
                add_generation_prompt=True,
                functions=None,
                function_call=None,
                tools=tools or None,
                # Templates that read it only mention it; Lantern holds the output to the
                # call itself (an output constraint).
                tool_choice=None,
                strftime_now=self._strftime_now,
            )

        # What the template is given, all of it (the tools' schemas and the calls too): the
        # prompt's allowance grows with it.
        chat_chars = len(json.dumps([messages, tools], ensure_ascii=False))
        try:
            prompt = self._limited(render, chat_chars, should_stop)
        except _ConversationRefused as exc:
            raise TemplateRefused(
                f"This model's chat template does not accept this conversation: {exc}"
            ) from None
        except TemplateRefused as exc:
            raise TemplateRefused(
                _advice(f"This model's chat template could not be rendered: {exc}")
            ) from None
        return RenderedPrompt(prompt, [self._eos_token])

    def _limited(self, work: Callable[[], Any], input_chars: int, should_stop: Any) -> Any:
        """`work()` under the time, Stop, size and memory limits; TemplateRefused past one."""
        watch = _Watch(
            deadline=time.monotonic() + self._time_limit_s,
            char_limit=4 * (input_chars + self._eos_and_bos_chars()) + OUTPUT_ALLOWANCE_CHARS,
            should_stop=should_stop,
        )
        self._environment.watch = watch
        try:
            with _memory_ceiling(RENDER_MEMORY_BYTES), _interrupted_when(watch):
                return work()
        except _TimeUp:
            if not watch.timed_out and should_stop():
                raise RenderStopped from None
            raise TemplateRefused(
                f"it took longer than {self._time_limit_s:g} seconds (a loop without end?)"
            ) from None
        except _Refused as exc:
            raise TemplateRefused(str(exc)) from None
        except _ConversationRefused:
            raise
        except MemoryError:
            raise TemplateRefused("it needs more memory than a chat template may use") from None
        except RecursionError:
            raise TemplateRefused("it calls itself without end") from None
        except Exception as exc:  # Jinja's own errors: syntax, undefined names, the sandbox
            raise TemplateRefused(f"{type(exc).__name__}: {exc}") from None
        finally:
            self._environment.watch = _Watch(math.inf, OUTPUT_ALLOWANCE_CHARS, _never)

    def _eos_and_bos_chars(self) -> int:
        return len(self._eos_token) + len(self._bos_token)


def _reads_tools(environment: jinja2.Environment, source: str) -> bool:
    """Whether the template reads `tools` (where function calling puts the tools offered):
    from its syntax tree, which parsing builds without running or folding anything."""
    return "tools" in jinja2.meta.find_undeclared_variables(environment.parse(source))


# Written only by templates that teach a form of call Lantern does not read.
_UNREAD_CALL_FORMS = ("<function=", "<arg_key>", "<tool_calls>")


def _tool_call_form(source: str) -> ToolCallForm | None:
    """The form of tool call the template teaches its model, where it is one that
    tasks/tool_call_forms.py reads; told apart by what only that form's templates write, as
    llama.cpp tells them apart:
    - "hermes": JSON between <tool_call> tags (Qwen's templates, Hermes', their kin's);
    - "llama3": Llama 3.1 to 3.3's, which give results back in the ipython role and teach
      `{"name": ..., "parameters": ...}`;
    - "mistral": [TOOL_CALLS] before a JSON list of calls; "mistral_args": [TOOL_CALLS]
      before each call's name, and [ARGS] before its arguments.
    Calls in other forms are not read, whatever else the template writes: XML between
    <tool_call> tags (Qwen3-Coder's `<function=name>`, GLM's `<arg_key>`), Functionary 3.1's
    `<function=name>` (a Llama 3.1 with ipython), Apriel's list between <tool_calls> tags."""
    if any(other in source for other in _UNREAD_CALL_FORMS):
        return None
    if HERMES_CALL_OPENING in source:
        return "hermes"
    if "<|start_header_id|>ipython<|end_header_id|>" in source and '"parameters"' in source:
        return "llama3"
    if MISTRAL_TOOL_CALLS in source:
        return "mistral_args" if MISTRAL_ARGS in source else "mistral"
    return None


def _advice(message: str) -> str:
    return (
        f"{message}. The model file's template is broken or hostile; use another download "
        "of the model, or another model."
    )


@contextlib.contextmanager
def _memory_ceiling(extra_bytes: int) -> Iterator[None]:
    """On Linux, allocations past what the process holds now plus `extra_bytes` fail with
    MemoryError meanwhile. RLIMIT_DATA counts the heap and anonymous maps, not the model's
    file map. Other systems have no such limit that spares the map; the rules apply there."""
    if sys.platform != "linux":
        yield
        return
    import resource

    import psutil

    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = psutil.Process().memory_info().data + extra_bytes
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    if soft != resource.RLIM_INFINITY and soft <= ceiling:
        yield  # already tighter
        return
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@contextlib.contextmanager
def _interrupted_when(watch: _Watch) -> Iterator[None]:
    """A watchdog that interrupts the main thread once `watch` says to end: a loop that
    calls no hook (`{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}`) ends too.
    The engine ignores the terminal's Ctrl+C; this handler acts only for the watchdog."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; the hooks still check
        return
    done = threading.Event()

    # One raise only, by the hooks or by this: a second one could land while the first
    # unwinds, in the code below (or in _memory_ceiling) that puts things back.
    def on_interrupt(signum: int, frame: Any) -> None:
        if not done.is_set() and not watch.fired and watch.should_end():
            watch.fired = True
            raise _TimeUp

    def watch_the_render() -> None:
        while not done.wait(WATCH_INTERVAL_S):
            if watch.should_end():
                _thread.interrupt_main(signal.SIGINT)
                return

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        watchdog = threading.Thread(target=watch_the_render, name="template-watchdog", daemon=True)
        watchdog.start()
        try:
            yield
        finally:
            done.set()
            watchdog.join()
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
