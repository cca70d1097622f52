from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desktop.engine.hardware import backend_name, choose_gpu_layers
from desktop.engine.protocol import DeviceInfo
from desktop.models.gguf_info import ModelShape

GiB = 1024**3
RAM = 16 * GiB
# Roughly an 8B model at Q4_K_M: 32 layers, GQA with 8 KV heads.
SHAPE = ModelShape(
    file_bytes=int(4.9 * GiB),
    layers=32,
    embedding_length=4096,
    head_count=32,
    head_count_kv=8,
    vocab_size=128_256,
    layer_weight_bytes=int(4.2 * GiB),
    input_bytes=int(0.3 * GiB),
    output_bytes=int(0.4 * GiB),
)


def gpu(free_gib: float, name: str = "CUDA0") -> DeviceInfo:
    return DeviceInfo(name, "test GPU", "gpu", int(free_gib * GiB), int(free_gib * GiB))


def test_no_gpu_keeps_every_layer_on_the_cpu() -> None:
    assert choose_gpu_layers(SHAPE, [], 4096) == 0


def test_a_large_gpu_takes_every_layer_and_the_output() -> None:
    assert choose_gpu_layers(SHAPE, [gpu(24)], 4096, RAM) == SHAPE.layers + 1


def test_a_small_gpu_takes_part_of_the_model() -> None:
    layers = choose_gpu_layers(SHAPE, [gpu(4)], 4096, RAM)
    assert 0 < layers < SHAPE.layers


def test_a_longer_context_leaves_room_for_fewer_layers() -> None:
    assert choose_gpu_layers(SHAPE, [gpu(5)], 32768, RAM) < choose_gpu_layers(
        SHAPE, [gpu(5)], 2048, RAM
    )


def test_a_model_too_big_for_ram_gets_no_layers_either() -> None:
    assert choose_gpu_layers(SHAPE, [gpu(2)], 4096, ram_available=2 * GiB) == 0


@given(st.floats(min_value=0, max_value=200), st.floats(min_value=0, max_value=200))
def test_more_free_memory_never_means_fewer_layers(a: float, b: float) -> None:
    low, high = sorted((a, b))
    chosen_low = choose_gpu_layers(SHAPE, [gpu(low)], 4096, RAM)
    chosen_high = choose_gpu_layers(SHAPE, [gpu(high)], 4096, RAM)
    assert 0 <= chosen_low <= chosen_high <= SHAPE.layers + 1


def test_backend_is_named_after_the_gpu_device() -> None:
    assert backend_name([]) == "CPU"
    assert backend_name([gpu(8, "CUDA0")]) == "CUDA"
    assert backend_name([gpu(8, "Metal")]) == "Metal"
