# Lantern: `make run` opens the app, `make test` runs the whole suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LLAMA_CPP_PYTHON := 0.3.36

# Built llama.cpp wheels and the starter model are kept outside the checkout, so a fresh
# clone on the same machine does not compile llama.cpp or download the model again.
BUILD_CACHE ?= $(HOME)/.cache/lantern-build
export LANTERN_STARTER_CACHE ?= $(BUILD_CACHE)/starter

# The llama.cpp backend: CUDA where an NVIDIA GPU answers (not merely a CUDA compiler),
# Metal on Apple silicon, CPU otherwise. Override with `make BACKEND=cpu ...`.
ifeq ($(shell uname -s),Darwin)
  BACKEND ?= $(if $(filter arm64,$(shell uname -m)),metal,cpu)
else
  BACKEND ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo cuda || echo cpu)
endif
# llama.cpp 0.3.36's AMX kernels (Intel Xeon, Sapphire Rapids and later) crash in the
# first decode on machines that have AMX; the AVX-512 kernels are used there instead.
NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16')
CMAKE_ARGS_cpu := -DGGML_CUDA=off -DGGML_METAL=off $(NO_AMX)
CMAKE_ARGS_cuda := -DGGML_CUDA=on $(NO_AMX)
CMAKE_ARGS_metal := -DGGML_METAL=on
WHEELS := $(BUILD_CACHE)/wheels/$(BACKEND)-no-amx
# One stamp per backend: `make package BACKEND=cpu` after a CUDA setup reinstalls llama.cpp.
INSTALLED := $(VENV)/.installed-$(BACKEND)

.PHONY: run test lint bench package package-test clean-venv

# The window's system libraries first: Qt's own error would come after the model download.
run: $(INSTALLED)
	$(BIN)/lantern doctor --display
	$(BIN)/lantern models install-starter
	$(BIN)/lantern

test: $(INSTALLED)
	$(BIN)/python -m desktop.models.starter "$(LANTERN_STARTER_CACHE)" >/dev/null
	$(BIN)/python -m desktop.models.embedder_install "$(LANTERN_STARTER_CACHE)" >/dev/null
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest --ignore=tests/packaging

# The installers this machine can build (packaging/README.md): the one-folder bundle in
# dist/lantern with this machine's llama.cpp backend; on Linux the .deb beside it and the
# AppImage's AppDir (build/Lantern.AppDir; packing it needs appimagetool, see the workflow).
package: $(INSTALLED)
	$(BIN)/pyinstaller packaging/lantern.spec --noconfirm --log-level WARN \
	  --distpath dist --workpath build/pyinstaller
ifeq ($(shell uname -s),Linux)
	LANTERN_BACKEND=$(BACKEND) PYTHON=$(BIN)/python packaging/linux/build-deb.sh
	LANTERN_BACKEND=$(BACKEND) PYTHON=$(BIN)/python packaging/linux/build-appimage.sh --appdir-only
endif

# The bundle and the AppDir run from outside the source tree, and the .deb installed into
# this machine with dpkg (as root, or through sudo) and removed again.
package-test: package
	$(BIN)/python -m desktop.models.starter "$(LANTERN_STARTER_CACHE)" >/dev/null
	$(BIN)/python -m desktop.models.embedder_install "$(LANTERN_STARTER_CACHE)" >/dev/null
	$(BIN)/python -m pytest tests/packaging

lint: $(INSTALLED)
	$(BIN)/ruff check desktop tests benchmarks
	$(BIN)/ruff format --check desktop tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Lantern's whole path against llama-cpp-python used directly, and downloads against
# huggingface_hub's; on the starter model. The frozen app's start against the source
# install's needs the bundle, and Debian's xvfb and xdotool.
bench: package
	@embedder=$$($(BIN)/python -m desktop.models.embedder_install "$(LANTERN_STARTER_CACHE)") && \
	home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	LANTERN_HOME=$$home $(BIN)/lantern models install-starter >/dev/null && \
	LANTERN_HOME=$$home $(BIN)/lantern bench --threads 2 $(BENCH_ARGS) && \
	$(BIN)/python benchmarks/download_throughput.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" --runs 7 && \
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/models_page_stall.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/chat_open_large.py && \
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/chat_stream_stall.py && \
	$(BIN)/python benchmarks/summarize_long.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" --threads 2 && \
	$(BIN)/python benchmarks/playground.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/history_search.py --messages 1000000 && \
	$(BIN)/python benchmarks/engine_lanes.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" --threads 2 && \
	$(BIN)/python benchmarks/second_process_memory.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/embeddings.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/remote_decode.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/serve_decode.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/serve_first_token.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/serve_concurrent.py \
	  "$(LANTERN_STARTER_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf" && \
	$(BIN)/python benchmarks/docs_recall.py "$$embedder" --threads 2 && \
	$(BIN)/python benchmarks/docs_indexing.py "$$embedder" --threads 2 && \
	$(BIN)/python benchmarks/docs_search.py && \
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/docs_gui_stall.py "$$embedder" && \
	xvfb-run -a $(BIN)/python benchmarks/cold_start.py

$(INSTALLED): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_PYTHON)-*.whl >/dev/null 2>&1; then \
	  echo "Building llama.cpp ($(BACKEND)); this takes several minutes, once."; \
	  CMAKE_ARGS="$(CMAKE_ARGS_$(BACKEND))" CMAKE_BUILD_PARALLEL_LEVEL=$$(getconf _NPROCESSORS_ONLN) \
	    $(BIN)/python -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
	    --wheel-dir $(WHEELS) llama-cpp-python==$(LLAMA_CPP_PYTHON); \
	fi
	@# Forced: a venv may hold a build of the same version made with other flags.
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps --find-links $(WHEELS) \
	  llama-cpp-python==$(LLAMA_CPP_PYTHON)
	$(BIN)/python -m pip install --quiet -e ".[test,package]"
	rm -f $(VENV)/.installed-*
	touch $@

clean-venv:
	rm -rf $(VENV)
