#!/usr/bin/env bash
# pix2pix, CycleGAN, CUT and FastCUT on the shared maps tiles (aerial photo -> map): the same number
# of iterations each on 128x128 crops, each translating the first NUM_TEST test tiles at 256x256, scored
# against those tiles' maps by every score cyclegan_score has: per-pixel RMSE and pixel accuracy, PSNR
# and SSIM (paired by tile number) and FWD (the translations and the maps as two sets). A baseline
# row scores the aerial photos themselves as maps (no model). Prints the table in Markdown, as the
# README has it. CPU; about 45 minutes on 2 cores at the default ITERS (one pass over the 1096
# training tiles) and all 1098 test tiles.
#   bash scripts/compare_maps.sh [MAPS_DIR] [WORK_DIR]     (ITERS=N to change the length, NUM_TEST=N
#   to translate and score the first N test tiles only)
# Every run keeps a constant learning rate (--lr_policy step, whose first step comes at epoch 50): with
# the official linear policy a run of one epoch would train at lr 0.
set -euo pipefail
cd "$(dirname "$0")/.."
maps=${1:-../shared/datasets/maps}
work=${2:-compare_maps}
iters=${ITERS:-1096}
num_test=${NUM_TEST:-all}
bin=${BIN:-build/apps}
mkdir -p "$work"
if [[ ! -d $work/maps_AB/test ]]; then
  "$bin"/combine_A_and_B --fold_A "$maps/trainA" --fold_B "$maps/trainB" --fold_AB "$work/maps_AB/train" --use_AB
  "$bin"/combine_A_and_B --fold_A "$maps/testA" --fold_B "$maps/testB" --fold_AB "$work/maps_AB/test" --use_AB
fi
# The tiles scored, in the testers' order (sorted by name, the first NUM_TEST): their maps are the
# ground truth and their photos the baseline. FWD compares sets and depends on their size, so every
# row is scored against these same maps.
for side in A B; do
  dir=$work/test${side}_$num_test
  if [[ ! -d $dir ]]; then
    mkdir -p "$dir.partial"
    find "$maps/test$side" -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort |
      if [[ $num_test == all ]]; then cat; else head -n "$num_test"; fi |
      while read -r f; do cp "$maps/test$side/$f" "$dir.partial/"; done
    mv "$dir.partial" "$dir"
  fi
done
# pix2pix's AB test images of the same tiles: combine_A_and_B names them <number>.png, whose sorted
# order is not that of <number>_B.jpg, so the first NUM_TEST of each would be different tiles.
ab_test=$work/maps_AB_$num_test
if [[ ! -d $ab_test ]]; then
  mkdir -p "$ab_test.partial/test"
  for f in "$work/testB_$num_test"/*; do
    n=$(basename "$f")
    cp "$work/maps_AB/test/${n%%_*}.png" "$ab_test.partial/test/"
  done
  mv "$ab_test.partial" "$ab_test"
fi
train=(--checkpoints_dir "$work/ckpt" --load_size 143 --crop_size 128 --n_epochs 1 --n_epochs_decay 0
       --lr_policy step --max_dataset_size "$iters" --print_freq 100 --display_freq 500 --seed 1)
test=(--checkpoints_dir "$work/ckpt" --results_dir "$work/results" --load_size 256 --crop_size 256
      --num_test "$num_test")
# A finished run is not trained again (the script can be rerun after a stop): its checkpoint is
# resumed, which trains what is left of it, nothing when it is done.
train_run() {  # NAME ARGS...
  local name=$1 t=$(date +%s)
  shift
  local again=()
  [[ -e $work/ckpt/$name/latest_train_state.safetensors ]] && again=(--continue_train)
  "$bin"/cyclegan_train --name "$name" "$@" "${train[@]}" "${again[@]}"
  seconds[$name]=$(($(date +%s) - t))
}
declare -A seconds
train_run maps_pix2pix --model pix2pix --dataroot "$work/maps_AB" --netG unet_128
train_run maps_cyclegan --model cycle_gan --dataroot "$maps"
train_run maps_cut --model cut --dataroot "$maps"
train_run maps_fastcut --model cut --CUT_mode FastCUT --dataroot "$maps"
rm -rf "$work/results" "$work/results_eval"  # no image of an earlier test is scored with these
"$bin"/cyclegan_test --model pix2pix --dataroot "$ab_test" --name maps_pix2pix --netG unet_128 "${test[@]}"
"$bin"/cyclegan_test --model pix2pix --dataroot "$ab_test" --name maps_pix2pix --netG unet_128 "${test[@]}" \
  --eval --results_dir "$work/results_eval"
"$bin"/cyclegan_test --model test --dataroot "$maps/testA" --name maps_cyclegan --model_suffix _A --no_dropout \
  "${test[@]}"
"$bin"/cyclegan_test --model cut --dataroot "$maps" --name maps_cut "${test[@]}"
"$bin"/cyclegan_test --model cut --CUT_mode FastCUT --dataroot "$maps" --name maps_fastcut "${test[@]}"
echo "== training seconds (this invocation; 0 for a run already done): pix2pix ${seconds[maps_pix2pix]}," \
  "CycleGAN ${seconds[maps_cyclegan]}, CUT ${seconds[maps_cut]}, FastCUT ${seconds[maps_fastcut]}"
score() {  # NAME RESULTS LABEL
  echo "== $1:"
  "$bin"/cyclegan_score --results "$2" --label "$3" --ground_truth "$work/testB_$num_test" --fwd \
    --json "$work/scores_$1.json"
}
score pix2pix "$work/results/maps_pix2pix/test_latest/images" fake_B
score pix2pix_eval "$work/results_eval/maps_pix2pix/test_latest/images" fake_B
score cyclegan "$work/results/maps_cyclegan/test_latest/images" fake
score cut "$work/results/maps_cut/test_latest/images" fake_B
score fastcut "$work/results/maps_fastcut/test_latest/images" fake_B
score photo "$work/testA_$num_test" A
python3 - "$work" "$iters" <<'EOF'
import json, sys
work, iters = sys.argv[1], sys.argv[2]
rows = [("pix2pix (unet_128), train mode as test.py", "pix2pix"), ("pix2pix (unet_128), --eval", "pix2pix_eval"),
        ("CycleGAN (resnet_9blocks), G_A", "cyclegan"), ("CUT (resnet_9blocks)", "cut"),
        ("FastCUT (resnet_9blocks)", "fastcut"), ("no model: the aerial photo as the map", "photo")]
print(f"| {iters} iterations, 128x128 crops | RMSE (0-255) ↓ | pixel accuracy ↑ | PSNR (dB) ↑ | SSIM ↑ | FWD ↓ |")
print("|---|---|---|---|---|---|")
for title, name in rows:
    s = json.load(open(f"{work}/scores_{name}.json"))
    print(f"| {title} | {s['rmse']:.2f} | {s['accuracy']:.4f} | {s['psnr']:.2f} | {s['ssim']:.4f} | {s['fwd']:.2f} |")
s = json.load(open(f"{work}/scores_photo.json"))
print(f"\n{s['pairs']} tiles, each scored against its map; FWD between the {s['fwd_results']} translations and the "
      f"{s['fwd_ground_truth']} maps as sets")
EOF
