"""Few-shot prompts: worked examples put before the real input, as raw text or as chat turns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from desktop.engine.protocol import ChatMessage


@dataclass(frozen=True)
class Example:
    input: str
    output: str


@dataclass(frozen=True)
class ExampleLabels:
    """The words that introduce each input and output in a raw few-shot prompt."""

    input: str = "Input"
    output: str = "Output"


DEFAULT_LABELS = ExampleLabels()


def _filled(examples: Sequence[Example]) -> list[Example]:
    """The examples the user wrote something in; empty rows of the editor are left out."""
    return [ex for ex in examples if ex.input.strip() or ex.output.strip()]


def raw_few_shot(
    prompt: str, examples: Sequence[Example], labels: ExampleLabels = DEFAULT_LABELS
) -> str:
    """The examples as "Input: …\\nOutput: …" blocks, then the prompt as the open input.

    Without examples the prompt is returned as it is (zero-shot). The text ends on
    "Output:" with no space, so the model writes the space token itself, as it did after
    every other "Output:" in the text.
    """
    filled = _filled(examples)
    if not filled:
        return prompt
    # Stripped, so a stray newline from a text box does not break the pattern the model copies.
    blocks = [
        f"{labels.input}: {ex.input.strip()}\n{labels.output}: {ex.output.strip()}" for ex in filled
    ]
    blocks.append(f"{labels.input}: {prompt.strip()}\n{labels.output}:")
    return "\n\n".join(blocks)


def chat_few_shot(system: str, prompt: str, examples: Sequence[Example]) -> tuple[ChatMessage, ...]:
    """The system message (when there is one), each example as a user turn answered by an
    assistant turn, then the prompt as the last user turn."""
    messages = [ChatMessage("system", system)] if system.strip() else []
    for ex in _filled(examples):
        messages += [ChatMessage("user", ex.input), ChatMessage("assistant", ex.output)]
    messages.append(ChatMessage("user", prompt))
    return tuple(messages)
