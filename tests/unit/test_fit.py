"""The memory-fit estimate against figures computed by hand for two known architectures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desktop.models.fit import MachineMemory, compute_buffer_bytes, fit_estimate, memory_need
from desktop.models.gguf_info import ModelShape

GiB = 1024**3
MiB = 1024**2

# Llama 3.1 8B Instruct, Q4_K_M: 32 layers, 4096 wide, 32 heads, 8 KV heads of 128,
# a vocabulary of 128,256, its own output projection (Q6_K) besides the embeddings (Q4_K).
LLAMA_8B = ModelShape(
    file_bytes=4_920_739_232,
    layers=32,
    embedding_length=4096,
    head_count=32,
    head_count_kv=8,
    vocab_size=128_256,
    feed_forward_length=14_336,
    layer_weight_bytes=4_186_000_000,
    input_bytes=295_501_824,  # 128,256 x 4,096 x 144/256 bytes (Q4_K)
    output_bytes=430_956_544,  # 128,256 x 4,096 x 210/256 (Q6_K) + the f32 norm
)
# Qwen2.5 7B Instruct: 28 layers, 3584 wide, 28 heads, 4 KV heads of 128, tied embeddings.
QWEN_7B = ModelShape(
    file_bytes=4_683_073_536,
    layers=28,
    embedding_length=3584,
    head_count=28,
    head_count_kv=4,
    vocab_size=152_064,
    feed_forward_length=18_944,
    layer_weight_bytes=4_100_000_000,
    input_bytes=306_561_024,
    output_bytes=14_336,
    tied_embeddings=True,
)


def machine(ram_gib: float, gpu_gib: float = 0, unified: bool = False) -> MachineMemory:
    return MachineMemory(int(ram_gib * GiB), int(gpu_gib * GiB), unified)


def test_kv_cache_by_hand() -> None:
    # 32 layers x 8,192 positions x 8 KV heads x (128 + 128) x 2 bytes = 1 GiB
    assert LLAMA_8B.kv_cache_bytes(8192) == 1 * GiB
    # 28 x 32,768 x 4 x 256 x 2 = 1.75 GiB
    assert QWEN_7B.kv_cache_bytes(32768) == int(1.75 * GiB)


def test_compute_buffer_by_hand() -> None:
    # Llama at 8,192: attention scores 8,192 x (32 + 1) + 6 x 4,096 = 294,912 floats per token
    # beat the logits' 128,256 + 3 x 4,096 = 140,544; x 512 tokens x 4 bytes, + one token's logits.
    assert compute_buffer_bytes(LLAMA_8B, 8192) == 294_912 * 512 * 4 + 128_256 * 4
    # Qwen at 2,048: the logits peak wins: 152,064 + 3 x 3,584 = 162,816 floats per token.
    assert compute_buffer_bytes(QWEN_7B, 2048) == 162_816 * 512 * 4 + 152_064 * 4


def test_weights_count_the_embeddings_once_on_the_cpu() -> None:
    need = memory_need(QWEN_7B, 4096)
    assert need.weights == 4_100_000_000 + 306_561_024 + 14_336
    assert need.total == need.weights + need.kv_cache + need.compute


def test_a_large_gpu_takes_every_layer() -> None:
    estimate = fit_estimate(LLAMA_8B, 8192, machine(ram_gib=16, gpu_gib=12))
    assert estimate.verdict == "gpu"
    assert estimate.gpu_layers == 33
    # The embeddings stay in RAM, with the CPU's small input buffer.
    assert estimate.in_ram == LLAMA_8B.input_bytes + 512 * 4096 * 4
    assert "Fits fully on the GPU" in estimate.summary()


def test_a_small_gpu_takes_some_layers_and_says_how_many() -> None:
    estimate = fit_estimate(LLAMA_8B, 8192, machine(ram_gib=16, gpu_gib=4))
    assert estimate.verdict == "partial"
    # 4 GiB less 512 MiB headroom, less the 604,492,800-byte compute buffer, leaves
    # 3,153,603,584 bytes; a layer takes 4,186,000,000 / 32 bytes of weights and 32 MiB of
    # KV cache, 164,366,932 bytes: 19 layers.
    assert estimate.gpu_layers == 19
    assert "19 of 33 layers" in estimate.summary()


def test_without_a_gpu_the_model_runs_on_the_cpu_if_ram_allows() -> None:
    estimate = fit_estimate(QWEN_7B, 4096, machine(ram_gib=8))
    assert estimate.verdict == "cpu" and estimate.gpu_layers == 0
    assert estimate.in_ram == memory_need(QWEN_7B, 4096).total


def test_too_little_memory_says_what_would_fit() -> None:
    estimate = fit_estimate(QWEN_7B, 32768, machine(ram_gib=6))
    assert estimate.verdict == "too_big"
    text = estimate.summary()
    # 4.1 GiB of weights, 1.75 GiB of KV cache and 1.85 GiB of compute buffer: at 32,768
    # tokens the attention scores of 28 heads dominate it.
    assert text.startswith("Does not fit: needs 7.7 GB")
    assert "6.0 GB memory available" in text
    # 6 GiB less 0.5 GiB headroom: the weights, compute and 40 KiB of cache per token of context.
    assert estimate.largest_context is not None and 8192 <= estimate.largest_context < 32768
    assert fit_estimate(QWEN_7B, estimate.largest_context, machine(ram_gib=6)).verdict == "cpu"
    assert f"a context of {estimate.largest_context:,} tokens or less" in text
    assert estimate.largest_weights is not None and "a smaller quantization" in text


def test_unified_memory_counts_the_gpu_share_against_ram() -> None:
    roomy = fit_estimate(QWEN_7B, 8192, machine(ram_gib=12, gpu_gib=9, unified=True))
    assert roomy.verdict == "gpu"
    tight = fit_estimate(QWEN_7B, 8192, machine(ram_gib=5, gpu_gib=9, unified=True))
    assert tight.verdict == "too_big"


@given(st.floats(min_value=0, max_value=64), st.floats(min_value=0, max_value=64))
def test_more_gpu_memory_never_means_fewer_layers(a: float, b: float) -> None:
    low, high = sorted((a, b))
    fewer = fit_estimate(LLAMA_8B, 4096, machine(ram_gib=32, gpu_gib=low)).gpu_layers
    more = fit_estimate(LLAMA_8B, 4096, machine(ram_gib=32, gpu_gib=high)).gpu_layers
    assert 0 <= fewer <= more <= LLAMA_8B.layers + 1
