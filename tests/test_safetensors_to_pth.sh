#!/usr/bin/env bash
# End to end: a generator trained by cyclegan_train -> scripts/safetensors_to_pth.py -> a .pth that
# PyTorch loads strictly into the reference generator; PyTorch's output of an image must match
# cyclegan_test's output of it (to 1 level of 255: tensor2im truncates, so a rounding difference can
# cross an integer). Also: the .pth holds exactly the file's tensors, byte for byte, and a file that
# is not a network (not safetensors, or a training state) is refused without writing anything.
# Needs PyTorch: where Debian's python3-torch is missing it reports itself skipped (exit 77).
set -euo pipefail
SRC=$1 BIN=$2
PY=/usr/bin/python3
if ! $PY -c "import torch, PIL" 2>/dev/null; then
  echo "SKIPPED: the safetensors -> .pth converter test needs python3-torch and python3-pil"
  exit 77
fi
work=$BIN/test_tmp/safetensors_to_pth
rm -rf "$work" && mkdir -p "$work/data/trainA" "$work/data/trainB" "$work/images" "$work/err"
$PY - "$work" <<'PYEOF'
import sys, numpy as np
from PIL import Image
work = sys.argv[1]
rng = np.random.default_rng(5)
for d in "AB":
    for i in range(2):  # 32x32: the smallest size the 70x70 PatchGAN's last instance norm accepts
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(f"{work}/data/train{d}/{i}.png")
Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(work + "/images/x.png")
PYEOF

# A large init gain and learning rate, so that the weights and the last convolution's bias (the
# only bias the instance norms do not cancel) are far from zero and from each other: a permuted or
# transposed tensor then moves the output by many levels (checked below, so the test cannot pass
# on a flat image); a gain of 0.2 still leaves most pixels off the tanh's saturated ends.
# Epoch 2 runs at lr 0 (the official schedule), so 2 steps change the weights.
if ! "$BIN/apps/cyclegan_train" --dataroot "$work/data" --name run --checkpoints_dir "$work/ckpt" \
    --ngf 4 --ndf 4 --netG resnet_1blocks --preprocess none --n_epochs 2 --n_epochs_decay 0 \
    --init_gain 0.2 --lr 0.05 --num_threads 1 --display_freq 100000 >"$work/train.log" 2>&1; then
  cat "$work/train.log"
  echo "FAILED: cyclegan_train"
  exit 1
fi
net=$work/ckpt/run/latest_net_G_A.safetensors
$PY "$SRC/scripts/safetensors_to_pth.py" "$net" "$work/latest_net_G.pth"

$PY - "$SRC" "$work" "$net" <<'PYEOF'
import json, struct, sys, numpy as np, torch
from PIL import Image
sys.path.insert(0, sys.argv[1] + "/scripts")
from cyclegan_reference import generator
work, net = sys.argv[2], sys.argv[3]
sd = torch.load(work + "/latest_net_G.pth", map_location="cpu")

# The safetensors file read here independently of the converter: same keys, and each tensor's
# bytes are the file's bytes (catches a permutation the instance norms would hide from the output).
raw = open(net, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header.pop("__metadata__", None)
assert set(sd) == set(header), ("keys differ", sorted(set(sd) ^ set(header)))
for k, e in header.items():
    t = sd[k]
    b, end = e["data_offsets"]
    assert e["dtype"] == "F32" and t.dtype == torch.float32, (k, e["dtype"], t.dtype)
    assert list(t.shape) == e["shape"], (k, list(t.shape), e["shape"])
    assert t.contiguous().numpy().tobytes() == raw[8 + n + b:8 + n + end], ("data differs", k)

G = generator(3, 3, 4, 1)
G.load_state_dict(sd, strict=True)  # what the official test.py does with latest_net_G.pth
G.eval()
img = np.asarray(Image.open(work + "/images/x.png").convert("RGB"))
x = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None] / 255.0
x = (x - 0.5) / 0.5


def to_png_levels(net):
    with torch.no_grad():
        y = net(x)[0].permute(1, 2, 0).numpy()
    return ((y + 1) / 2.0 * 255.0).astype(np.uint8)  # the official tensor2im


out = to_png_levels(G)
Image.fromarray(out).save(work + "/expected.png")

# The comparison with cyclegan_test must be able to fail: a transposed kernel and a reordered
# output bias each have to move PyTorch's own output by more than the 1 level allowed.
for k, bad in (("model.1.weight", lambda t: t.transpose(2, 3)), ("model.18.bias", lambda t: t.flip(0))):
    H = generator(3, 3, 4, 1)
    H.load_state_dict({**sd, k: bad(sd[k]).contiguous()}, strict=True)
    d = np.abs(to_png_levels(H).astype(int) - out.astype(int)).max()
    assert d > 1, f"test too weak: broken {k} changes the output by only {d} of 255"
print(f"{len(sd)} tensors equal the file's; PyTorch's output spans levels {out.min()}..{out.max()}")
PYEOF

"$BIN/apps/cyclegan_test" --dataroot "$work/images" --name run --checkpoints_dir "$work/ckpt" \
  --results_dir "$work/results" --model test --model_suffix _A --no_dropout --ngf 4 --netG resnet_1blocks \
  --preprocess none
$PY "$SRC/tests/png_close.py" "$work/results/run/test_latest/images/x_fake.png" "$work/expected.png"

# Refusals: non-zero exit, a message naming the file, and nothing written (an existing output is
# left as it was, and no temporary file stays behind).
echo "earlier contents" >"$work/err/kept.pth"
for bad in "$work/images/x.png" "$work/ckpt/run/latest_train_state.safetensors"; do
  for out in "$work/err/new.pth" "$work/err/kept.pth"; do
    if $PY "$SRC/scripts/safetensors_to_pth.py" "$bad" "$out" 2>"$work/err.txt"; then
      echo "FAILED: converting $bad succeeded"
      exit 1
    fi
    grep -q "error: .*$bad" "$work/err.txt" || { cat "$work/err.txt"; echo "FAILED: no error naming $bad"; exit 1; }
  done
done
[ "$(ls -A "$work/err")" = kept.pth ] || { ls -lA "$work/err"; echo "FAILED: a refused conversion wrote files"; exit 1; }
[ "$(cat "$work/err/kept.pth")" = "earlier contents" ] || { echo "FAILED: a refused conversion changed its output"; exit 1; }
echo "refusals: OK"
