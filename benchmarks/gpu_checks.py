"""The GPU checks (shared/GPU-CHECKS.md) in one run, for a machine with an NVIDIA GPU and a
CUDA build of llama-cpp-python: every layer offloaded and the fit estimate's GPU figure
against what llama.cpp reports, `lantern bench`, `lantern serve` against llama_cpp.server,
and a partial offload while another process holds most of the GPU's memory.

    python benchmarks/gpu_checks.py MODEL.gguf [MODEL.gguf ...] --out DIR [--budget-s 540]

GPU time is short: each step's figures are written to DIR/gpu_checks.json as soon as they
come, a step that fails is recorded and the others go on, and a step that would not end
within the budget is skipped. The partial offload needs PyTorch (it holds the memory).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
BUFFER = re.compile(r"(\S+) (model|KV|compute|output) buffer size =\s+([\d.]+) MiB")
MIB = 1024**2
FIT_TOLERANCE = 0.10  # the estimate's GPU bytes within 10 % of llama.cpp's
DECODE_TARGET = 0.9  # Lantern's decode speed over llama-cpp-python direct
CONTEXTS = (4096, 8192)
PARTIAL_CONTEXT = 4096  # the app's default (Settings), which the engine loads with
SERVE_THREADS = 4


class Checks:
    """The run's results, kept in one JSON file, and the time it has left."""

    def __init__(self, out: Path, budget_s: float) -> None:
        self.file = out / "gpu_checks.json"
        self.results: dict[str, Any] = {}
        self._deadline = time.monotonic() + budget_s

    def step(self, name: str, needs_s: float, run: Callable[[], Any]) -> Any:
        left = self._deadline - time.monotonic()
        if left < needs_s:
            self.record(name, {"skipped": f"{left:.0f} s left, it needs {needs_s:.0f} s"})
            return None
        started = time.monotonic()
        print(f"== {name}", flush=True)
        try:
            result = run()
        except Exception as exc:  # recorded; the other checks still run
            result = {"error": f"{type(exc).__name__}: {exc}"}
        if isinstance(result, dict):
            result["seconds"] = round(time.monotonic() - started, 1)
        self.record(name, result)
        print(json.dumps(result, indent=1)[:3000], flush=True)
        return result

    def record(self, name: str, result: Any) -> None:
        self.results[name] = result
        self.file.write_text(json.dumps(self.results, indent=2))


def run_command(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout_s, cwd=REPO, check=False
    )


def json_of(command: list[str], timeout_s: float) -> Any:
    """A command's JSON answer (its stdout's last JSON object); its stderr's end if it failed."""
    done = run_command(command, timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {(done.stderr or done.stdout)[-1500:]}")
    return json.loads(done.stdout[done.stdout.index("{") :])


def lantern(*args: str) -> list[str]:
    return [sys.executable, "-m", "desktop", *args]


def benchmark(script: str, *args: str) -> list[str]:
    return [sys.executable, str(REPO / "benchmarks" / script), *args, "--json"]


def environment() -> dict[str, Any]:
    import llama_cpp

    smi = run_command(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,memory.used",
         "--format=csv,noheader"], 30,
    )  # fmt: skip
    return {
        "nvidia_smi": smi.stdout.strip(),
        "python": sys.version.split()[0],
        "llama_cpp_python": llama_cpp.__version__,
        "gpu_offload_built_in": bool(llama_cpp.llama_supports_gpu_offload()),
    }


def import_models(models: list[Path]) -> list[str]:
    from desktop.paths import app_paths
    from desktop.services.app import Lantern

    app = Lantern(app_paths())
    try:
        return [app.models.import_file(model).id for model in models]
    finally:
        app.close()


def placement(model: Path, context: int, gpu_layers: int) -> dict[str, Any]:
    """What llama.cpp places where, by its own log, for the model loaded with `gpu_layers`:
    in a process of its own, so that each load starts from the same free memory."""
    return json_of(
        [sys.executable, __file__, "--placement", str(model), str(context), str(gpu_layers)], 180
    )


def report_placement(model: str, context: int, gpu_layers: int) -> None:
    """The --placement child: loads the model, prints llama.cpp's placement as JSON."""
    from llama_cpp import Llama

    from desktop.models.machine import nvidia_free_bytes

    free_before = nvidia_free_bytes()
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            llm = Llama(model_path=model, n_ctx=context, n_gpu_layers=gpu_layers, verbose=True)
            free_loaded = nvidia_free_bytes()
            llm.close()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    offloaded = OFFLOADED.search(text)
    buffers: dict[str, float] = {}
    for device, kind, mib in BUFFER.findall(text):
        buffers[f"{device} {kind}"] = buffers.get(f"{device} {kind}", 0.0) + float(mib)
    gpu_mib = sum(mib for name, mib in buffers.items() if re.match(r"CUDA\d+ ", name))
    print(json.dumps({
        "offloaded": [int(offloaded[1]), int(offloaded[2])] if offloaded else None,
        "buffers_mib": buffers,
        "gpu_buffers_mib": round(gpu_mib, 1),
        "gpu_memory_taken_mib": round((free_before - free_loaded) / MIB, 1),
        "free_before_mib": round(free_before / MIB, 1),
    }))  # fmt: skip


