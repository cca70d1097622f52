"""Will a model fit this machine, and how: the memory-fit estimate, before anything is
downloaded (from the GGUF header) and again at load time (to choose `n_gpu_layers`).

The figures follow what llama.cpp allocates: the weights (the token embeddings stay in RAM;
the repeating layers and then the output layer go to the GPU), an f16 KV cache for every
layer at the chosen context, the compute buffer reserved for the worst-case micro-batch and
the logits buffer. The compute buffer is the larger of two peaks (checked against llama.cpp's
own report for two architectures, see benchmarks/fit_accuracy.py): the logits of a full
micro-batch, or the attention scores over the whole context for every head.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from desktop.models.gguf_info import UBATCH, ModelShape

Verdict = Literal["gpu", "partial", "cpu", "too_big"]
GIB = 1024**3
# Kept free on a GPU for the driver, the desktop and allocator slack.
GPU_HEADROOM_FRACTION = 0.10
GPU_HEADROOM_MIN_BYTES = 512 * 1024**2
# Kept free in RAM for the app itself, the OS and the file cache.
RAM_HEADROOM_BYTES = 512 * 1024**2
SMALLEST_CONTEXT = 512


@dataclass(frozen=True)
class MemoryNeed:
    weights: int
    kv_cache: int
    compute: int  # compute and logits buffers

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute


@dataclass(frozen=True)
class MachineMemory:
    ram_available: int
    gpu_free: int  # summed over the GPUs llama.cpp would use; 0 without a GPU backend
    unified: bool = False  # Apple silicon: the GPU's memory is the RAM


@dataclass(frozen=True)
class FitEstimate:
    verdict: Verdict
    context_length: int
    gpu_layers: int  # what to pass as n_gpu_layers: 0 .. layers + 1 (the output layer)
    total_layers: int
    need: MemoryNeed
    on_gpu: int  # bytes placed in GPU memory
    in_ram: int  # bytes placed in RAM
    machine: MachineMemory
    largest_context: int | None  # the longest context that fits, when this one does not
    largest_weights: int | None  # the largest model file that would fit at this context

    def summary(self) -> str:
        need = f"needs {_gb(self.need.total)} ({_gb(self.need.weights)} weights, " + (
            f"{_gb(self.need.kv_cache)} context cache at {self.context_length:,} tokens, "
            f"{_gb(self.need.compute)} working memory)"
        )
        if self.verdict == "gpu":
            return f"Fits fully on the GPU: {need}; {_gb(self.machine.gpu_free)} GPU memory free."
        if self.verdict == "partial":
            return (
                f"Fits partly on the GPU ({self.gpu_layers} of {self.total_layers} layers, "
                f"{_gb(self.on_gpu)}), the rest in RAM ({_gb(self.in_ram)}): {need}."
            )
        if self.verdict == "cpu":
            where = "no usable GPU" if self.machine.gpu_free == 0 else "too little GPU memory"
            ram = _gb(self.machine.ram_available)
            return f"Runs on the CPU ({where}): {need}; {ram} RAM available."
        return f"Does not fit: {need}; {self.available_text()}. {self.advice()}"

    def available_text(self) -> str:
        reserve = f"{_gb(RAM_HEADROOM_BYTES)} of it kept for the system"
        if self.machine.gpu_free and not self.machine.unified:
            ram, gpu = _gb(self.machine.ram_available), _gb(self.machine.gpu_free)
            return f"{ram} RAM ({reserve}) and {gpu} GPU memory free"
        return f"{_gb(self.machine.ram_available)} memory available ({reserve})"

    def advice(self) -> str:
        """What would fit instead: a smaller file at this context, or a shorter context."""
        options = []
        if self.largest_weights:
            options.append(f"a smaller quantization (a file under {_gb(self.largest_weights)})")
        if self.largest_context:
            options.append(f"a context of {self.largest_context:,} tokens or less")
        if not options:
            return "Close other programs to free memory, or choose a smaller model."
        return "Try " + " or ".join(options) + "."


def memory_need(shape: ModelShape, context_length: int) -> MemoryNeed:
    return MemoryNeed(
        weights=shape.weight_bytes,
        kv_cache=shape.kv_cache_bytes(context_length),
        compute=compute_buffer_bytes(shape, context_length),
    )


def compute_buffer_bytes(shape: ModelShape, context_length: int) -> int:
    """llama.cpp's compute buffer (f32 activations of a micro-batch) and one token's logits."""
    embd = shape.embedding_length
    logits_peak = shape.vocab_size + 3 * embd
    attention_peak = context_length * (shape.head_count + 1) + 6 * embd
    return UBATCH * 4 * max(logits_peak, attention_peak) + shape.vocab_size * 4


def fit_estimate(shape: ModelShape, context_length: int, machine: MachineMemory) -> FitEstimate:
    """Where the model goes on this machine at this context, with the most layers on the GPU."""
    layers = shape.layers + 1
    need = memory_need(shape, context_length)
    best = _best_placement(shape, context_length, machine)
    if best is None:
        in_ram = _placement(shape, context_length, 0, need)[1]
        return FitEstimate(
            "too_big", context_length, 0, layers, need, 0, in_ram, machine,
            _largest_context(shape, context_length, machine),
            _largest_weights(shape, context_length, machine),
        )  # fmt: skip
    offloaded, on_gpu, in_ram = best
    verdict: Verdict = "gpu" if offloaded == layers else "partial" if offloaded else "cpu"
    return FitEstimate(
        verdict, context_length, offloaded, layers, need, on_gpu, in_ram, machine, None, None
    )


def _best_placement(
    shape: ModelShape, context_length: int, machine: MachineMemory
) -> tuple[int, int, int] | None:
    """(layers offloaded, bytes on the GPU, bytes in RAM) with the most layers that fit."""
    need = memory_need(shape, context_length)
    gpu_budget = _gpu_budget(machine)
    ram_budget = machine.ram_available - RAM_HEADROOM_BYTES
    for offloaded in range(shape.layers + 1, -1, -1) if gpu_budget > 0 else [0]:
        on_gpu, in_ram = _placement(shape, context_length, offloaded, need)
        if machine.unified:  # one pool: what the GPU takes comes out of RAM
            in_ram += on_gpu
        if on_gpu <= gpu_budget and in_ram <= ram_budget:
            return offloaded, on_gpu, in_ram
    return None


def _gpu_budget(machine: MachineMemory) -> int:
    if machine.gpu_free <= 0:
        return 0
    headroom = max(int(machine.gpu_free * GPU_HEADROOM_FRACTION), GPU_HEADROOM_MIN_BYTES)
    return max(0, machine.gpu_free - headroom)


def _placement(
    shape: ModelShape, context: int, offloaded: int, need: MemoryNeed
) -> tuple[int, int]:
    """(bytes on the GPU, bytes in RAM) with the last `offloaded` layers on the GPU."""
    repeating = min(offloaded, shape.layers)
    per_layer_weights = shape.layer_weight_bytes / max(shape.layers, 1)
    gpu_weights = int(per_layer_weights * repeating)
    if offloaded > shape.layers:
        gpu_weights += shape.output_bytes + (shape.input_bytes if shape.tied_embeddings else 0)
    gpu_kv = shape.kv_cache_bytes(context, layers=repeating)
    gpu_compute = need.compute if offloaded else 0
    # With layers on the GPU, the CPU keeps a small buffer for the embeddings' lookup.
    cpu_compute = UBATCH * shape.embedding_length * 4 if offloaded else need.compute
    in_ram = (need.weights - gpu_weights) + (need.kv_cache - gpu_kv) + cpu_compute
    if offloaded > shape.layers and shape.tied_embeddings:
        in_ram += shape.input_bytes  # the GPU's copy came on top of the RAM one
    return gpu_weights + gpu_kv + gpu_compute, in_ram


def _fits(shape: ModelShape, context: int, machine: MachineMemory) -> bool:
    return _best_placement(shape, context, machine) is not None


def _largest_context(shape: ModelShape, context: int, machine: MachineMemory) -> int | None:
    """The longest context under `context` that fits (multiples of 512), or None."""
    low, high = 0, context // SMALLEST_CONTEXT - 1
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(shape, middle * SMALLEST_CONTEXT, machine):
            low = middle
        else:
            high = middle - 1
    return low * SMALLEST_CONTEXT if low else None


def _largest_weights(shape: ModelShape, context: int, machine: MachineMemory) -> int | None:
    """The largest weights size that would fit at `context`, scaling this model's tensors."""
    for percent in range(90, 9, -10):
        smaller = _scaled(shape, percent / 100)
        if _fits(smaller, context, machine):
            return smaller.weight_bytes
    return None


def _scaled(shape: ModelShape, factor: float) -> ModelShape:
    return replace(
        shape,
        layer_weight_bytes=int(shape.layer_weight_bytes * factor),
        input_bytes=int(shape.input_bytes * factor),
        output_bytes=int(shape.output_bytes * factor),
    )


def _gb(value: int) -> str:
    return f"{value / GIB:.1f} GB" if value >= GIB / 10 else f"{value / 1024**2:.0f} MB"
