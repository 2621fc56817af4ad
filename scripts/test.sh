#!/usr/bin/env bash
# The test command: installs what it needs, builds, runs every suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/deps.sh
bash scripts/build.sh "$@"
cd build
set +e
ctest --output-on-failure -j"$(nproc)" | tee ctest.log
rc=${PIPESTATUS[0]}
set -e
echo "== $(grep -E 'tests passed|tests failed' ctest.log | tail -1)"
echo "== test command wall time: $(( $(date +%s) - start )) s"
exit "$rc"
