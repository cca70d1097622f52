"""GGUF headers held to llama.cpp's own limits (ggml/src/gguf.cpp, src/llama-hparams.h):
what llama.cpp would refuse at load time is refused at import, with a message that names the
field and the limit, and nothing is installed; every count is checked before a loop runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from gguf import GGMLQuantizationType, GGUFValueType
from gguf_bytes import (
    LLAMA_SHAPE,
    array_key,
    gguf_header,
    key_value,
    small_llama,
    tensor_entry,
    write_file,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.errors import InvalidModelFile
from desktop.models.fit import MachineMemory, fit_estimate
from desktop.models.gguf_header import (
    FIRST_READ,
    LOCAL_HEADER_LIMIT,
    REMOTE_HEADER_LIMIT,
    HeaderIncomplete,
    HeaderInvalid,
    parse_gguf_header,
    read_gguf_header,
)
from desktop.models.gguf_info import gguf_info_from_header, read_gguf_info
from desktop.models.installed import ModelLibrary
from desktop.paths import app_paths

U32, U64, STRING = GGUFValueType.UINT32, GGUFValueType.UINT64, GGUFValueType.STRING
Q4_0 = GGMLQuantizationType.Q4_0

# Each a header llama.cpp's gguf_init_from_reader refuses, and the words that say why.
HOSTILE_HEADERS = [
    pytest.param(
        gguf_header([], [tensor_entry("t", [1] * 200_000)]),
        "its tensor 't' has 200,000 dimensions; llama.cpp allows at most 4",
        id="200,000 dimensions",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [1, 1, 1, 1, 1])]),
        "has 5 dimensions; llama.cpp allows at most 4 (GGML_MAX_DIMS)",
        id="5 dimensions",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [2**63, 1])]),
        "has a dimension of 9,223,372,036,854,775,808; llama.cpp allows at most "
        "9,223,372,036,854,775,807",
        id="a dimension of 2**63",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [2**32, 2**31, 2])]),
        "has 18,446,744,073,709,551,616 elements; llama.cpp counts at most",
        id="elements past INT64",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [2**62])]),
        "takes more than 18,446,744,073,709,551,615 bytes (SIZE_MAX)",
        id="bytes past SIZE_MAX",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [33], Q4_0)]),
        "rows of 33 values, not a whole number of Q4_0 blocks of 32",
        id="rows not in whole blocks",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [4], kind=4)]),
        "its tensor 't' has an unknown type (4)",
        id="a removed tensor type",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("x" * 64, [4])]),
        "a tensor name is 64 bytes long; llama.cpp allows at most 63 (GGML_MAX_NAME)",
        id="a tensor name too long",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("t", [4]), tensor_entry("t", [4], offset=32)]),
        "its tensor 't' appears twice",
        id="a tensor twice",
    ),
    pytest.param(
        gguf_header([], [tensor_entry("a", [4]), tensor_entry("b", [4], offset=16)]),
        "its tensor 'b' starts at byte 16 of the data, where llama.cpp expects byte 32",
        id="tensors overlapping",
    ),
    pytest.param(
        gguf_header([key_value("general.alignment", U32, 48)]),
        "'general.alignment' is 48; llama.cpp needs a power of two",
        id="alignment 48",
    ),
    pytest.param(
        gguf_header([key_value("general.alignment", U32, 0)]),
        "'general.alignment' is 0; llama.cpp needs a power of two",
        id="alignment 0",
    ),
    pytest.param(
        gguf_header([key_value("general.alignment", U64, 64)]),
        "'general.alignment' is a UINT64; llama.cpp needs a UINT32",
        id="alignment of another type",
    ),
    pytest.param(
        gguf_header([key_value("a.b", U32, 1), key_value("a.b", U32, 2)]),
        "its key 'a.b' appears twice",
        id="a key twice",
    ),
    pytest.param(
        gguf_header([key_value("", U32, 1)]), "one of its metadata keys is empty", id="empty key"
    ),
    pytest.param(
        gguf_header([array_key("tokens", STRING, [], length=2**31)]),
        "its key 'tokens' lists 2,147,483,648 items, more than llama.cpp's limit of "
        "1,073,741,824 (GGUF_MAX_ARRAY_ELEMENTS)",
        id="an array past GGUF_MAX_ARRAY_ELEMENTS",
    ),
    pytest.param(
        gguf_header([array_key("nested", GGUFValueType.ARRAY, [], length=1)]),
        "its key 'nested' holds arrays of arrays",
        id="nested arrays",
    ),
    pytest.param(
        gguf_header([b"\xff" * 8 + b"\x7f"]),
        "a text of 18,446,744,073,709,551,615 bytes, more than llama.cpp's limit",
        id="a string past GGUF_MAX_STRING_LENGTH",
    ),
    pytest.param(
        gguf_header([], version=1), "it is GGUF version 1; only versions 2 and 3", id="GGUF v1"
    ),
    pytest.param(
        gguf_header([], tensor_count=2**64 - 1),
        "it lists 18,446,744,073,709,551,615 tensors; Lantern reads at most 1,000,000",
        id="tensor count",
    ),
]


@pytest.fixture
def library() -> ModelLibrary:
    paths = app_paths()
    return ModelLibrary(paths.models, paths.cache)


def imports_nothing(library: ModelLibrary) -> bool:
    return library.list() == [] and not any(library.models_dir.glob("**/*"))


def test_the_small_model_the_rules_are_tested_on_imports(
    library: ModelLibrary, tmp_path: Path
) -> None:
    # The hostile files below differ from this one in one field only.
    model = library.import_file(write_file(tmp_path / "small.gguf", small_llama()))
    assert model.info.architecture == "llama" and model.info.shape.layers == 1


@pytest.mark.parametrize(("data", "reason"), HOSTILE_HEADERS)
def test_a_header_llama_cpp_would_refuse_is_refused_and_imports_nothing(
    library: ModelLibrary, tmp_path: Path, data: bytes, reason: str
) -> None:
    with pytest.raises(HeaderInvalid) as parsed:
        parse_gguf_header(data + bytes(4096))
    assert reason in parsed.value.reason
    with pytest.raises(InvalidModelFile) as refused:
        library.import_file(write_file(tmp_path / "hostile.gguf", data + bytes(4096)))
    message = refused.value.message
    assert message.startswith("hostile.gguf is damaged and cannot be loaded: ")
    assert reason in message
    assert "Traceback" not in message
    assert imports_nothing(library)


HOSTILE_SHAPES = [
    pytest.param(
        {"block_count": 10**9},
        "'llama.block_count' as 1,000,000,000, outside 1 to 512 (llama.cpp's LLAMA_MAX_LAYERS)",
        id="a billion layers",
    ),
    pytest.param({"block_count": 513}, "outside 1 to 512", id="513 layers"),
    pytest.param({"block_count": 0}, "'llama.block_count' as 0, outside 1 to 512", id="0 layers"),
    pytest.param(
        {"context_length": 2**32 - 1},
        "'llama.context_length' as 4,294,967,295, outside 1 to 16,777,216 (Lantern's bound",
        id="context of 2**32",
    ),
    pytest.param(
        {"attention.head_count": 1_000_000},
        "'llama.attention.head_count' as 1,000,000, outside 0 to 1,024",
        id="a million heads",
    ),
    pytest.param(
        {"attention.head_count_kv": 8},
        "'llama.attention.head_count_kv' as 8, outside 0 to 4 (at most its 4 query heads)",
        id="more kv heads than heads",
    ),
    pytest.param(
        {"embedding_length": -1},
        "'llama.embedding_length' as -1, outside 1 to 1,048,576",
        id="negative width",
    ),
    pytest.param(
        {"expert_count": 1024, "expert_used_count": 2},
        "'llama.expert_count' as 1,024, outside 0 to 512 (llama.cpp's LLAMA_MAX_EXPERTS)",
        id="1,024 experts",
    ),
    pytest.param(
        {"expert_used_count": 2},
        "'llama.expert_used_count' as 2, outside 0 to 0 (at most its 0 experts)",
        id="experts used without experts",
    ),
]


@pytest.mark.parametrize(("shape", "reason"), HOSTILE_SHAPES)
def test_an_absurd_shape_is_refused_and_imports_nothing(
    library: ModelLibrary, tmp_path: Path, shape: dict[str, int], reason: str
) -> None:
    path = write_file(tmp_path / "absurd.gguf", small_llama(shape))
    with pytest.raises(InvalidModelFile) as refused:
        library.import_file(path)
    assert refused.value.message.startswith("absurd cannot be run: its header gives ")
    assert reason in refused.value.message
    assert imports_nothing(library)


def test_a_model_without_attention_keeps_its_head_count_of_zero(tmp_path: Path) -> None:
    # Mamba and RWKV write a head count of 0: real models, not refused.
    path = write_file(
        tmp_path / "ssm.gguf",
        small_llama({"attention.head_count": 0, "attention.head_count_kv": 0}),
    )
    assert read_gguf_info(path).shape.head_count == 0


def test_counts_are_checked_against_the_bytes_before_any_loop() -> None:
    # A million keys need 12 MB at least: asked for before the first key is read.
    with pytest.raises(HeaderIncomplete) as short:
        parse_gguf_header(gguf_header([], key_count=1_000_000))
    assert short.value.needed >= 12_000_000
    # So does an array of 500 million strings (4 GB of lengths alone): too much for any read.
    reads: list[int] = []
    vocabulary = gguf_header([array_key("tokenizer.ggml.tokens", STRING, [], length=500_000_000)])

    def read_prefix(size: int) -> bytes:
        reads.append(size)
        return vocabulary[:size] + bytes(size - len(vocabulary))  # a file of zeros after it

    with pytest.raises(HeaderInvalid, match=r"4,000,000,\d{3} bytes, more than the 256 MB"):
        read_gguf_header(read_prefix)
    assert reads == [FIRST_READ], "refused from the first read, without asking for more"


def test_a_header_read_from_the_hub_stops_at_a_tighter_cap() -> None:
    # 40 MB of metadata: a local file may hold it, a header read before a download may not.
    data = gguf_header([array_key("big", GGUFValueType.UINT8, [], length=40 * 1024**2)])
    data += bytes(40 * 1024**2)
    reads: list[int] = []

    def read_prefix(size: int) -> bytes:
        reads.append(size)
        return data[:size]

    assert REMOTE_HEADER_LIMIT < 40 * 1024**2 < LOCAL_HEADER_LIMIT
    assert read_gguf_header(read_prefix).array_length("big") == 40 * 1024**2
    reads.clear()
    with pytest.raises(HeaderInvalid, match="more than the 32 MB Lantern reads"):
        read_gguf_header(read_prefix, limit=REMOTE_HEADER_LIMIT)
    assert max(reads) <= REMOTE_HEADER_LIMIT


# ---- fuzzing: whatever the bytes, Lantern's own error or a header, within a second ----

MACHINE = MachineMemory(ram_available=16 * 1024**3, gpu_free=8 * 1024**3)
EXTREMES = st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1])
COUNTS = st.one_of(st.integers(0, 70), EXTREMES)
ARCHITECTURE = key_value("general.architecture", STRING, "llama")
SCALAR_KINDS = st.sampled_from([k for k in GGUFValueType if k not in (STRING, GGUFValueType.ARRAY)])


@st.composite
def random_keys(draw: st.DrawFn) -> bytes:
    key = draw(st.sampled_from(["general.alignment", "llama.block_count", "tokens", "k"]))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return key_value(key, U32, draw(st.integers(0, 2**32 - 1)))
    if choice == 1:
        return key_value(key, STRING, draw(st.text(max_size=20)))
    kind = draw(st.one_of(SCALAR_KINDS, st.just(STRING), st.integers(0, 20)))
    return array_key(key, kind, [], length=draw(COUNTS))  # the items are the tail's bytes


@st.composite
def random_headers(draw: st.DrawFn) -> bytes:
    """A header of random keys and tensors, mostly a llama's (so that the shape checks and
    the fit estimate run too), with counts that may claim more than follows."""
    shape = [
        key_value(f"llama.{key}", U64, draw(st.one_of(st.integers(0, 2048), EXTREMES)))
        for key in draw(st.lists(st.sampled_from(sorted(LLAMA_SHAPE)), max_size=5, unique=True))
    ]
    tensors = [
        tensor_entry(
            draw(st.text(max_size=70)),
            draw(st.lists(st.one_of(st.integers(0, 4096), EXTREMES), max_size=6)),
            draw(st.integers(0, 45)),
            draw(st.one_of(st.integers(0, 4096), EXTREMES)),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    header = gguf_header(
        [ARCHITECTURE, *shape, *draw(st.lists(random_keys(), max_size=4))],
        tensors,
        version=draw(st.sampled_from([3, 3, 3, 3, 2, 1, 2**32 - 1])),
        key_count=draw(st.none() | COUNTS),
        tensor_count=draw(st.none() | COUNTS),
    )
    return header + draw(st.binary(max_size=256))


def only_lanterns_errors(data: bytes) -> None:
    """Parse `data` as a header read from the Hub would be, then estimate its fit: either
    works, or fails with InvalidModelFile (HeaderInvalid is one)."""
    try:
        header = read_gguf_header(lambda size: data[:size], limit=REMOTE_HEADER_LIMIT)
        info = gguf_info_from_header(header, len(data), "fuzzed")
    except InvalidModelFile as exc:
        assert exc.message
        return
    fit_estimate(info.shape, info.context_length, MACHINE)


FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_after_the_signature_give_only_lanterns_errors(tail: bytes) -> None:
    only_lanterns_errors(b"GGUF" + tail)
    only_lanterns_errors(tail)


@FUZZ
@given(random_headers())
def test_random_headers_give_only_lanterns_errors(data: bytes) -> None:
    only_lanterns_errors(data)
