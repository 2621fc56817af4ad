#!/usr/bin/env bash
# The test command: installs what it needs, builds, runs every suite under ctest, then the CPU
# suite under AddressSanitizer + UndefinedBehaviorSanitizer and the fuzzers (scripts/sanitize.sh).
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
cd ..
# The CPU suite again under ASan + UBSan, then each fuzzer for 30 s (its own clang build, build-san).
echo "== sanitizers and fuzzers (scripts/sanitize.sh)"
bash scripts/sanitize.sh || rc=1
echo "== test command wall time: $(( $(date +%s) - start )) s"
exit "$rc"
