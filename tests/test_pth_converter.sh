#!/usr/bin/env bash
# End to end: a generator saved by PyTorch as an official-style .pth -> scripts/pth_to_safetensors.py
# -> cyclegan_test --model test; its output image must match PyTorch's own output of that image
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
rm -rf "$work" && mkdir -p "$work/images" "$work/ckpt/official"
$PY - "$SRC" "$work" <<'PYEOF'
import sys, numpy as np, torch
from PIL import Image
sys.path.insert(0, sys.argv[1] + "/scripts")
from cyclegan_reference import generator
work = sys.argv[2]
torch.manual_seed(3)
G = generator(3, 3, 4, 1)
for p in G.parameters():
    torch.nn.init.normal_(p, 0.0, 0.3)
torch.save(G.state_dict(), work + "/latest_net_G.pth")
rng = np.random.default_rng(1)
img = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
Image.fromarray(img).save(work + "/images/x.png")
x = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None] / 255.0
x = (x - 0.5) / 0.5
with torch.no_grad():
    y = G(x)[0].permute(1, 2, 0).numpy()
Image.fromarray(((y + 1) / 2.0 * 255.0).astype(np.uint8)).save(work + "/expected.png")
PYEOF
$PY "$SRC/scripts/pth_to_safetensors.py" "$work/latest_net_G.pth" "$work/ckpt/official/latest_net_G.safetensors"
"$BIN/apps/cyclegan_test" --dataroot "$work/images" --name official --checkpoints_dir "$work/ckpt" \
  --results_dir "$work/results" --model test --model_suffix "" --ngf 4 --netG resnet_1blocks --preprocess none
$PY - "$work" <<'PYEOF'
import sys, numpy as np
from PIL import Image
work = sys.argv[1]
a = np.asarray(Image.open(work + "/results/official/test_latest/images/x_fake.png")).astype(int)
b = np.asarray(Image.open(work + "/expected.png")).astype(int)
assert a.shape == b.shape, (a.shape, b.shape)
d = np.abs(a - b).max()
print(f"largest difference to PyTorch's output: {d} of 255")
sys.exit(0 if d <= 1 else 1)
PYEOF
