# shellcheck shell=bash disable=SC2154  # $bundle and $backend come from the sourcing script
# Sourced by the Linux build scripts: stop when the bundle's llama.cpp is not the variant the
# package will be named after (the Makefile picks CUDA by itself where an NVIDIA GPU answers).
# Needs $bundle and $backend.
has_cuda=$(find "$bundle" -name 'libggml-cuda*' -print -quit)
if [[ $backend == cuda && -z $has_cuda ]] || [[ $backend != cuda && -n $has_cuda ]]; then
  echo "LANTERN_BACKEND=$backend does not match the bundle's llama.cpp (CUDA library:" \
    "${has_cuda:-none}): rebuild llama-cpp-python for $backend, then the bundle." >&2
  exit 1
fi
