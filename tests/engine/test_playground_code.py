"""Copy as code, run for real: the llama-cpp-python script the Playground writes for a greedy
run loads the same model, makes the same request, and prints the answer Lantern gave."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playground_answer import playground_answer

from desktop.engine.protocol import ChatMessage, OutputConstraint, Sampling
from desktop.services.app import Lantern
from desktop.services.playground_parameters import PlaygroundParameters, PlaygroundPrompt
from desktop.tasks.code_export import CodeRequest, llama_cpp_python_code

pytestmark = pytest.mark.engine

GREEDY = Sampling(max_tokens=12, temperature=0.0, seed=5, stop=("\n\n",))


def script_answer(lantern: Lantern, request: CodeRequest) -> str:
    done = subprocess.run(
        [sys.executable, "-c", llama_cpp_python_code(request)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.removesuffix("\n")


@pytest.mark.parametrize("alternatives", [0, 3], ids=["text", "logprobs"])
def test_the_llama_cpp_python_script_gives_lantern_s_greedy_answer(
    lantern: Lantern, alternatives: int
) -> None:
    model = lantern.models.list()[0]
    prompt = PlaygroundPrompt("raw", prompt="The capital of France is")
    parameters = PlaygroundParameters(GREEDY, None, alternatives)
    request = CodeRequest(
        model_path=str(model.path),
        model_name=model.id,
        prompt=prompt.prompt,
        sampling=GREEDY,
        logprobs=alternatives,
        context_length=2048,
    )
    assert script_answer(lantern, request) == playground_answer(lantern, prompt, parameters)


def test_the_chat_script_with_a_grammar_gives_lantern_s_answer(lantern: Lantern) -> None:
    model = lantern.models.list()[0]
    messages = (ChatMessage("user", "Is water wet? Answer yes or no."),)
    grammar = OutputConstraint("grammar", 'root ::= "yes" | "no"')
    prompt = PlaygroundPrompt("chat", messages=messages)
    request = CodeRequest(
        model_path=str(model.path),
        model_name=model.id,
        prompt=None,
        messages=messages,
        sampling=GREEDY,
        constraint=grammar,
        context_length=2048,
    )
    answer = playground_answer(lantern, prompt, PlaygroundParameters(GREEDY, grammar, 0))
    assert answer in ("yes", "no")
    assert script_answer(lantern, request) == answer
