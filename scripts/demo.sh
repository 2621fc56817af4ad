#!/usr/bin/env bash
# The main job: installs what it needs, builds, writes a two-domain dataset from Fashion-MNIST
# (sneakers <-> ankle boots, 1000 training and 100 test images each), trains a small CycleGAN on
# the CPU for a few minutes, translates the test images, and says where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/deps.sh dataset-fashion-mnist
# Only the three programs the demo runs, CPU only, into their own folder (the test command's
# ./build keeps its configuration); the compiler's output goes to a log shown only on failure.
echo "== building the demo's programs (log: build-demo/build.log)"
mkdir -p build-demo
if ! { cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DCYCLEGAN_CUDA=OFF -DCYCLEGAN_TESTS=OFF \
         -DCYCLEGAN_BENCH=OFF &&
       cmake --build build-demo -j"$(nproc)" --target cyclegan_train cyclegan_test fashion_mnist_domains; } \
     > build-demo/build.log 2>&1; then
  tail -40 build-demo/build.log
  echo "== build failed; the whole log is build-demo/build.log" >&2
  exit 1
fi
echo "== built in $(( $(date +%s) - start )) s"
bin=build-demo/apps
data=datasets/sneaker2boot
"$bin"/fashion_mnist_domains --out "$data" --class_a 7 --class_b 9 --train 1000 --test 100
# 28x28 gray images; a generator of 3 residual blocks with 16 base filters: about 25 s per epoch
# on 2 cores. 8 epochs: 4 at lr 2e-4, then 4 of linear decay.
common=(--dataroot "$data" --name sneaker2boot --input_nc 1 --output_nc 1 --preprocess none
        --ngf 16 --netG resnet_3blocks --seed 1)
rm -rf checkpoints/sneaker2boot results/sneaker2boot
"$bin"/cyclegan_train "${common[@]}" --ndf 16 --n_epochs 4 --n_epochs_decay 4 \
    --print_freq 250 --display_freq 500 --save_epoch_freq 4
"$bin"/cyclegan_test "${common[@]}" --model cycle_gan
echo
echo "== demo done in $(( $(date +%s) - start )) s"
echo "== training page: $(pwd)/checkpoints/sneaker2boot/web/index.html"
echo "== results page:  $(pwd)/results/sneaker2boot/test_latest/index.html"
