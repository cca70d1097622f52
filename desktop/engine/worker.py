"""The engine process: owns the llama.cpp objects and answers the app's requests.

This is the only module of the app that imports llama_cpp. It runs in its own process
(`run_engine` is the process entry point), so a crash in llama.cpp ends only this process.

A reader thread takes requests off the pipe as they arrive, so that a stop never waits
behind the generation: a Cancel for the request being served flips a flag that it checks
while the template renders, while the prompt is read (llama.cpp asks too, within a batch)
and between tokens; a Cancel for a request still queued behind it is answered at once, and
that request is skipped.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import logging
import os
import queue
import random
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from desktop.engine import hardware
from desktop.engine.answer_text import AnswerText, Piece
from desktop.engine.chat_template import (
    RENDER_TIME_LIMIT_S,
    ChatTemplate,
    RenderStopped,
    TemplateRefused,
)
from desktop.engine.cpu_share import CpuShare
from desktop.engine.protocol import (
    TOOL_CALL_MARKERS,
    Cancel,
    ChatMessage,
    DeviceInfo,
    Embed,
    Embeddings,
    Event,
    Failed,
    Finished,
    FinishReason,
    Generate,
    GeneratedToken,
    GeneratedTokens,
    GenerationRequest,
    GenerationStats,
    HardwareReport,
    LoadModel,
    ModelLoaded,
    OutputConstraint,
    Pooling,
    ProbeHardware,
    RenderChat,
    RenderedChat,
    Request,
    Shutdown,
    StageReached,
    TokenChoice,
    Tokenize,
    Tokens,
    TokenText,
    Tool,
    Unloaded,
    UnloadModel,
    answer_reserve,
)
from desktop.errors import InvalidModelFile
from desktop.log_file import rotate_if_large
from desktop.models.gguf_header import read_gguf_header

log = logging.getLogger("desktop.engine")

SEND_INTERVAL_S = 0.025
# The exit code when the app's requests can no longer be read: the app reports a crash.
_UNREADABLE_REQUEST_EXIT = 70
_DEVICE_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}
# llama.cpp's enum llama_pooling_type: the kinds that give one vector per text.
_POOLINGS: dict[int, Pooling] = {1: "mean", 2: "cls", 3: "last"}
_POOLING_MEAN, _POOLING_RANK = 1, 4


def run_engine(
    conn: Connection, log_file: str, render_time_limit_s: float = RENDER_TIME_LIMIT_S
) -> None:
    """Process entry point: route native stderr to the engine log, then serve requests."""
    # Ctrl+C in a terminal reaches the whole process group: the app stops a generation with
    # a Cancel, and the engine must live on to answer it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _log_to_file(Path(log_file))
    try:
        EngineWorker(conn, render_time_limit_s=render_time_limit_s).serve()
    finally:
        conn.close()


def _log_to_file(log_file: Path) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    rotate_if_large(log_file)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    # llama.cpp writes its own diagnostics (an assert before an abort, say) to fd 2.
    os.dup2(fd, 2)
    os.close(fd)
    # A stream on fd 2 itself: sys.stderr may be something else (os.devnull in Windows'
    # windowed executable, which has no console).
    stream = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s engine[%(process)d] %(levelname)s %(name)s: %(message)s",
        force=True,
    )


@dataclass
class _LoadedModel:
    llm: Any  # llama_cpp.Llama
    formatter: Any  # ChatTemplate, or llama-cpp-python's ChatML formatter
    has_chat_template: bool
    request: LoadModel
    threads: int
    pooling: Pooling | None  # loaded for embeddings: how; None: loaded for chat


class EngineWorker:
    def __init__(
        self, conn: Connection, *, render_time_limit_s: float = RENDER_TIME_LIMIT_S
    ) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self._conn = conn
        self._requests: queue.Queue[Request] = queue.Queue()
        self._send_lock = threading.Lock()  # the reader thread answers some Cancels itself
        # Which Generate a Cancel finds: still queued (answered at once), or being served.
        self._state_lock = threading.Lock()
        self._queued: set[int] = set()
        self._serving: int | None = None
        self._stop_asked = threading.Event()  # for the one being served
        self._to_resume = False  # every Stop asked for it was a pause (protocol.Cancel)
        self._app_gone = threading.Event()
        self._model: _LoadedModel | None = None
        self._render_time_limit_s = render_time_limit_s
        # Threads for each generation: the cores other programs leave free (cpu_share.py).
        self._cpu_share = CpuShare()

    # ---- plumbing ----

    def serve(self) -> None:
        threading.Thread(target=self._read_requests, name="engine-reader", daemon=True).start()
        while True:
            request = self._requests.get()
            if isinstance(request, Shutdown):
                return
            if not self._begin(request):
                continue  # stopped while queued: the reader has answered it
            try:
                self._handle(request)
            except (BrokenPipeError, ConnectionResetError):
                return  # the app is gone; nobody is left to answer
            except Exception as exc:  # a bug here must not take the engine down silently
                log.exception("Request %s failed", request)
                self._send(Failed(request.request_id, "internal", f"Engine error: {exc}"))
            finally:
                with self._state_lock:
                    self._serving = None

    def _read_requests(self) -> None:
        try:
            while True:
                request = self._conn.recv()
                if isinstance(request, Cancel):
                    self._cancel(request.request_id, to_resume=request.to_resume)
                    continue
                if isinstance(request, Generate):
                    with self._state_lock:
                        self._queued.add(request.request_id)
                self._requests.put(request)
        except (EOFError, OSError):  # the app went away: stop generating, then exit
            self._app_gone.set()
            self._requests.put(Shutdown())
        except Exception:  # a request that cannot be read (unpickling, memory)
            # Its id is unknown, so nothing could answer it: end the process, which the
            # app reports as a crash for every request waiting on it.
            log.exception("The engine cannot read the app's requests; ending")
            os._exit(_UNREADABLE_REQUEST_EXIT)

    def _begin(self, request: Request) -> bool:
        """Mark a Generate as being served; False when a Stop took it out of the queue."""
        if not isinstance(request, Generate):
            return True
        with self._state_lock:
            if request.request_id not in self._queued:
                return False
            self._queued.discard(request.request_id)
            self._serving = request.request_id
            self._stop_asked.clear()
            self._to_resume = False
        return True

    def _cancel(self, request_id: int, *, to_resume: bool = False) -> None:
        with self._state_lock:
            queued = request_id in self._queued
            self._queued.discard(request_id)
            if request_id == self._serving:
                # A user's Stop after a pause is a Stop: what was held is then answer.
                first = not self._stop_asked.is_set()
                self._to_resume = to_resume and (first or self._to_resume)
                self._stop_asked.set()
        if queued:  # answered now: the request it waits behind may take minutes
            now = time.perf_counter()
            self._send(Finished(request_id, "cancelled", _stats(0, 0, 0, now, None, now)))

    def _is_stopped(self) -> bool:
        """Whether the Generate being served should stop: Stop, or the app went away."""
        return self._stop_asked.is_set() or self._app_gone.is_set()

    def _paused(self) -> bool:
        """Whether the Generate being served stopped to be resumed (not for good)."""
        with self._state_lock:
            return self._stop_asked.is_set() and self._to_resume and not self._app_gone.is_set()

    def _send(self, event: Event) -> None:
        with self._send_lock:
            self._conn.send(event)

    def _handle(self, request: Request) -> None:
        if isinstance(request, LoadModel):
            self._load(request)
        elif isinstance(request, UnloadModel):
            self._unload()
            self._send(Unloaded(request.request_id))
        elif isinstance(request, Generate):
            self._generate(request)
        elif isinstance(request, Embed):
            self._embed(request)
        elif isinstance(request, Tokenize):
            self._tokenize(request)
        elif isinstance(request, RenderChat):
            self._render_chat(request)
        elif isinstance(request, ProbeHardware):
            self._send(self._probe(request.request_id))
        else:
            self._send(Failed(request.request_id, "bad_request", f"Unknown request {request!r}"))

    def _threads_for(self, asked: int | None) -> int:
        """The request's own count, else the one the model was loaded with if the user chose
        it, else the physical cores less those other programs keep busy now."""
        assert self._model is not None
        chosen = asked or self._model.request.threads
        return chosen or self._cpu_share.threads(self._model.threads)

    # ---- hardware ----

    def _devices(self) -> tuple[DeviceInfo, ...]:
        from llama_cpp import _ggml

        lib = _ggml.libggml
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_char_p
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        size_p = ctypes.POINTER(ctypes.c_size_t)
        lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, size_p, size_p]
        lib.ggml_backend_dev_memory.restype = None
        devices = []
        for i in range(lib.ggml_backend_dev_count()):
            dev = lib.ggml_backend_dev_get(i)
            free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
            lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
            devices.append(
                DeviceInfo(
                    name=lib.ggml_backend_dev_name(dev).decode(),
                    description=lib.ggml_backend_dev_description(dev).decode(),
                    kind=_DEVICE_KINDS.get(lib.ggml_backend_dev_type(dev), "accel"),  # type: ignore[arg-type]
                    free_bytes=free.value,
                    total_bytes=total.value,
                )
            )
        return tuple(devices)

    def _probe(self, request_id: int) -> HardwareReport:
        devices = self._devices()
        gpus = hardware.gpu_devices(devices)
        return HardwareReport(
            request_id=request_id,
            backend=hardware.backend_name(gpus),
            gpu_offload=bool(self._llama_cpp.llama_supports_gpu_offload()),
            devices=devices,
            system_info=self._llama_cpp.llama_print_system_info().decode(errors="replace"),
        )

    # ---- model ----

    def _unload(self) -> None:
        if self._model is not None:
            self._model.llm.close()
            self._model = None

    def _load(self, request: LoadModel) -> None:
        from llama_cpp import Llama, llama_chat_format

        self._unload()
        started = time.perf_counter()
        gpus = (
            hardware.gpu_devices(self._devices())
            if self._llama_cpp.llama_supports_gpu_offload()
            else []
        )
        gpu_layers = request.gpu_layers
        if gpu_layers is None:
            gpu_layers = (
                hardware.choose_gpu_layers(request.shape, gpus, request.context_length)
                if request.shape is not None
                else (-1 if gpus else 0)
            )
        threads = request.threads or hardware.default_threads()
        name = Path(request.model_path).name
        context = request.context_length
        pooling_type = None
        if request.embedding:
            pooling_type, trained_context = _embedding_header(request.model_path)
            # A text longer than the model was trained on means nothing to it, and a model
            # with a table of learned positions (BERT) would read past it: llama.cpp aborts.
            context = min(context, trained_context or context)
        if pooling_type == _POOLING_RANK:
            self._send(
                Failed(
                    request.request_id,
                    "model_load",
                    f"{name} is a reranker: it scores how well a passage answers a query, "
                    "and gives no vectors to embed texts with. Choose an embedding model.",
                )
            )
            return
        embedding_mode: dict[str, Any] = {}
        if pooling_type is not None:
            # A text's tokens are pooled within one batch: batches as large as the context,
            # so that a text may fill it.
            embedding_mode = {
                "embedding": True,
                "pooling_type": pooling_type,
                "n_batch": context,
                "n_ubatch": context,
            }
        try:
            with _templates_left_to_lantern(llama_chat_format):
                llm = Llama(
                    model_path=request.model_path,
                    n_ctx=context,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=gpu_layers,
                    verbose=False,
                    **embedding_mode,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            self._send(
                Failed(
                    request.request_id,
                    "model_load",
                    f"Could not load {name}: {exc}. The file may be damaged or made for a "
                    "newer llama.cpp; try another download of it.",
                )
            )
            return
        template = llm.metadata.get("tokenizer.chat_template")
        if template:
            try:
                formatter: Any = self._chat_template(llm, template)
            except TemplateRefused as exc:
                llm.close()
                self._send(Failed(request.request_id, "model_load", str(exc)))
                return
        else:
            log.warning("%s has no chat template; using ChatML", name)
            formatter = llama_chat_format.format_chatml
        pooling = _POOLINGS[pooling_type] if pooling_type is not None else None
        self._model = _LoadedModel(llm, formatter, bool(template), request, threads, pooling)
        layers = self._llama_cpp.llama_model_n_layer(llm.model)
        offloaded = min(gpu_layers, layers + 1) if gpu_layers >= 0 else layers + 1
        on = hardware.backend_name(gpus)
        where = f"{offloaded} of {layers + 1} layers on {on}" if gpus else "all on the CPU"
        log.info("%s loaded: %s, context %d, %d threads", name, where, context, threads)
        self._send(
            ModelLoaded(
                request_id=request.request_id,
                model_path=request.model_path,
                context_length=min(llm.n_ctx(), context),
                trained_context_length=self._llama_cpp.llama_model_n_ctx_train(llm.model),
                layers=layers,
                gpu_layers=offloaded if gpus else 0,
                has_chat_template=bool(template),
                load_seconds=time.perf_counter() - started,
                recommended_sampling=_recommended_sampling(llm.metadata),
                embedding_size=llm.n_embd(),
                pooling=pooling,
                template_takes_tools=isinstance(formatter, ChatTemplate) and formatter.takes_tools,
                tool_call_form=(
                    formatter.tool_call_form if isinstance(formatter, ChatTemplate) else None
                ),
            )
        )

    def _chat_template(self, llm: Any, source: str) -> ChatTemplate:
        """The GGUF's template, rendered as llama-cpp-python's Jinja2ChatFormatter renders it
        (its extensions and filters), within limits (chat_template.py)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        return ChatTemplate(
            source,
            eos_token=self._token_text(llm, llm.token_eos()),
            bos_token=self._token_text(llm, llm.token_bos()),
            extensions=[Jinja2ChatFormatter.IgnoreGenerationTags],
            tojson=Jinja2ChatFormatter.tojson,
            strftime_now=Jinja2ChatFormatter.strftime_now,
            time_limit_s=self._render_time_limit_s,
        )

    @staticmethod
    def _token_text(llm: Any, token: int) -> str:
        return llm.detokenize([token], special=True).decode(errors="replace") if token >= 0 else ""

    # ---- requests on the loaded model ----

    def _render_chat(self, request: RenderChat) -> None:
        if self._model is None:
            self._send(Failed(request.request_id, "no_model", "No model is loaded."))
            return
        messages = [_template_message(m) for m in request.messages]
        try:
            tokens, rendered = self._render(messages, "", tools=request.tools)
        except TemplateRefused as exc:
            self._send(Failed(request.request_id, "bad_template", str(exc)))
            return
        self._send(RenderedChat(request.request_id, rendered.prompt, len(tokens)))

    def _tokenize(self, request: Tokenize) -> None:
        if self._model is None:
            self._send(Failed(request.request_id, "no_model", "No model is loaded."))
            return
        tokens = self._model.llm.tokenize(
            request.text.encode(), add_bos=request.add_special, special=request.add_special
        )
        self._send(Tokens(request.request_id, tuple(tokens)))

    def _embed(self, request: Embed) -> None:
        import numpy as np

        rid = request.request_id
        model = self._model
        if model is None:
            self._send(Failed(rid, "no_model", "No model is loaded; choose a model first."))
            return
        name = Path(model.request.model_path).name
        if model.pooling is None:
            self._send(
                Failed(
                    rid,
                    "wrong_mode",
                    f"{name} is loaded for generating text, not for embeddings; it must be "
                    "loaded for embeddings to embed texts.",
                )
            )
            return
        llm = model.llm
        # Llama.embed cuts a text to one batch: counted first, as it tokenizes, so that a
        # cut is refused rather than hidden (the end of a passage would go unsearched).
        counts = [len(llm.tokenize(text.encode())) for text in request.texts]
        for text, count in zip(request.texts, counts, strict=True):
            if count > llm.n_batch:
                opening = " ".join(text[:200].split()[:8])
                self._send(
                    Failed(
                        rid,
                        "context_overflow",
                        f'The text that begins "{opening}" is {count:,} tokens long, but '
                        f"{name} embeds at most {llm.n_batch:,} tokens of a text. Cut it into "
                        "shorter passages.",
                    )
                )
                return
        # An empty text says nothing: a zero vector, which matches nothing (and llama.cpp
        # cannot pool a text of no tokens).
        present = [i for i, text in enumerate(request.texts) if text and counts[i]]
        vectors = np.zeros((len(request.texts), llm.n_embd()), dtype=np.float32)
        tokens = 0
        if present:
            threads = self._threads_for(request.threads)
            self._llama_cpp.llama_set_n_threads(llm.ctx, threads, threads)
            pooled, tokens = llm.embed([request.texts[i] for i in present], return_count=True)
            found = np.asarray(pooled, dtype=np.float32)
            norms = np.linalg.norm(found, axis=1, keepdims=True)
            vectors[present] = found / np.where(norms > 0, norms, 1)
        self._send(Embeddings(rid, vectors, tokens))

    def _prompt_tokens(self, generate: Generate, n_ctx: int) -> tuple[list[int], list[str], int]:
        """The prompt as tokens (the forced ones last), the stop strings, and how many
        messages were left out to fit `n_ctx` (_Overflow when it cannot fit)."""
        assert self._model is not None
        llm = self._model.llm
        request = generate.request
        forced = list(request.forced_tokens)
        if request.prompt is not None:
            # As llama.cpp's server and llama-cpp-python read a prompt: special tokens typed
            # in it (<|im_start|>, say) are those tokens.
            tokens = llm.tokenize(request.prompt.encode(), add_bos=True, special=True) + forced
            _check_fits(len(tokens) + 1, n_ctx, "The prompt")
            return tokens, list(request.sampling.stop), 0
        messages = [_template_message(m) for m in request.messages]

        def render() -> tuple[list[int], Any]:
            # Each render has its own time limit; the app times each from this event.
            self._send(StageReached(generate.request_id, "rendering"))
            return self._render(
                messages, request.continue_text, self._is_stopped, tools=request.tools
            )

        tokens, rendered = render()
        reserve = answer_reserve(request.sampling.max_tokens, n_ctx)
        first = 1 if messages and messages[0]["role"] == "system" else 0
        if request.context_policy == "stop":
            _check_fits(len(tokens) + reserve, n_ctx, "The conversation", "stop")
        dropped = 0
        while len(tokens) + reserve > n_ctx and len(messages) - first > 1:  # the latest stays
            del messages[first]
            dropped += 1
            # Whole turns (a call's results with it): many templates insist the chat starts
            # with the user.
            while messages[first]["role"] in ("assistant", "tool") and len(messages) - first > 1:
                del messages[first]
                dropped += 1
            tokens, rendered = render()
        tokens += forced
        _check_fits(len(tokens) + 1, n_ctx, "The latest message")  # and one answer token
        stop = list(request.sampling.stop)
        if rendered.stop:  # the template's end of turn; its end token stops generation too
            stop += [rendered.stop] if isinstance(rendered.stop, str) else list(rendered.stop)
        return tokens, stop, dropped

    def _render(
        self,
        messages: list[dict[str, Any]],
        continue_text: str,
        stop_asked: Callable[[], bool] | None = None,
        *,
        tools: tuple[Tool, ...] = (),
    ) -> tuple[list[int], Any]:
        """The chat through the model's template, as tokens; `continue_text` after it.
        TemplateRefused when the template fails; RenderStopped when `stop_asked()` turns true."""
        assert self._model is not None
        formatter = self._model.formatter
        if isinstance(formatter, ChatTemplate):
            rendered = formatter(
                messages=messages,
                tools=[tool.as_json() for tool in tools],
                should_stop=stop_asked or (lambda: False),
            )
        else:  # llama-cpp-python's ChatML, for a model without a template: no tools
            rendered = formatter(messages=messages)
        text = rendered.prompt + continue_text
        tokens = self._model.llm.tokenize(
            text.encode(), add_bos=not rendered.added_special, special=True
        )
        return tokens, rendered

    def _generate(self, generate: Generate) -> None:
        rid, request = generate.request_id, generate.request
        started = time.perf_counter()
        if self._model is None:
            self._send(Failed(rid, "no_model", "No model is loaded; choose a model first."))
            return
        if self._model.pooling is not None:
            # llama.cpp would serve it (the same greedy answer), but in embedding mode it
            # makes every prompt token an output, logits and all, and each Embed drops the
            # prompt cache: a chat gets an engine loaded for chat.
            name = Path(self._model.request.model_path).name
            self._send(
                Failed(
                    rid,
                    "wrong_mode",
                    f"{name} is loaded for embeddings, not for generating text; it must be "
                    "loaded for chat to generate.",
                )
            )
            return
        llm = self._model.llm
        # llama.cpp may pad the context it allocates; llama-cpp-python's buffers hold what we asked.
        n_ctx = min(llm.n_ctx(), self._model.request.context_length)
        try:
            tokens, stop, dropped = self._prompt_tokens(generate, n_ctx)
            grammar = self._grammar(request.constraint)
        except RenderStopped:
            self._send(Finished(rid, "cancelled", _stats(0, 0, 0, started, None, started)))
            return
        except TemplateRefused as exc:
            self._send(Failed(rid, "bad_template", str(exc)))
            return
        except _Overflow as exc:
            self._send(Failed(rid, "context_overflow", str(exc)))
            return
        except _BadConstraint as exc:
            self._send(Failed(rid, "bad_constraint", str(exc)))
            return
        self._send(StageReached(rid, "reading_prompt"))
        if not request.reuse_cached_prompt:
            llm.reset()
        # llama-cpp-python evaluates at least the last prompt token again, to get fresh logits.
        prefix = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        cached = min(prefix, len(tokens) - 1)
        sampling = request.sampling
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        llm.set_seed(seed)
        threads = self._threads_for(request.threads)
        self._llama_cpp.llama_set_n_threads(llm.ctx, threads, threads)

        def finished(reason: FinishReason, generated: int, first_at: float | None) -> Finished:
            stats = _stats(len(tokens), cached, generated, started, first_at, time.perf_counter())
            return Finished(
                rid, reason, dataclasses.replace(stats, dropped_messages=dropped, seed=seed)
            )

        if not _read_prompt(llm, tokens, self._is_stopped):
            self._send(finished("cancelled", 0, None))
            return
        alternatives = _Alternatives(request.logprobs) if request.logprobs else None
        answer: AnswerText[GeneratedToken | None] = AnswerText(stop)
        outbox = _Outbox(self._send, rid, token_events=alternatives is not None)
        budget = min(sampling.max_tokens, n_ctx - len(tokens))
        markers = self._call_marker_tokens(request)
        generated, released, first_at = 0, 0, None
        finish_reason: FinishReason = "length"
        stream = llm.generate(
            tokens,
            temp=sampling.temperature,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
            typical_p=sampling.typical_p,
            repeat_penalty=sampling.repeat_penalty,
            presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty,
            mirostat_mode=sampling.mirostat,
            mirostat_tau=sampling.mirostat_tau,
            mirostat_eta=sampling.mirostat_eta,
            logits_processor=[alternatives] if alternatives is not None else None,
            grammar=grammar,
        )
        for token in _closing(stream):
            first_at = first_at or time.perf_counter()
            if self._is_stopped():
                finish_reason = "cancelled"
                break
            if self._llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                finish_reason = "stop"
                break
            generated += 1
            if (
                now_free := self._threads_for(request.threads)
            ) != threads:  # another program's load
                threads = now_free
                self._llama_cpp.llama_set_n_threads(llm.ctx, threads, threads)
            data = llm.detokenize([token], special=token in markers)
            record = alternatives.record(llm, token) if alternatives is not None else None
            pieces = answer.add(data, record)
            released += len(pieces)  # a piece per token
            outbox.add(pieces)
            if answer.stopped:
                finish_reason = "stop"
                break
            if generated >= budget:
                break
        if finish_reason == "cancelled" and self._paused():
            counted = released  # the held tokens are made again when it resumes
        else:
            counted = generated
            outbox.add(answer.finish())
        outbox.flush()
        self._send(finished(finish_reason, counted, first_at))

    def _call_marker_tokens(self, request: GenerationRequest) -> frozenset[int]:
        """Where tools are offered, the special tokens that mark the model's calls in the form
        its template teaches: written out as text, as llama.cpp's server writes its
        "preserved tokens", where other special tokens are left out of the answer."""
        assert self._model is not None
        formatter, llm = self._model.formatter, self._model.llm
        form = formatter.tool_call_form if isinstance(formatter, ChatTemplate) else None
        if not request.tools or form is None:
            return frozenset()
        spelled = (
            llm.tokenize(marker.encode(), add_bos=False, special=True)
            for marker in TOOL_CALL_MARKERS[form]
        )
        return frozenset(tokens[0] for tokens in spelled if len(tokens) == 1)

    def _grammar(self, constraint: OutputConstraint | None) -> Any:
        """The constraint as a LlamaGrammar that llama.cpp accepted (_BadConstraint if not)."""
        from llama_cpp import LlamaGrammar

        if constraint is None:
            return None
        if constraint.kind == "json_schema":
            try:
                if constraint.opening or constraint.closing or constraint.alternatives:
                    grammar = LlamaGrammar.from_string(
                        _framed_json_grammar((constraint, *constraint.alternatives))
                    )
                else:
                    grammar = LlamaGrammar.from_json_schema(constraint.text)
            except Exception as exc:  # invalid JSON, or a schema feature it cannot express
                raise _BadConstraint(f"The JSON schema cannot be used: {exc}") from exc
        else:
            grammar = LlamaGrammar.from_string(constraint.text)
        # llama.cpp parses a grammar only when sampling starts, and a grammar it rejects
        # leaves a null sampler that crashes the engine: parse it once here first.
        assert self._model is not None
        with _native_stderr() as errors:
            parsed = self._llama_cpp.llama_sampler_init_grammar(
                self._model.llm._model.vocab, grammar._grammar.encode(), b"root"
            )
        if not parsed:
            what = "JSON schema" if constraint.kind == "json_schema" else "GBNF grammar"
            # llama.cpp says why on stderr: "parse: error parsing grammar: <why>".
            detail = " ".join(
                line.split("error parsing grammar:")[-1].strip()
                for line in errors()
                if "error" in line
            )
            # It says nothing of the commonest mistake: no rule named root.
            detail = detail or "it needs a rule named root, where the output starts"
            raise _BadConstraint(f"The {what} is not valid: {detail}.")
        self._llama_cpp.llama_sampler_free(parsed)
        return grammar


