#!/usr/bin/env bash
# Writes the seed corpora of fuzz_safetensors and fuzz_train_state from a real (tiny) training run,
# with the options fuzz_train_state.cpp builds its model with. The training states' checkpoint id is
# set to "fuzz", the one the harness passes. Needs a built ./build (or BUILD=...) and python3.
#   bash fuzz/make_seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/data" <<'PY'
import os, sys, zlib, struct, random
random.seed(3)
def png(path, w, h):
    raw = b"".join(b"\0" + bytes(random.randrange(256) for _ in range(3 * w)) for _ in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for d in ("trainA", "trainB"):
    os.makedirs(os.path.join(sys.argv[1], d))
    for i in range(3): png(os.path.join(sys.argv[1], d, f"{i}.png"), 8, 8)
PY
"$build/apps/cyclegan_train" --dataroot "$tmp/data" --checkpoints_dir "$tmp/ckpt" --name seeds --ngf 2 --ndf 2 \
  --netG resnet_1blocks --netD pixel --pool_size 2 --load_size 8 --crop_size 8 --n_epochs 2 --n_epochs_decay 1 \
  --save_epoch_freq 1 --save_latest_freq 1000 --num_threads 0 --no_html >/dev/null
python3 - "$tmp/ckpt/seeds" fuzz/corpus <<'PY'
import json, os, shutil, struct, sys
src, out = sys.argv[1], sys.argv[2]
def with_fuzz_id(path, dest):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    st = json.loads(h["__metadata__"]["train_state"])
    st["checkpoint"] = "fuzz"
    h["__metadata__"]["train_state"] = json.dumps(st)
    hb = json.dumps(h).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    open(dest, "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
for label in ("1", "latest"):
    with_fuzz_id(os.path.join(src, f"{label}_train_state.safetensors"), os.path.join(out, "train_state", f"{label}.safetensors"))
for net in ("G_A", "D_B"):
    shutil.copy(os.path.join(src, f"latest_net_{net}.safetensors"), os.path.join(out, "safetensors", f"{net}.safetensors"))
PY
ls -l fuzz/corpus/train_state fuzz/corpus/safetensors
