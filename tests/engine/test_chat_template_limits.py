"""A model's chat template comes from an untrusted file: rendering it is held to limits of
size, time and memory, and fails with a message for the user (no model needed here)."""

from __future__ import annotations

import signal
import sys
import threading

import pytest
from gguf_template import qwen2_5_template, real_template
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from desktop.engine import chat_template
from desktop.engine.chat_template import ChatTemplate, RenderStopped, TemplateRefused
from desktop.engine.protocol import ToolCallForm

if sys.platform == "linux":
    import resource

CHAT = [{"role": "user", "content": "Hello there"}]

# SmolLM2's own template, as its GGUF carries it.
SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
HUNG_LOOP = (
    "{% set r = range(100000)|list %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
)


def template(source: str, *, time_limit_s: float = 2.0) -> ChatTemplate:
    return ChatTemplate(
        source,
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
        extensions=[Jinja2ChatFormatter.IgnoreGenerationTags],
        tojson=Jinja2ChatFormatter.tojson,
        strftime_now=Jinja2ChatFormatter.strftime_now,
        time_limit_s=time_limit_s,
    )


def test_a_real_template_renders_as_llama_cpp_renders_it() -> None:
    theirs = Jinja2ChatFormatter(SMOLLM2, eos_token="<|im_end|>", bos_token="<|im_start|>")
    chat = [*CHAT, {"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "x"}]
    ours = template(SMOLLM2)(messages=chat)
    assert ours.prompt == theirs(messages=chat).prompt  # type: ignore[arg-type]
    assert ours.stop == ["<|im_end|>"] and ours.added_special


def test_what_the_limits_watch_renders_as_llama_cpp_renders_it() -> None:
    # Concatenation, join, replace, indent and every kind of format, as real templates use
    # them: the checks before each change nothing of the result.
    source = (
        "{% for m in messages %}{{ '<|' ~ m.role ~ '|>' ~ loop.index }}"
        "{{ m.content|replace('Hello', 'Hi')|indent(2, first=True) }}"
        "{{ [m.role, m.content]|join(', ') }}{{ messages|join('/', attribute='role') }}"
        "{{ '%s:%03d' % (m.role, loop.index) }}{{ '%-8s|'|format(m.role) }}"
        "{{ '{}-{:>{}}'.format(m.role, loop.index, 4) }}{{ '{r}!'.format_map({'r': m.role}) }}"
        "{{ m.content.replace('e', 'E', 1) }}{{ '-'.join(['x', m.role]) }}{% endfor %}"
    )
    theirs = Jinja2ChatFormatter(source, eos_token="<|im_end|>", bos_token="<|im_start|>")
    chat = [*CHAT, {"role": "assistant", "content": "Hello\nagain"}]
    assert template(source)(messages=chat).prompt == theirs(messages=chat).prompt  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ('{{ "a" * 10**10 }}', "a text of 10,000,000,000 characters"),
        ("{{ [0] * 10**10 }}", "a text of 10,000,000,000 characters"),
        ('{{ "x"|center(10**10) }}', "passes 10,000,000,000 to the center filter"),
        ('{{ "x".ljust(10**10) }}', "passes 10,000,000,000 to ljust"),
        ("{% for i in range(10**9) %}x{% endfor %}", "passes 1,000,000,000 to range"),
        ('{{ "%1000000000d" % 1 }}', "a width of millions of characters"),
        ('{{ "{:>1000000000}".format(1) }}', "a width of millions of characters"),
        ("{{ 7 ** 100000 }}", "raises 7 to the power 100,000"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls itself without end"),
        ("{% for m in messages %}{{ m.content * 1000000 }}{% endfor %}", "characters"),
        # Each of these builds gigabytes from a few small pieces, whatever the memory.
        (
            '{% set ns = namespace(s="ab") %}{% for i in range(64) %}'
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "a text of 1,048,576 characters",
        ),
        ('{{ (["x" * 100000] * 100000)|join }}', "a text of 10,000,000,000 characters"),
        ('{{ ("a" * 40000)|join("y" * 50000) }}', "a text of 1,999,990,000 characters"),
        ('{{ ("y" * 50000).join("a" * 40000) }}', "a text of 1,999,990,000 characters"),
        ('{{ ("a" * 100000)|replace("a", "b" * 100000) }}', "a text of 10,000,000,000"),
        ('{{ ("a" * 100000).replace("", "b" * 100000) }}', "a text of 10,000,200,000"),
        ('{{ ("\n" * 100000)|indent("x" * 100000, blank=True) }}', "a text of 10,000,200,000"),
        ('{{ "%*d" % (10**9, 1) }}', "passes 1,000,000,000 to a % format"),
        ('{{ ("%999999d" * 2000) % ((1,) * 2000) }}', "a text of 2,000,016,000"),
        ('{{ ("%s" * 2000) % (("x" * 1000000,) * 2000) }}', "a text of 2,000,004,000"),
        ('{{ ("%999999d" * 2000)|format(*((1,) * 2000)) }}', "a text of 2,000,016,000"),
        ('{{ "{:{}}".format(1, "999999999") }}', "a width of millions of characters"),
        ('{{ ("{0:999999}" * 2000).format(1) }}', "characters"),
        ('{{ "{x:{w}}".format_map({"x": 1, "w": "999999999"}) }}', "a width of millions"),
    ],
    ids=[
        "string-times-1e10",
        "list-times-1e10",
        "center",
        "ljust",
        "range",
        "percent-width",
        "format-width",
        "power",
        "recursion",
        "message-times-1e6",
        "tilde-doubling",
        "join-filter",
        "join-filter-separator",
        "str-join",
        "replace-filter",
        "str-replace",
        "indent-filter",
        "percent-star-width",
        "percent-many-widths",
        "percent-many-values",
        "format-filter-many-widths",
        "format-width-from-argument",
        "format-many-fields",
        "format-map-width-from-argument",
    ],
)
def test_a_hostile_template_is_refused_with_the_reason(source: str, why: str) -> None:
    with pytest.raises(TemplateRefused) as refused:
        template(source)(messages=CHAT)
    message = str(refused.value)
    assert message.startswith("This model's chat template could not be rendered: ")
    assert why in message and "another download of the model" in message


def test_a_loop_without_end_is_stopped_by_the_time_limit() -> None:
    # Two nested loops over a list call no hook at all: only the watchdog ends them.
    with pytest.raises(TemplateRefused, match=r"took longer than 0\.3 seconds"):
        template(HUNG_LOOP, time_limit_s=0.3)(messages=CHAT)
    assert template(SMOLLM2)(messages=CHAT).prompt  # the next render is unaffected


def test_stop_ends_a_render_that_would_never_end() -> None:
    asked = {"stop": False}

    def stop_after_a_while() -> bool:
        asked["stop"] = True  # the first look of the watchdog says: stop
        return True

    with pytest.raises(RenderStopped):
        template(HUNG_LOOP, time_limit_s=600)(messages=CHAT, should_stop=stop_after_a_while)
    assert asked["stop"]


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_DATA is Linux's")
def test_an_allocation_no_rule_foresaw_hits_the_memory_ceiling() -> None:
    # 40,000 tabs of 50,000 spaces = 2 GB of text from a small string: past the 512 MB ceiling.
    with pytest.raises(TemplateRefused, match="more memory than a chat template may use"):
        template('{{ ("\t" * 40000).expandtabs(50000) }}')(messages=CHAT)


def test_the_templates_own_refusal_names_what_is_wrong_with_the_conversation() -> None:
    source = "{{ raise_exception('Conversation roles must alternate user/assistant') }}"
    with pytest.raises(TemplateRefused) as refused:
        template(source)(messages=CHAT)
    assert str(refused.value) == (
        "This model's chat template does not accept this conversation: "
        "Conversation roles must alternate user/assistant"
    )


def test_a_template_that_cannot_be_read_fails_at_load_with_the_reason() -> None:
    with pytest.raises(TemplateRefused, match="could not be read: TemplateSyntaxError"):
        template("{% for m in messages %}")


def test_a_template_is_not_folded_into_gigabytes_while_it_compiles() -> None:
    # Jinja's optimizer would compute the constant (10 GB) while compiling, before any limit.
    compiled = template('{% if false %}{{ "a" * 10**10 }}{% endif %}ok')
    assert compiled(messages=CHAT).prompt == "ok"


def test_a_timed_out_render_leaves_no_watchdog_handler_or_memory_limit_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A watchdog that looks as often as it can: were it to interrupt more than once, the
    # second interrupt would land while the first unwinds, in the code that restores these.
    monkeypatch.setattr(chat_template, "WATCH_INTERVAL_S", 0.0)
    handler = signal.getsignal(signal.SIGINT)
    memory_limit = resource.getrlimit(resource.RLIMIT_DATA) if sys.platform == "linux" else None
    for _ in range(20):
        with pytest.raises(TemplateRefused, match="took longer than"):
            template(HUNG_LOOP, time_limit_s=0.05)(messages=CHAT)
        assert signal.getsignal(signal.SIGINT) is handler
        if memory_limit is not None:
            assert resource.getrlimit(resource.RLIMIT_DATA) == memory_limit
        assert not [t for t in threading.enumerate() if t.name == "template-watchdog"]


# A template with a place for tools, as function-calling models' templates have (Qwen's,
# Llama 3.1's, Hermes'...): the tools are written into the system turn.
TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nYou may call: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    + SMOLLM2
)


