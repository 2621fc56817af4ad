#!/usr/bin/env bash
# The test command: installs what it needs, builds, runs every suite under ctest, then the CPU
# suite under AddressSanitizer + UndefinedBehaviorSanitizer and the fuzzers (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# the ONNX export's build (protobuf classes) and its test (onnx.checker, onnxruntime-node below);
# graphviz for the test that renders autograd_demo's graph; OpenMPI for the data-parallel tests, and
# Slurm and munge for the srun test (it starts its own one-node Slurm and stops it)
bash scripts/deps.sh libonnx-dev libprotobuf-dev python3-onnx graphviz openmpi-bin libopenmpi-dev \
  slurmctld slurmd slurm-client munge
bash scripts/build.sh "$@"
# onnxruntime's CPU runtime from npm, once per build folder; --onnxruntime-node-install=skip keeps its
# install script from downloading GPU binaries
ORT_DIR=build/onnxruntime-node
if [[ ! -d $ORT_DIR/node_modules/onnxruntime-node ]]; then
  command -v npm >/dev/null || bash scripts/deps.sh nodejs npm
  mkdir -p "$ORT_DIR"
  (cd "$ORT_DIR" && npm install --no-audit --no-fund --loglevel=error onnxruntime-node@1.30.0 \
    --onnxruntime-node-install=skip)
fi
export CG_ONNXRUNTIME_DIR=$PWD/$ORT_DIR CG_REQUIRE_ONNX=1
cd build
set +e
ctest --output-on-failure -j"$(nproc)" | tee ctest.log
rc=${PIPESTATUS[0]}
set -e
echo "== $(grep -E 'tests passed|tests failed' ctest.log | tail -1)"
cd ..
# The CPU suite again under ASan + UBSan, then each fuzzer for 30 s (its own clang build, build-san).
echo "== sanitizers and fuzzers (scripts/sanitize.sh)"
bash scripts/sanitize.sh || rc=1
echo "== test command wall time: $(( $(date +%s) - start )) s"
exit "$rc"
