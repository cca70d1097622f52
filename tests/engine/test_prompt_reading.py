"""The engine reads a prompt in batches, looking for Stop between them: the answers are the
ones llama-cpp-python's own generate() gives, which reads a prompt in one go."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from desktop.engine.client import EngineClient
from desktop.engine.protocol import GenerationRequest, Sampling
from desktop.models.installed import InstalledModel

pytestmark = pytest.mark.engine

CONTEXT = 2048
SEED = 3
SAMPLING = Sampling(max_tokens=24, seed=SEED)
# One thread on both sides: results that do not hang on the machine's load.
THREADS = 1
# Three batches of the prompt, and a short one.
LONG = "<|im_start|>user\n" + "The keeper lit the lamp. " * 200 + "Why?<|im_end|>\n"
SHORT = "<|im_start|>user\nTell me about lighthouses.<|im_end|>\n"
ANSWER = "<|im_start|>assistant\n"


def _as_llama_cpp_answers(model: Path, prompts: list[str]) -> list[str]:
    """The answers of llama-cpp-python's generate() to `prompts` in turn (each reusing what
    the one before left in the cache), with the sampling and the ending the engine uses."""
    llm = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=CONTEXT,
        n_threads=THREADS,
        n_threads_batch=THREADS,
        verbose=False,
    )
    answers = []
    try:
        for prompt in prompts:
            llm.set_seed(SEED)
            generated: list[int] = []
            for token in llm.generate(
                llm.tokenize(prompt.encode(), add_bos=True, special=True),
                temp=SAMPLING.temperature,
                top_k=SAMPLING.top_k,
                top_p=SAMPLING.top_p,
                min_p=SAMPLING.min_p,
                typical_p=SAMPLING.typical_p,
                repeat_penalty=SAMPLING.repeat_penalty,
            ):
                if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                    break
                generated.append(token)
                if len(generated) == SAMPLING.max_tokens:
                    break
            answers.append(llm.detokenize(generated).decode(errors="replace"))
    finally:
        llm.close()
    return answers


@pytest.mark.parametrize("first", [SHORT, LONG], ids=["short-then-long", "long-then-longer"])
def test_the_answers_are_llama_cpp_pythons_own(
    tmp_path: Path, installed_starter: InstalledModel, first: str
) -> None:
    # The second prompt starts as the first: read from the first's cache, in batches after it.
    prompts = [first + ANSWER, first + SHORT + ANSWER]
    answers = []
    with EngineClient(tmp_path / "engine.log") as engine:
        engine.load(installed_starter.path, context_length=CONTEXT, threads=THREADS)
        for prompt in prompts:
            with engine.generate(
                GenerationRequest(prompt=prompt, sampling=SAMPLING, threads=THREADS)
            ) as stream:
                answers.append("".join(stream))
    assert stream.finished is not None and stream.finished.stats.cached_prompt_tokens > 10
    assert all(answers)
    assert answers == _as_llama_cpp_answers(installed_starter.path, prompts)