def fit_against_llama_cpp(model: Path, context: int) -> dict[str, Any]:
    """The fit estimate's choice and GPU bytes beside what llama.cpp does with that choice."""
    from desktop.models.fit import fit_estimate
    from desktop.models.gguf_info import read_gguf_info
    from desktop.models.machine import machine_memory

    estimate = fit_estimate(read_gguf_info(model).shape, context, machine_memory())
    placed = placement(model, context, estimate.gpu_layers)
    estimate_mib = estimate.on_gpu / MIB
    error = estimate_mib / placed["gpu_buffers_mib"] - 1 if placed["gpu_buffers_mib"] else None
    return {
        "verdict": estimate.verdict,
        "summary": estimate.summary(),
        "estimate_layers": [estimate.gpu_layers, estimate.total_layers],
        "estimate_gpu_mib": round(estimate_mib, 1),
        "llama_cpp": placed,
        "estimate_error": None if error is None else round(error, 3),
        "all_layers_on_gpu": placed["offloaded"] == [estimate.total_layers] * 2,
        "within_tolerance": error is not None and abs(error) <= FIT_TOLERANCE,
    }


def bench(model_id: str, runs: int, max_tokens: int) -> dict[str, Any]:
    report = json_of(
        lantern("bench", "--model", model_id, "--runs", str(runs),
                "--max-tokens", str(max_tokens), "--json"), 300,
    )  # fmt: skip
    report["decode_target_met"] = report["decode_ratio"] >= DECODE_TARGET
    return dict(report)


def partial_offload(model: Path, model_id: str, context_cost: int) -> dict[str, Any]:
    """With another process holding the GPU's memory but the headroom, a process's own CUDA
    context (`context_cost` bytes, as measured) and about half the model's need: the fit
    estimate seen from outside (as the Models page sees it), the layers Lantern's engine
    chooses and runs with, and what llama.cpp places with that choice."""
    from desktop.models.fit import GPU_HEADROOM_MIN_BYTES, MachineMemory, fit_estimate
    from desktop.models.gguf_info import read_gguf_info
    from desktop.models.machine import machine_memory

    shape = read_gguf_info(model).shape
    unlimited = fit_estimate(shape, PARTIAL_CONTEXT, MachineMemory(2**40, 2**40))
    leave_free = GPU_HEADROOM_MIN_BYTES + context_cost + unlimited.on_gpu // 2
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_GPU_MEMORY, str(leave_free)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    result: dict[str, Any] = {"left_free_mib": round(leave_free / MIB, 1)}
    try:
        assert holder.stdout is not None
        held = holder.stdout.readline().strip()  # once it holds the memory
        if not held:
            raise RuntimeError("the process holding GPU memory ended (PyTorch missing?)")
        result["held_by_another_process_mib"] = round(int(held) / MIB, 1)
        outside = fit_estimate(shape, PARTIAL_CONTEXT, machine_memory())
        result["estimate_from_outside"] = {
            "summary": outside.summary(),
            "layers": [outside.gpu_layers, outside.total_layers],
        }
        engine = json_of(
            lantern("bench", "--model", model_id, "--runs", "1", "--max-tokens", "32", "--json"),
            240,
        )
        result["lantern_engine"] = engine
        result["llama_cpp_with_engines_layers"] = placement(
            model, PARTIAL_CONTEXT, engine["gpu_layers"]
        )
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    finally:
        holder.kill()
        holder.wait()


# Holds all of the GPU's free memory but argv[1] bytes, says how much it took, and holds it
# until its input closes.
_HOLD_GPU_MEMORY = """
import sys, torch
free, _ = torch.cuda.mem_get_info()
take = free - int(sys.argv[1])
held = torch.empty(take, dtype=torch.uint8, device="cuda")
print(take, flush=True)
sys.stdin.read()
"""


def _context_cost(fit: dict[str, Any] | None) -> int:
    """A process's own use of GPU memory besides llama.cpp's buffers (its CUDA context, the
    cuBLAS workspace), from a full offload's figures; 600 MiB where there are none."""
    try:
        placed = fit["llama_cpp"]  # type: ignore[index]
        return int((placed["gpu_memory_taken_mib"] - placed["gpu_buffers_mib"]) * MIB)
    except (KeyError, TypeError):
        return 600 * MIB


def engine_log_lines() -> list[str]:
    log = Path(os.environ["LANTERN_HOME"]) / "logs" / "engine.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if "layer" in line.lower() or "gpu" in line.lower()][-20:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget-s", type=float, default=540)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["LANTERN_HOME"] = tempfile.mkdtemp(prefix="lantern-gpu-checks-")
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    checks = Checks(args.out, args.budget_s)

    checks.step("environment", 10, environment)
    ids = checks.step("import", 30, partial(import_models, args.models))
    checks.step("doctor", 60, partial(json_of, lantern("doctor", "--json"), 60))
    for model in args.models:
        for context in CONTEXTS:
            fit = partial(fit_against_llama_cpp, model, context)
            checks.step(f"fit {model.name} ctx {context}", 60, fit)
    if not isinstance(ids, list):
        return  # nothing installed to run
    for model, model_id in zip(args.models, ids, strict=True):
        checks.step(f"bench {model.name}", 120, partial(bench, model_id, 5, 256))
    checks.record("engine log", engine_log_lines())
    first, threads = args.models[0], str(SERVE_THREADS)
    serve_decode = benchmark(
        "serve_decode.py", str(first), "--gpu-layers", "-1", "--threads", threads, "--runs", "5"
    )
    checks.step("serve decode", 150, partial(json_of, serve_decode, 300))
    context_cost = _context_cost(checks.results.get(f"fit {first.name} ctx {CONTEXTS[0]}"))
    checks.step("partial offload", 120, partial(partial_offload, first, ids[0], context_cost))
    concurrent = benchmark("serve_concurrent.py", str(first), "--threads", threads)
    checks.step("serve 8 concurrent", 90, partial(json_of, concurrent, 240))
    first_token = benchmark("serve_first_token.py", str(first), "--threads", threads)
    checks.step("serve first token", 60, partial(json_of, first_token, 180))
    print(f"results: {checks.file}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--placement"]:
        report_placement(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
