#!/usr/bin/env bash
# Data parallel on this machine's cores, ours against PyTorch (torch.distributed, gloo): one
# process with all the threads, then RANKS processes sharing them (THREADS / RANKS each), timing
# the gradient averaging of the default CycleGAN and its training iteration (bench/bench_dist.cpp,
# bench/peer_dist.py). Installs what it needs (OpenMPI, Debian's PyTorch), builds.
#   bash bench/compare_dist.sh            # RANKS=2, THREADS=nproc, SIZE=128
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh python3-torch openmpi-bin libopenmpi-dev
bash scripts/build.sh >/dev/null
ranks=${RANKS:-2}
threads=${THREADS:-$(nproc)}
per=$(( threads / ranks > 0 ? threads / ranks : 1 ))
size=${SIZE:-128}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "== ours: 1 rank x $threads threads"
OMP_NUM_THREADS=$threads ./build/bench/bench_dist --benchmark_filter="size:$size"
echo "== ours: $ranks ranks x $per threads"
OMP_NUM_THREADS=$per mpirun -np "$ranks" --oversubscribe --bind-to none ./build/bench/bench_dist \
  --benchmark_filter="average|size:$size"
echo "== PyTorch: 1 rank x $threads threads"
/usr/bin/python3 bench/peer_dist.py --ranks 1 --threads "$threads" --size "$size" --modes step
echo "== PyTorch: $ranks ranks x $per threads"
/usr/bin/python3 bench/peer_dist.py --ranks "$ranks" --threads "$per" --size "$size"