def test_a_template_says_whether_it_takes_tools() -> None:
    assert template(TOOLS_TEMPLATE).takes_tools
    assert not template(SMOLLM2).takes_tools
    # A name that merely holds the word is not the variable.
    assert not template("{{ 'tools' }}{% set toolset = 1 %}" + SMOLLM2).takes_tools


@pytest.mark.parametrize(
    ("model", "form"),
    [
        ("qwen2_5_instruct", "hermes"),
        ("llama3_1_instruct", "llama3"),  # and 3.3, the same template
        ("llama3_2_instruct", "llama3"),
        ("mistral_nemo_instruct", "mistral"),
        ("mistral_small_3_2_instruct", "mistral_args"),  # [CALL_ID] before [ARGS]
        ("devstral_small", "mistral_args"),
        # Forms Lantern does not read, in templates that write what others' teach: the
        # ipython role of Llama 3.1 (Functionary), Hermes' tags (GLM, Apriel).
        ("functionary_medium_v3_1", None),
        ("glm_4_6", None),
        ("apriel_1_5", None),
    ],
)
def test_a_real_template_that_takes_tools_says_in_which_form_it_has_calls_written(
    model: str, form: ToolCallForm | None
) -> None:
    told = template(real_template(model))
    assert told.takes_tools and told.tool_call_form == form


def test_a_template_that_teaches_no_form_lantern_reads_says_none() -> None:
    # One that writes the tools but teaches no form Lantern reads, or none at all.
    assert template(TOOLS_TEMPLATE).tool_call_form is None
    assert template(SMOLLM2).tool_call_form is None
    # Qwen3-Coder's: XML between the same tags.
    xml_calls = "{% if tools %}<tool_call>\n<function=name>{% endif %}" + SMOLLM2
    assert template(xml_calls).takes_tools and template(xml_calls).tool_call_form is None


def test_the_tools_and_a_turn_of_calls_are_rendered_within_the_limits() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    turn = [
        *CHAT,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "42"},
    ]
    prompt = template(qwen2_5_template())(messages=turn, tools=[tool]).prompt
    assert '{"type": "function", "function": {"name": "f"' in prompt
    assert '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>' in prompt
    assert prompt.endswith(
        "<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    )
