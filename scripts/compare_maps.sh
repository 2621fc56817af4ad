#!/usr/bin/env bash
# pix2pix against CycleGAN on the shared maps tiles (aerial photo -> map), the same number of
# iterations each on 128x128 crops, both scored on all 1098 test tiles at 256x256 against testB
# (per-pixel RMSE and pixel accuracy, cyclegan_score). CPU; about 45 minutes on 2 cores at the
# default ITERS (one pass over the 1096 training tiles).
#   bash scripts/compare_maps.sh [MAPS_DIR] [WORK_DIR]     (ITERS=N to change the length, NUM_TEST=N
#   to score the first N test tiles only)
# Both runs keep a constant learning rate (--lr_policy step, whose first step comes at epoch 50): with
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
train=(--checkpoints_dir "$work/ckpt" --load_size 143 --crop_size 128 --n_epochs 1 --n_epochs_decay 0
       --lr_policy step --max_dataset_size "$iters" --print_freq 100 --display_freq 500 --seed 1)
test=(--checkpoints_dir "$work/ckpt" --results_dir "$work/results" --load_size 256 --crop_size 256
      --num_test "$num_test")
t0=$(date +%s)
"$bin"/cyclegan_train --model pix2pix --dataroot "$work/maps_AB" --name maps_pix2pix --netG unet_128 "${train[@]}"
t1=$(date +%s)
"$bin"/cyclegan_train --model cycle_gan --dataroot "$maps" --name maps_cyclegan "${train[@]}"
t2=$(date +%s)
"$bin"/cyclegan_test --model pix2pix --dataroot "$work/maps_AB" --name maps_pix2pix --netG unet_128 "${test[@]}"
"$bin"/cyclegan_test --model pix2pix --dataroot "$work/maps_AB" --name maps_pix2pix --netG unet_128 "${test[@]}" \
  --eval --results_dir "$work/results_eval"
"$bin"/cyclegan_test --model test --dataroot "$maps/testA" --name maps_cyclegan --model_suffix _A --no_dropout \
  "${test[@]}"
echo "== training: pix2pix $((t1 - t0)) s, CycleGAN $((t2 - t1)) s for $iters iterations each"
echo "== pix2pix (train mode, as test.py):"
"$bin"/cyclegan_score --results "$work/results/maps_pix2pix/test_latest/images" --label fake_B --ground_truth "$maps/testB"
echo "== pix2pix (--eval):"
"$bin"/cyclegan_score --results "$work/results_eval/maps_pix2pix/test_latest/images" --label fake_B \
  --ground_truth "$maps/testB"
echo "== CycleGAN G_A:"
"$bin"/cyclegan_score --results "$work/results/maps_cyclegan/test_latest/images" --label fake --ground_truth "$maps/testB"
