"""The official `openai` client (sync, async, streaming) against the real server on the
starter model: what it asks, it gets, in the shapes it reads."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import openai
import pytest
from api_server import Served
from pydantic import BaseModel

from desktop.models.installed import InstalledModel

GREEDY = {"temperature": 0, "seed": 7}
HELLO = [{"role": "user", "content": "Say hello to the lighthouse keeper."}]


def test_the_models_are_listed_by_their_lantern_ids(served: Served) -> None:
    client = served.client()
    [model] = client.models.list().data
    assert (model.id, model.object, model.owned_by) == (served.model, "model", "lantern")
    assert model.created > 0
    assert client.models.retrieve(served.model).id == served.model
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_a_greedy_chat_is_the_same_twice_and_streams_as_the_same_answer(served: Served) -> None:
    client = served.client()
    first = client.chat.completions.create(
        model=served.model, messages=HELLO, max_tokens=24, **GREEDY
    )
    again = client.chat.completions.create(
        model=served.model, messages=HELLO, max_tokens=24, **GREEDY
    )
    answer = first.choices[0].message.content
    assert answer and answer == again.choices[0].message.content
    assert first.object == "chat.completion" and first.model == served.model
    assert first.choices[0].message.role == "assistant"
    usage = first.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert again.usage == usage

    stream = client.chat.completions.create(
        model=served.model,
        messages=HELLO,
        max_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
        **GREEDY,
    )
    chunks = list(stream)
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 1, "the answer arrives in several chunks"
    assert "".join(pieces) == answer
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and chunks[0].object == "chat.completion.chunk"
    ending = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert ending[-1] == first.choices[0].finish_reason and not any(ending[:-1])
    last = chunks[-1]
    assert last.choices == [] and last.usage == usage
    assert all(c.usage is None for c in chunks[:-1])


def test_the_async_client_chats_and_streams(served: Served) -> None:
    async def chat() -> tuple[str | None, str]:
        async with served.async_client() as client:
            whole = await client.chat.completions.create(
                model=served.model, messages=HELLO, max_tokens=16, **GREEDY
            )
            stream = await client.chat.completions.create(
                model=served.model, messages=HELLO, max_tokens=16, stream=True, **GREEDY
            )
            streamed = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return whole.choices[0].message.content, "".join(streamed)

    whole, streamed = asyncio.run(chat())
    assert whole and streamed == whole


def test_a_completion_takes_the_prompt_as_it_is(served: Served) -> None:
    client = served.client()
    completion = client.completions.create(
        model=served.model, prompt="1, 2, 3, 4, 5,", max_tokens=6, **GREEDY
    )
    [choice] = completion.choices
    assert completion.object == "text_completion"
    assert choice.text.startswith(" 6, 7")
    assert choice.finish_reason == "length"
    usage = completion.usage
    assert usage is not None and usage.completion_tokens == 6
    assert usage.total_tokens == usage.prompt_tokens + 6

    streamed = client.completions.create(
        model=served.model, prompt="1, 2, 3, 4, 5,", max_tokens=6, stream=True, **GREEDY
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == choice.text


def test_stop_strings_and_max_tokens_end_the_answer(served: Served) -> None:
    client = served.client()
    stopped = client.completions.create(
        model=served.model, prompt="Once upon a time", max_tokens=80, stop=["."], **GREEDY
    )
    [choice] = stopped.choices
    assert choice.finish_reason == "stop" and choice.text and "." not in choice.text
    assert stopped.usage is not None and stopped.usage.completion_tokens < 80

    cut = client.chat.completions.create(model=served.model, messages=HELLO, max_tokens=3, **GREEDY)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 3


def test_each_token_comes_with_its_probability_and_alternatives(served: Served) -> None:
    client = served.client()
    chat = client.chat.completions.create(
        model=served.model, messages=HELLO, max_tokens=8, logprobs=True, top_logprobs=3, **GREEDY
    )
    [choice] = chat.choices
    assert choice.logprobs is not None and choice.logprobs.content is not None
    tokens = choice.logprobs.content
    assert "".join(t.token for t in tokens) == choice.message.content
    assert chat.usage is not None and len(tokens) == chat.usage.completion_tokens
    for token in tokens:
        assert token.logprob <= 0 and token.bytes == list(token.token.encode())
        assert len(token.top_logprobs) == 3
        ranked = [alternative.logprob for alternative in token.top_logprobs]
        assert ranked == sorted(ranked, reverse=True)
        # Greedy: the token taken is the likeliest one.
        assert token.top_logprobs[0].token == token.token

    completion = client.completions.create(
        model=served.model, prompt="Once upon a time", max_tokens=5, logprobs=2, **GREEDY
    )
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None and logprobs.tokens is not None
    assert "".join(logprobs.tokens) == completion.choices[0].text
    assert logprobs.top_logprobs is not None and all(len(t) == 2 for t in logprobs.top_logprobs)
    assert logprobs.text_offset is not None and logprobs.text_offset[0] == 0


def test_json_object_output_is_json(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "Give the name and age of a person as JSON."}],
        max_tokens=120,
        response_format={"type": "json_object"},
        **GREEDY,
    )
    assert answer.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(answer.choices[0].message.content or ""), dict)


class Person(BaseModel):
    name: str
    age: int


def test_json_schema_output_holds_to_the_schema(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "Describe a cat: its name and age."}],
        max_tokens=120,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": Person.model_json_schema()},
        },
        **GREEDY,
    )
    assert answer.choices[0].finish_reason == "stop"
    Person.model_validate_json(answer.choices[0].message.content or "")


def test_embeddings_are_unit_vectors_of_the_models_size(
    served: Served, installed_embedder: InstalledModel
) -> None:
    texts = ["The keeper lit the lamp.", "A ship passed in the night."]
    embedded = served.client().embeddings.create(model=installed_embedder.id, input=texts)
    assert [e.index for e in embedded.data] == [0, 1]
    vectors = np.array([e.embedding for e in embedded.data])
    assert vectors.shape == (2, 384)  # all-MiniLM-L6-v2's
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedded.usage.prompt_tokens > 0
    assert embedded.usage.total_tokens == embedded.usage.prompt_tokens

    # What the clients that ask for base64 get: the same vectors, as little-endian float32.
    with served.http() as http:
        raw = http.post(
            "/v1/embeddings",
            json={"model": installed_embedder.id, "input": texts, "encoding_format": "base64"},
        ).json()
    decoded = [np.frombuffer(base64.b64decode(e["embedding"]), "<f4") for e in raw["data"]]
    assert np.allclose(np.array(decoded), vectors, atol=1e-6)


def test_each_kind_of_model_does_its_own_work(
    served: Served, installed_embedder: InstalledModel
) -> None:
    client = served.client()
    with pytest.raises(openai.BadRequestError, match="embedding model"):
        client.chat.completions.create(model=installed_embedder.id, messages=HELLO)
    with pytest.raises(openai.BadRequestError, match="not an embedding model"):
        client.embeddings.create(model=served.model, input="A lamp.")
    listed = {m.id for m in client.models.list().data}
    assert listed == {served.model, installed_embedder.id}
