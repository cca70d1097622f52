"""Copy as code, run for real against `lantern serve`: the OpenAI-client script the Playground
writes, with the key `lantern serve` prints in LANTERN_API_KEY (as a user sets it), prints
the answer the Playground gives for the same prompt and settings, greedy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lantern_serve_process import LanternServe
from playground_answer import playground_answer

from desktop.engine.protocol import ChatMessage, OutputConstraint, Sampling
from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern
from desktop.services.playground_parameters import PlaygroundParameters, PlaygroundPrompt
from desktop.tasks.code_export import KEY_VARIABLE, CodeRequest, openai_client_code

pytestmark = pytest.mark.engine

GREEDY = Sampling(max_tokens=16, temperature=0.0, seed=5, stop=("\n\n",))
QUESTION = (ChatMessage("user", "Name a colour of the sky."),)
COLOUR = OutputConstraint(
    "json_schema",
    '{"type": "object", "properties": {"colour": {"type": "string", "maxLength": 12}}, '
    '"required": ["colour"]}',
)
PROMPTS = [
    (PlaygroundPrompt("raw", prompt="The capital of France is"), None),
    (PlaygroundPrompt("chat", messages=QUESTION), None),
    (PlaygroundPrompt("chat", messages=QUESTION), COLOUR),
]


def script_output(code: str, key: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, KEY_VARIABLE: key},
    )
    return done.stdout.removesuffix("\n")


def test_the_openai_script_prints_the_playground_s_greedy_answer(
    lantern: Lantern, installed_starter: InstalledModel, file_keyring: Path
) -> None:
    with LanternServe() as server:  # the keyring's key, as it prints it
        printed = []
        for prompt, constraint in PROMPTS:
            request = CodeRequest(
                model_path=str(installed_starter.path),
                model_name=installed_starter.id,
                prompt=prompt.prompt if prompt.mode == "raw" else None,
                messages=prompt.messages,
                sampling=GREEDY,
                constraint=constraint,
                server_url=server.url,
            )
            printed.append(script_output(openai_client_code(request), server.key))
    for (prompt, constraint), output in zip(PROMPTS, printed, strict=True):
        parameters = PlaygroundParameters(GREEDY, constraint, 0)
        assert output == playground_answer(lantern, prompt, parameters)
    assert all(printed) and list(json.loads(printed[2])) == ["colour"]  # held to the schema
