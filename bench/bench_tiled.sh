#!/usr/bin/env bash
# The table of bench/README.md: peak resident memory and seconds of one translation by the default
# CycleGAN generator (resnet_9blocks, ngf 64) against image size, whole and tiled (--tile_size 512),
# one process per configuration (bench_tiled), one after the other, at the lowest CPU priority.
# The whole 4096x4096 image is left out: it needs about 34 GB. Temporary files: $TMPDIR or /tmp.
#   bash bench/bench_tiled.sh                # all rows
#   ROWS="1024x768:0 1024x768:512" bash bench/bench_tiled.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rows=${ROWS:-"512x512:0 512x512:512 1024x768:0 1024x768:512 1024x768:256 2048x2048:0 2048x2048:512 4096x4096:512"}
for r in $rows; do
  size=${r%%:*}
  tile=${r##*:}
  nice -n 19 "$build/bench/bench_tiled" "${size%%x*}" "${size##*x}" "$tile"
done
