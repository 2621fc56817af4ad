#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, the CUDA toolkit, cuDNN and PyTorch with CUDA: times one CycleGAN
# training iteration with ours and with PyTorch (eager, and torch.compile) on the GPU at 256x256,
# 512x512 and 1024x1024 (batch 1) and 256x256 (batch 4), one after the other in one run, and prints
# ms per iteration, the speed-ups and every peak GPU memory.
#   bash bench/compare_cuda.sh [BUILD_DIR]     # an existing build (e.g. the GPU kit's); else builds ./build
# Extra arguments after BUILD_DIR go to bench/compare.py (--configs 256x1, --no-compile, --iters N).
# PYTHON selects the interpreter that has PyTorch (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$BUILD" ]; then
  bash scripts/build.sh -DCYCLEGAN_CUDA=ON >/dev/null
  BUILD=build
fi
[ -x "$BUILD/bench/bench_step" ] || { echo "compare_cuda.sh: no $BUILD/bench/bench_step (build with -DCYCLEGAN_CUDA=ON)"; exit 1; }
"${PYTHON:-python3}" bench/compare.py --device cuda --build "$BUILD" --python "${PYTHON:-python3}" "$@"
