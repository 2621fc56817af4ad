#!/usr/bin/env bash
# One command: installs what it needs (PyTorch from Debian for the peer), builds, then times one
# CycleGAN training iteration with ours and with PyTorch, same machine, same thread count
# (THREADS, default all cores), and prints the ratio and both peak memories.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh python3-torch
bash scripts/build.sh >/dev/null
/usr/bin/python3 bench/compare.py --device cpu --threads "${THREADS:-$(nproc)}" --python /usr/bin/python3 "$@"
