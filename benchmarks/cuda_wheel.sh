#!/usr/bin/env bash
# Builds llama-cpp-python with CUDA on a machine that has neither a GPU nor the CUDA toolkit,
# for benchmarks/gpu_checks.py on a GPU machine with no network (GPU time is too short to
# compile llama.cpp there). The CUDA 13 compiler, runtime and cuBLAS come from NVIDIA's
# packages on PyPI; libcuda, the driver's own library that only a GPU machine has, is stood
# in for by a stub with the driver functions ggml-cuda calls, to link against (the GPU
# machine's driver provides the real one at run time).
#
#   benchmarks/cuda_wheel.sh OUT_DIR [CUDA_ARCHITECTURES]    (default 90-real: H100, H200)
#
# The wheel needs libcudart.so.13 and libcublas.so.13 where it runs (PyTorch's CUDA 13
# packages hold them) and a driver for CUDA 13 (580 or later). About 20 minutes on 2 cores.
set -euo pipefail

out=$(realpath -m "$1")
architectures=${2:-90-real}
version=$(sed -n 's/^LLAMA_CPP_PYTHON := //p' "$(dirname "$0")/../Makefile")
python=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The toolkit, unpacked as one tree (nvcc finds cicc and the headers by its nvcc.profile).
"$python" -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/wheels" \
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cublas==13.0.2.14
for wheel in "$work"/wheels/*.whl; do unzip -q -o "$wheel" -d "$work/toolkit"; done
cuda=$work/toolkit/nvidia/cu13
for library in cudart cublas cublasLt; do ln -sf "lib$library.so.13" "$cuda/lib/lib$library.so"; done
ln -sfn lib "$cuda/lib64"

# llama.cpp's source, and a libcuda with every driver function its CUDA backend calls.
"$python" -m pip download -q --no-deps --no-binary=:all: -d "$work/source" \
  "llama-cpp-python==$version"
tar -xzf "$work/source/llama_cpp_python-$version.tar.gz" -C "$work/source"
source_tree=$work/source/llama_cpp_python-$version
mkdir -p "$cuda/lib/stubs"
grep -rhoE '\bcu[A-Z][A-Za-z0-9_]+\(' "$source_tree/vendor/llama.cpp/ggml/src/ggml-cuda" \
  | tr -d '(' | grep -vE '^cu(da|blas|BLAS)' | sort -u \
  | sed 's/.*/int &(void) { return 0; }/' >"$work/libcuda.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cuda/lib/stubs/libcuda.so" "$work/libcuda.c"

PATH=$cuda/bin:$PATH CUDACXX=$cuda/bin/nvcc LIBRARY_PATH=$cuda/lib/stubs:$cuda/lib \
  CMAKE_BUILD_PARALLEL_LEVEL=$(getconf _NPROCESSORS_ONLN) \
  CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$architectures -DCUDAToolkit_ROOT=$cuda \
    -DCMAKE_CUDA_COMPILER=$cuda/bin/nvcc -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
    -DGGML_FMA=ON -DGGML_F16C=ON" \
  "$python" -m pip wheel -q --no-deps --wheel-dir "$out" "$source_tree"
ls "$out"/llama_cpp_python-"$version"-*.whl
