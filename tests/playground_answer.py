"""The Playground's answer to a prompt, run through its service as the page runs it: what
the tests of Copy as code's scripts compare the scripts' output with."""

from __future__ import annotations

from desktop.services.app import Lantern
from desktop.services.playground import LaneRequest
from desktop.services.playground_parameters import PlaygroundParameters, PlaygroundPrompt


def playground_answer(
    lantern: Lantern, prompt: PlaygroundPrompt, parameters: PlaygroundParameters
) -> str:
    """The answer of the first installed model, on one side."""
    model = lantern.models.list()[0]
    [run] = lantern.playground.start(prompt, [LaneRequest(model.id, parameters)])
    for _progress in run:
        pass
    assert run.status == "complete"
    return run.output