class _Alternatives:
    """A logits processor that keeps each step's distribution, so that every generated token
    comes with its probability and the `top` most likely tokens at its place."""

    def __init__(self, top: int) -> None:
        self._top = top
        self._logits: Any = None
        self._log_total = 0.0

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        import numpy as np

        # The model's own distribution, before penalties, grammar, temperature and cut-offs.
        self._logits = np.array(logits, dtype=np.float32)
        peak = float(self._logits.max())
        self._log_total = peak + float(np.log(np.exp(self._logits - peak).sum()))
        return logits

    def record(self, llm: Any, token: int) -> GeneratedToken:
        import numpy as np

        logits = self._logits
        top = np.argpartition(-logits, self._top)[: self._top]
        top = top[np.argsort(-logits[top])]

        def choice(token_id: int) -> TokenChoice:
            text = llm.detokenize([token_id], special=True).decode(errors="replace")
            return TokenChoice(token_id, text, float(logits[token_id]) - self._log_total)

        return GeneratedToken(choice(token), tuple(choice(int(t)) for t in top))


class _Outbox:
    """The answer's pieces to the app in batches: every message wakes the app, whose threads
    then take a core from llama.cpp's. The first piece goes at once; later ones at most ~40
    times a second."""

    def __init__(self, send: Any, request_id: int, *, token_events: bool) -> None:
        self._send = send
        self._request_id = request_id
        self._token_events = token_events
        self._pending: list[Piece[GeneratedToken | None]] = []
        self._last_sent = 0.0

    def add(self, pieces: list[Piece[GeneratedToken | None]]) -> None:
        self._pending.extend(pieces)
        now = time.perf_counter()
        if self._pending and now - self._last_sent >= SEND_INTERVAL_S:
            self.flush()
            self._last_sent = now

    def flush(self) -> None:
        if not self._pending:
            return
        if self._token_events:
            tokens = tuple(
                dataclasses.replace(
                    p.payload, choice=dataclasses.replace(p.payload.choice, text=p.text)
                )
                for p in self._pending
                if p.payload is not None
            )
            self._send(GeneratedTokens(self._request_id, tokens))
        else:
            text = "".join(p.text for p in self._pending)
            if text:
                self._send(TokenText(self._request_id, text))
        self._pending.clear()


