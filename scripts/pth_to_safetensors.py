#!/usr/bin/env python3
"""Converts a network checkpoint of the official PyTorch CycleGAN (a .pth state dict, e.g. the
pretrained generators or latest_net_G_A.pth of an official run) into the safetensors file
cyclegan_test and cyclegan_train --continue_train load. The keys (model.1.weight, ...) are kept
as they are; a 'module.' prefix left by DataParallel is removed; floating-point tensors are stored
as float32 (batch norms' running statistics too) and integer ones as int64 (num_batches_tracked, as
PyTorch keeps it and as safetensors.torch.save_file writes it).

Needs PyTorch (on Debian: apt-get install python3-torch), run with Debian's interpreter:

    /usr/bin/python3 scripts/pth_to_safetensors.py horse2zebra.pth \\
        checkpoints/horse2zebra_pretrained/latest_net_G.safetensors
    ./build/apps/cyclegan_test --dataroot datasets/horse2zebra/testA --name horse2zebra_pretrained \\
        --model test --no_dropout

Official training checkpoints convert the same way, one file per network:
    for n in G_A G_B D_A D_B; do /usr/bin/python3 scripts/pth_to_safetensors.py \\
        old/latest_net_$n.pth checkpoints/NAME/latest_net_$n.safetensors; done
then cyclegan_train --continue_train loads them with new optimizers (the official .pth files hold
no optimizer state).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_write import save  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pth", help="the official checkpoint (.pth)")
    ap.add_argument("out", help="the safetensors file to write")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("error: this converter needs PyTorch (Debian: apt-get install python3-torch; run /usr/bin/python3)")
    try:
        sd = torch.load(args.pth, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any load failure is reported with the file name
        sys.exit(f"error: cannot load '{args.pth}': {e}")
    if hasattr(sd, "state_dict"):  # a whole module was saved
        sd = sd.state_dict()
    if not isinstance(sd, dict):
        sys.exit(f"error: '{args.pth}' does not hold a state dict")
    if hasattr(sd, "_metadata"):
        del sd._metadata
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            continue
        key = k[len("module."):] if k.startswith("module.") else k
        if key.endswith(("num_batches_tracked", "running_mean", "running_var")):
            # Running statistics belong to batch norms (--norm batch), which have an affine weight
            # beside them; the instance norms' (affine=False) come from old PyTorch versions that
            # saved them, and CycleGAN's instance norms use none, so those are dropped.
            weight = sd.get(k.rsplit(".", 1)[0] + ".weight")
            if weight is None or weight.dim() != 1:
                continue
        dtype = torch.float32 if v.is_floating_point() else torch.int64
        out[key] = v.detach().to(dtype).contiguous()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    save(tmp, out, {"source": os.path.basename(args.pth)})
    os.replace(tmp, args.out)
    print(f"wrote {len(out)} tensors to {args.out}")


if __name__ == "__main__":
    main()
