#!/usr/bin/env python3
"""Converts one of our network files (CHECKPOINTS/NAME/<label>_net_{G_A,G_B,D_A,D_B}.safetensors)
into a .pth state dict the official PyTorch CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix) loads:
an OrderedDict of tensors under the official keys (model.1.weight, ...), which our files already
use, saved with torch.save. The tensors keep their stored dtype and shape. Training-state files
(<label>_train_state.safetensors) are refused: the official code has no equivalent of them.

Needs PyTorch (on Debian: apt-get install python3-torch), run with Debian's interpreter:

    /usr/bin/python3 scripts/safetensors_to_pth.py checkpoints/NAME/latest_net_G_A.safetensors \\
        official/checkpoints/NAME/latest_net_G.pth
    cd official && python test.py --dataroot datasets/NAME/testA --name NAME --model test \\
        --no_dropout --netG resnet_9blocks --ngf 64

(test.py's --model test loads latest_net_G.pth: G_B converts to that name as well; the official
test model needs --no_dropout, which its cycle_gan training, like ours, implies.) For the official
train.py --continue_train, convert all four networks to latest_net_{G_A,G_B,D_A,D_B}.pth; it
starts new optimizers, as it always does (our training state has no official counterpart).
"""
import argparse
import collections
import json
import os
import struct
import sys
import tempfile

# A sanity bound so that a random file whose first 8 bytes read as a huge length is reported as
# "not safetensors" instead of attempting a giant read; real headers are a few KiB.
_MAX_HEADER = 100 * 1024 * 1024


def _dtypes(torch):
    return {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
            "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def _no_duplicates(pairs):
    # json.loads would silently keep the last of two equal keys, hiding a corrupt header.
    d = collections.OrderedDict()
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key '{k}' in the header")
        d[k] = v
    return d


def _module_order(key):
    # The official state_dict lists modules in layer order (model.1, model.4, ..., model.10) and
    # weight before bias; our files sort keys as strings. Restore the official order so that the
    # .pth reads like one saved by the official code (load_state_dict itself does not care).
    parts = key.split(".")
    rank = {"weight": 0, "bias": 1}
    return [(0, int(p), "") if p.isdigit() else (1, rank.get(p, 2), p) for p in parts]


def parse_header(raw):
    """Splits a safetensors file's bytes into (tensor entries, metadata, data); raises ValueError
    with the reason when they are not safetensors."""
    if len(raw) < 8:
        raise ValueError(f"not a safetensors file (only {len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n < 2 or n > _MAX_HEADER or 8 + n > len(raw):
        raise ValueError(f"not a safetensors file (header length {n} for a file of {len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise ValueError("not a safetensors file (the header is not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not a safetensors file (the header is not JSON: {e})") from None
    if not isinstance(header, dict):
        raise ValueError("not a safetensors file (the header is not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise ValueError("malformed __metadata__ (not a JSON object)")
    return header, meta, memoryview(raw)[8 + n:]


def tensors_of(header, data, torch):
    """The tensors of a parsed header, in the official module order; raises ValueError when an
    entry does not describe its bytes."""
    dtypes = _dtypes(torch)
    tensors = collections.OrderedDict()
    for name in sorted(header, key=_module_order):
        e = header[name]
        if not (isinstance(e, dict) and isinstance(e.get("dtype"), str) and isinstance(e.get("shape"), list)
                and isinstance(e.get("data_offsets"), list) and len(e["data_offsets"]) == 2):
            raise ValueError(f"tensor '{name}': entry lacks dtype, shape or data_offsets")
        if e["dtype"] not in dtypes:
            raise ValueError(f"tensor '{name}': unsupported dtype {e['dtype']} (supported: {', '.join(dtypes)})")
        dtype, shape = dtypes[e["dtype"]], e["shape"]
        if not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ValueError(f"tensor '{name}': bad shape {shape}")
        begin, end = e["data_offsets"]
        numel = 1
        for s in shape:
            numel *= s
        size = numel * torch.empty((), dtype=dtype).element_size()
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(data)):
            raise ValueError(f"tensor '{name}': data_offsets {e['data_offsets']} outside the "
                             f"{len(data)} bytes of data")
        if end - begin != size:
            raise ValueError(f"tensor '{name}': {end - begin} bytes stored for shape {shape} {e['dtype']} "
                             f"({size} expected)")
        # bytearray copies the slice, so each tensor owns its memory and torch.save writes only its
        # own bytes (a view of the whole buffer would drag the whole file along into every tensor).
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if size else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(shape)
    return tensors


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("safetensors", help="one of our network files (<label>_net_<NET>.safetensors)")
    ap.add_argument("out", help="the .pth file to write")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("error: this converter needs PyTorch (Debian: apt-get install python3-torch; run /usr/bin/python3)")
    if sys.byteorder != "little":
        # safetensors data is little-endian and is handed to torch without byte swapping.
        sys.exit("error: this converter runs on little-endian machines only")
    src = args.safetensors
    if os.path.exists(src) and os.path.exists(args.out) and os.path.samefile(src, args.out):
        sys.exit(f"error: '{args.out}' is the input file; choose another output name")
    try:
        with open(src, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit(f"error: cannot read '{src}': {e.strerror or e}")
    try:
        header, meta, data = parse_header(raw)
        # Checked before the tensors so that the reason given is what the file is, not some entry
        # of it this converter has no use for.
        if "train_state" in meta:
            sys.exit(f"error: '{src}' is a training-state file (optimizers, schedules, image pools), not "
                     "a network; convert the <label>_net_<NET>.safetensors files instead")
        sd = tensors_of(header, data, torch)
    except ValueError as e:
        sys.exit(f"error: '{src}': {e}")
    if not sd:
        sys.exit(f"error: '{src}' holds no tensors")

    out_dir = os.path.dirname(os.path.abspath(args.out))
    # Written next to the destination and renamed over it, so that a reader never sees a partial
    # .pth and a failure leaves any earlier file in place.
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(args.out) + ".", suffix=".tmp", dir=out_dir)
    except OSError as e:
        sys.exit(f"error: cannot write '{args.out}': {e.strerror or e}")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(sd, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, args.out)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, Exception):
            sys.exit(f"error: cannot write '{args.out}': {e}")
        raise
    print(f"wrote {len(sd)} tensors to {args.out}")


if __name__ == "__main__":
    main()
