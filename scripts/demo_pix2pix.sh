#!/usr/bin/env bash
# The pix2pix demo: installs what it needs, builds, writes an edges2shoes-style paired dataset from
# Fashion-MNIST's shoes (sandals, sneakers, ankle boots, 400 training and 50 test images each; A the
# Canny edge map, B the image, both scaled up to 128x128), trains a small pix2pix on the CPU for a
# few minutes, translates the test edge maps, scores them against the true images, and says where
# to look. The edges are Canny's, not the paper's HED edges (data/edges.h).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/deps.sh dataset-fashion-mnist
echo "== building the demo's programs (log: build-demo/build.log)"
mkdir -p build-demo
if ! { cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DCYCLEGAN_CUDA=OFF -DCYCLEGAN_TESTS=OFF \
         -DCYCLEGAN_BENCH=OFF &&
       cmake --build build-demo -j"$(nproc)" --target cyclegan_train cyclegan_test cyclegan_score \
         fashion_mnist_edges; } > build-demo/build.log 2>&1; then
  tail -40 build-demo/build.log
  echo "== build failed; the whole log is build-demo/build.log" >&2
  exit 1
fi
echo "== built in $(( $(date +%s) - start )) s"
bin=build-demo/apps
data=datasets/edges2shoes_fmnist
rm -rf "$data"
"$bin"/fashion_mnist_edges --out "$data" --train 400 --test 50
# 1-channel edges -> 1-channel shoes at 128x128: unet_128 with 32 base filters, the PatchGAN with 32,
# batches of 4 as the paper trained edges2shoes; about 55 s per epoch of 1200 images on 2 cores.
# Three epochs; as the official schedule, the last one runs at learning rate 0.
common=(--model pix2pix --dataroot "$data" --name edges2shoes_fmnist --netG unet_128 --ngf 32
        --input_nc 1 --output_nc 1 --preprocess none --seed 1)
rm -rf checkpoints/edges2shoes_fmnist results/edges2shoes_fmnist
"$bin"/cyclegan_train "${common[@]}" --ndf 32 --batch_size 4 --n_epochs 3 --n_epochs_decay 0 \
    --print_freq 200 --display_freq 400 --save_epoch_freq 3
"$bin"/cyclegan_test "${common[@]}"
images=results/edges2shoes_fmnist/test_latest/images
echo "== fake_B against the true shoes:"
"$bin"/cyclegan_score --results "$images" --label fake_B --ground_truth "$images" --truth_label real_B
echo
echo "== demo done in $(( $(date +%s) - start )) s"
echo "== training page: $(pwd)/checkpoints/edges2shoes_fmnist/web/index.html"
echo "== results page:  $(pwd)/results/edges2shoes_fmnist/test_latest/index.html"
