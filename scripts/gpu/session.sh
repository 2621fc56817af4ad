#!/usr/bin/env bash
# One GPU-machine session (see ../shared/gpu): build with the offline kit, then the steps named in
# STEPS (default: tests bench app), logs under $OUT (or /tmp/out). Used through the device tool:
#   STEPS="tests sanitizer bench app compare" bash scripts/gpu/session.sh
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
B=${B:-/tmp/b}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,temperature.gpu --format=csv,noheader > "$OUT/gpu.txt"
cat "$OUT/gpu.txt"
t0=$(date +%s)
bash .gpu/offline-build.sh . "$B" || { tail -50 "$B/build.log" > "$OUT/build.log"; exit 1; }
grep -iE "warning" "$B/build.log" | grep -v "^ninja" | head -20 > "$OUT/build_warnings.txt"
echo "build: $(( $(date +%s) - t0 )) s, $(wc -l < "$OUT/build_warnings.txt") warning lines"
source "$B/env.sh"
for step in ${STEPS:-tests bench app}; do
  t=$(date +%s)
  case $step in
    tests)
      CG_CONV_LOG=1 timeout 400 "$B/tests/cg_cuda_tests" > "$OUT/cuda_tests.log" 2>&1
      echo "cuda tests: rc=$? ($(( $(date +%s) - t )) s)"
      grep -E "^\[doctest\] (test cases|assertions)|ERROR|FATAL|TEST CASE|MESSAGE" "$OUT/cuda_tests.log" | head -40 ;;
    sanitizer)
      CG_CONV_LOG=1 timeout 500 compute-sanitizer --tool memcheck --leak-check no --error-exitcode 9 \
        "$B/tests/cg_cuda_tests" > "$OUT/sanitizer.log" 2>&1
      echo "compute-sanitizer memcheck: rc=$? ($(( $(date +%s) - t )) s)"
      grep -E "ERROR SUMMARY|test cases" "$OUT/sanitizer.log" | tail -3 ;;
    bench)
      timeout 300 "$B/bench/bench_step" --benchmark_filter=cuda > "$OUT/bench_step.txt" 2>&1
      echo "bench_step: rc=$?"; grep -E "cuda" "$OUT/bench_step.txt" ;;
    app)
      python3 - <<'PY'
import numpy as np, os
from PIL import Image
rng = np.random.default_rng(0)
for d in ("trainA", "trainB"):
    os.makedirs(f"/tmp/ds/{d}", exist_ok=True)
    for i in range(25):
        Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(f"/tmp/ds/{d}/{i}.png")
PY
      timeout 300 "$B/apps/cyclegan_train" --dataroot /tmp/ds --name speed --checkpoints_dir /tmp/ck --device cuda \
        --n_epochs 4 --n_epochs_decay 0 --print_freq 25 --display_freq 1000000 --save_epoch_freq 100 \
        > "$OUT/app.log" 2>&1
      echo "cyclegan_train: rc=$? ($(( $(date +%s) - t )) s)"; grep -E "^\(epoch" "$OUT/app.log" | tail -4 ;;
    compare)
      timeout 560 bash bench/compare_cuda.sh "$B" > "$OUT/compare.txt" 2>&1
      echo "compare: rc=$? ($(( $(date +%s) - t )) s)"; tail -8 "$OUT/compare.txt" ;;
    amp)  # --amp against PyTorch under torch.autocast(bfloat16)
      timeout 560 bash bench/compare_cuda.sh "$B" --amp --no-compile > "$OUT/compare_amp.txt" 2>&1
      echo "compare --amp: rc=$? ($(( $(date +%s) - t )) s)"; tail -8 "$OUT/compare_amp.txt" ;;
    profile)  # GPU time by kernel over one replayed step at 256x256 batch 1
      CG_PROFILE_STEP=1 timeout 300 ncu --profile-from-start off --metrics gpu__time_duration.sum --csv \
        --page raw "$B/bench/bench_step" --benchmark_filter='cuda/size:256/batch:1' > "$OUT/ncu.csv" 2>&1
      python3 scripts/gpu/kernel_summary.py "$OUT/ncu.csv" 40 > "$OUT/kernels.txt"
      echo "profile: ($(( $(date +%s) - t )) s)"; head -30 "$OUT/kernels.txt" ;;
    convlog)  # the engines the search chose for the 256x256 batch 1 step, with the runners-up
      CG_CONV_LOG=1 timeout 120 "$B/bench/bench_step" --benchmark_filter='cuda/size:256/batch:1' \
        > "$OUT/convlog.txt" 2>&1
      echo "convlog: $(grep -c chosen "$OUT/convlog.txt") choices"; grep manual_time "$OUT/convlog.txt" ;;
    engines)
      timeout 200 "$B/bench/cudnn_engines" 256 1 > "$OUT/engines.txt" 2>&1; tail -2 "$OUT/engines.txt" ;;
  esac
done
