#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, the CUDA toolkit, cuDNN and PyTorch with CUDA: builds, then
# times one CycleGAN training iteration at 256x256 with ours and with PyTorch (eager) on the GPU,
# one after the other, and prints ms per iteration and both peak GPU memories.
# PYTHON selects the interpreter that has PyTorch (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh -DCYCLEGAN_CUDA=ON >/dev/null
"${PYTHON:-python3}" bench/compare.py --device cuda --python "${PYTHON:-python3}" "$@"
