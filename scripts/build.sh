#!/usr/bin/env bash
# Configures and builds into ./build (Release, CUDA when the toolkit and cuDNN are found).
# Extra arguments go to cmake's configure step, e.g. -DCYCLEGAN_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
