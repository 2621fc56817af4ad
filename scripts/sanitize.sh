#!/usr/bin/env bash
# The CPU suite under AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer harness for
# FUZZ_SECONDS (default 30) from its committed seed corpus. Its own build folder (build-san, clang,
# CUDA off), so it never disturbs ./build. Part of the test command (scripts/test.sh).
#   FUZZ_SECONDS=600 bash scripts/sanitize.sh    # the longer run for humans (10 minutes per harness)
#   SAN_TESTS=0 bash scripts/sanitize.sh          # fuzz only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh clang libclang-rt-dev libomp-dev
CC=clang CXX=clang++ cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCYCLEGAN_CUDA=OFF \
  -DCYCLEGAN_BENCH=OFF -DCYCLEGAN_SANITIZE=ON -DCYCLEGAN_FUZZ=ON -DCYCLEGAN_MPI=OFF >/dev/null
cmake --build build-san -j"$(nproc)"

# Any report fails the run: UB aborts (no recovery, see CMakeLists.txt), leaks are reported at exit.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
if [[ ${SAN_TESTS:-1} != 0 ]]; then
  (cd build-san && ctest --output-on-failure -j"$(nproc)" --timeout 1200) || rc=1
fi

seconds=${FUZZ_SECONDS:-30}
findings=build-san/fuzz-findings
mkdir -p "$findings"
for f in png jpeg tiff safetensors train_state; do
  work=build-san/fuzz-corpus/$f  # what the run learns stays here; the committed seeds stay as they are
  mkdir -p "$work"
  echo "== fuzz_$f for ${seconds} s"
  if ! build-san/fuzz/fuzz_$f -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings/$f-" "$work" "fuzz/corpus/$f" >"build-san/fuzz_$f.log" 2>&1; then
    echo "== fuzz_$f FOUND A PROBLEM: the input is in $findings, the report in build-san/fuzz_$f.log"
    tail -40 "build-san/fuzz_$f.log"
    rc=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-san/fuzz_$f.log" | tr '\n' ' '
    echo
  fi
done
exit "$rc"