class _TemplateNotCompiled:
    """Stands in for llama-cpp-python's Jinja2ChatFormatter while a model loads: Llama()
    compiles every chat template in the file with an unbounded sandbox, and Jinja folds
    constants as it compiles (`{{ "a" * 10**10 }}` is 10 GB at load). Lantern renders the
    template itself (ChatTemplate) and never uses llama-cpp-python's chat handlers."""

    def __init__(self, **_: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        def refuse(**_: Any) -> Any:
            raise RuntimeError("Lantern renders chat templates with its own ChatTemplate")

        return refuse


@contextlib.contextmanager
def _templates_left_to_lantern(llama_chat_format: Any) -> Iterator[None]:
    real = llama_chat_format.Jinja2ChatFormatter
    llama_chat_format.Jinja2ChatFormatter = _TemplateNotCompiled
    try:
        yield
    finally:
        llama_chat_format.Jinja2ChatFormatter = real


def _read_prompt(llm: Any, tokens: list[int], stopped: Callable[[], bool]) -> bool:
    """Evaluate the prompt as `llm.generate()` would, the same batches of n_batch from the
    same cached prefix (so the answer is the same), but one that `stopped()` can end: False
    then. generate() then finds the whole prompt cached and samples at once."""
    prefix = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
    if prefix == len(tokens) == llm.n_tokens and not llm._requires_eval:
        return True  # exactly this prompt, with fresh logits: nothing to read
    keep = prefix - 1 if prefix == len(tokens) else prefix  # the last token gives logits
    if keep <= 0 or not llm._ctx.kv_cache_seq_rm(-1, keep, -1):  # a model that cannot
        llm.reset()  # drop part of its memory (recurrent) reads the prompt afresh
        keep = 0
    llm.n_tokens = keep
    llm._requires_eval = True  # the logits held are another position's
    with _abortable(llm, stopped):
        for start in range(keep, len(tokens), llm.n_batch):
            if stopped():
                return False
            try:
                llm.eval(tokens[start : start + llm.n_batch])
            except RuntimeError:  # "llama_decode returned 2": aborted, that batch undone
                if stopped():
                    return False
                raise
    return True


@contextlib.contextmanager
def _abortable(llm: Any, stopped: Callable[[], bool]) -> Iterator[None]:
    """Meanwhile llama.cpp asks `stopped()` between the steps of a batch (on the CPU; a GPU
    is done with a batch sooner): a batch of a big model on a CPU takes many seconds, past
    the time the app gives a Stop. Not while generating: a token is short, and the call
    costs a few microseconds a step."""
    import llama_cpp

    callback = llama_cpp.ggml_abort_callback(lambda _data: stopped())
    llama_cpp.llama_set_abort_callback(llm.ctx, callback, None)
    try:
        yield
    finally:
        llama_cpp.llama_set_abort_callback(llm.ctx, llama_cpp.ggml_abort_callback(), None)


def _embedding_header(model_path: str) -> tuple[int, int | None]:
    """The pooling llama.cpp is to use (enum llama_pooling_type), and the context the model
    was trained on (None where the header does not say), from the GGUF's header.

    The pooling is the one the GGUF declares (`<arch>.pooling_type`), else mean. A chat model
    declares none (llama.cpp would then give a vector per token); the mean of its token
    vectors is one per text, as sentence-transformers pools by default."""
    try:
        with open(model_path, "rb") as fh:
            header = read_gguf_header(lambda n: (fh.seek(0), fh.read(n))[1])
    except (OSError, InvalidModelFile):
        return _POOLING_MEAN, None  # llama.cpp says what is wrong with the file as it loads
    arch = header.metadata.get("general.architecture")
    declared = header.get_int(f"{arch}.pooling_type")
    pooling = declared if declared in (*_POOLINGS, _POOLING_RANK) else _POOLING_MEAN
    return pooling, header.get_int(f"{arch}.context_length")


def _closing(stream: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def _native_stderr() -> Iterator[Any]:
    """Capture what native code writes to fd 2 meanwhile; yields a function for the lines."""
    captured: list[str] = []
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.extend(sink.read().decode(errors="replace").splitlines())


def _stats(
    prompt_tokens: int,
    cached: int,
    generated: int,
    started: float,
    first_at: float | None,
    ended: float,
) -> GenerationStats:
    first = first_at if first_at is not None else ended
    prefill_s = max(first - started, 1e-9)
    decode_s = ended - first
    return GenerationStats(
        prompt_tokens=prompt_tokens,
        cached_prompt_tokens=cached,
        generated_tokens=generated,
        time_to_first_token_s=prefill_s if first_at is not None else 0.0,
        prompt_tokens_per_s=(prompt_tokens - cached) / prefill_s if first_at is not None else 0.0,
        generation_tokens_per_s=generated / decode_s if generated and decode_s > 0 else 0.0,
        total_s=ended - started,
    )


class _Overflow(Exception):
    """The request cannot fit the context window; the message says what to do."""


class _BadConstraint(Exception):
    """The grammar or JSON schema cannot be used; the message says why."""


def _check_fits(tokens: int, n_ctx: int, what: str, policy: str = "drop_middle") -> None:
    if tokens <= n_ctx:
        return
    advice = (
        "Let Lantern leave out the oldest messages (the conversation's context setting), "
        "start a new conversation, or load the model with a longer context."
        if policy == "stop"
        else "Shorten it, or load the model with a longer context."
    )
    raise _Overflow(
        f"{what} needs {tokens:,} tokens with room for an answer, but the model's context "
        f"window holds {n_ctx:,}. {advice}"
    )


# The GGUF keys in which a model's makers recommend sampling settings -> Sampling fields.
_RECOMMENDED_SAMPLING = {
    "general.sampling.temp": "temperature",
    "general.sampling.top_k": "top_k",
    "general.sampling.top_p": "top_p",
    "general.sampling.min_p": "min_p",
    "general.sampling.penalty_repeat": "repeat_penalty",
    "general.sampling.mirostat": "mirostat",
    "general.sampling.mirostat_tau": "mirostat_tau",
    "general.sampling.mirostat_eta": "mirostat_eta",
}


def _recommended_sampling(metadata: dict[str, str]) -> tuple[tuple[str, float], ...]:
    found = []
    for key, field_name in _RECOMMENDED_SAMPLING.items():
        try:
            found.append((field_name, float(metadata[key])))
        except (KeyError, ValueError):
            continue
    return tuple(found)


def _framed_json_grammar(framings: Sequence[OutputConstraint]) -> str:
    """A GBNF grammar for any one of `framings`: JSON held to its schema between its literal
    texts `opening` and `closing`. llama-cpp-python's converter (what
    LlamaGrammar.from_json_schema uses) makes each JSON a rule of its own, so that our root
    can put the texts around it."""
    from llama_cpp.llama_grammar import SchemaConverter

    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    choices = []
    for index, framed in enumerate(framings, 1):
        schema = converter.resolve_refs(json.loads(framed.text), f"schema{index}")
        json_rule = converter.visit(schema, f"json{index}")
        # A JSON string is a GBNF literal: the same quotes and escapes (\n, \", \\, \uXXXX).
        texts = [json.dumps(text) if text else "" for text in (framed.opening, framed.closing)]
        choices.append(" ".join(part for part in (texts[0], json_rule, texts[1]) if part))
    return f"root ::= {' | '.join(choices)}\n{converter.format_grammar()}"


def _template_message(message: ChatMessage) -> dict[str, Any]:
    """A message as chat templates read one: OpenAI's form, as transformers hands it to them,
    with a call's arguments as an object (templates write them with `tojson`)."""
    written: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        written["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments(call.arguments)},
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        written["tool_call_id"] = message.tool_call_id
    return written


def _arguments(text: str) -> Any:
    """A call's arguments as the object they write; the text itself where it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text
