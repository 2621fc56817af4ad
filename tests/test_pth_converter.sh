#!/usr/bin/env bash
# End to end: a generator saved by PyTorch as an official-style .pth -> scripts/pth_to_safetensors.py
# -> cyclegan_test --model test; its output image must match PyTorch's own output of that image,
# for a ResNet generator with instance norm and for a U-Net with batch norm in eval mode
# (to 1 level of 255: tensor2im truncates, so a rounding difference can cross an integer).
# Needs PyTorch: where Debian's python3-torch is missing it reports itself skipped (exit 77).
set -euo pipefail
SRC=$1 BIN=$2
PY=/usr/bin/python3
if ! $PY -c "import torch, PIL" 2>/dev/null; then
  echo "SKIPPED: the .pth converter test needs python3-torch and python3-pil"
  exit 77
fi
work=$BIN/test_tmp/pth_converter
rm -rf "$work"
# $1: the case (resnet: instance norm, default test mode; unet: U-Net with batch norm and --eval, so the
# converted running statistics are used); $2...: cyclegan_test's network flags
check() {
  local name=$1
  shift
  mkdir -p "$work/$name/images" "$work/$name/ckpt/official"
  $PY - "$SRC" "$work/$name" "$name" <<'PYEOF'
import sys, numpy as np, torch
from PIL import Image
sys.path.insert(0, sys.argv[1] + "/scripts")
from cyclegan_reference import generator, unet
work, name = sys.argv[2], sys.argv[3]
torch.manual_seed(3)
if name == "resnet":
    G, size = generator(3, 3, 4, 1), (20, 24)
else:
    G, size = unet(3, 3, 7, 2, norm="batch"), (128, 128)
for k, p in G.state_dict().items():
    if k.endswith("running_var"):
        p.copy_(torch.rand_like(p) + 0.5)
    elif k.endswith("num_batches_tracked"):
        p.fill_(7)
    else:
        torch.nn.init.normal_(p, 0.0, 0.3)
torch.save(G.state_dict(), work + "/latest_net_G.pth")
rng = np.random.default_rng(1)
img = rng.integers(0, 256, size + (3,), dtype=np.uint8)
Image.fromarray(img).save(work + "/images/x.png")
x = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None] / 255.0
x = (x - 0.5) / 0.5
if name == "unet":
    G.eval()
with torch.no_grad():
    y = G(x)[0].permute(1, 2, 0).numpy()
Image.fromarray(((y + 1) / 2.0 * 255.0).astype(np.uint8)).save(work + "/expected.png")
PYEOF
  $PY "$SRC/scripts/pth_to_safetensors.py" "$work/$name/latest_net_G.pth" "$work/$name/ckpt/official/latest_net_G.safetensors"
  "$BIN/apps/cyclegan_test" --dataroot "$work/$name/images" --name official --checkpoints_dir "$work/$name/ckpt" \
    --results_dir "$work/$name/results" --model test --model_suffix "" --preprocess none "$@"
  $PY "$SRC/tests/png_close.py" "$work/$name/results/official/test_latest/images/x_fake.png" "$work/$name/expected.png"
}
check resnet --ngf 4 --netG resnet_1blocks --no_dropout  # a cycle_gan generator, as the official test.py needs it
check unet --ngf 2 --netG unet_128 --norm batch --eval
