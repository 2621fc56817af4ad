#!/usr/bin/env python3
"""The PyTorch peer of BM_cut_step: the official CUT code (taesungp/contrastive-unpaired-translation
at b3ac297, imported from a checkout, unchanged) timing CUTModel.optimize_parameters() at its
defaults (--CUT_mode CUT or FastCUT, resnet_9blocks, basic D, mlp_sample F, batch 1) on the CPU,
after the official train.py's first-batch calls (data_dependent_initialize, setup) and one warm-up
step, with the same thread count as ours.

    /usr/bin/python3 bench/peer_cut.py --official /path/to/contrastive-unpaired-translation \\
        --modes CUT FastCUT --size 256 --iters 3 --threads 2

Prints one line per mode: "peer model=M size=S seconds_per_iter=T peak_rss_mib=R torch=V threads=N"
(each mode in a process of its own, so each peak is its own), or "peer model=M size=S failed=WHY".
Only torchvision, imported by the official util and data modules but used by neither the model nor
the options, is replaced by an empty module. Needs PyTorch (Debian's python3-torch)."""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types


def one(official, mode, size, iters, threads):
    sys.path.insert(0, official)
    tv = types.ModuleType("torchvision")
    tv.transforms = types.ModuleType("torchvision.transforms")
    sys.modules["torchvision"], sys.modules["torchvision.transforms"] = tv, tv.transforms
    import torch
    from options.train_options import TrainOptions
    import models

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    sys.argv = ["train.py", "--model", "cut", "--CUT_mode", mode, "--dataroot", "x", "--gpu_ids", "-1",
                "--checkpoints_dir", tempfile.mkdtemp(), "--name", "bench", "--crop_size", str(size),
                "--load_size", str(size)]
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):  # the official prints its options and networks
        opt = TrainOptions().parse()
        model = models.create_model(opt)
        data = {"A": torch.rand(1, 3, size, size) * 2 - 1, "B": torch.rand(1, 3, size, size) * 2 - 1,
                "A_paths": ["a.png"], "B_paths": ["b.png"]}
        model.data_dependent_initialize(data)
        model.setup(opt)
    model.set_input(data)
    model.optimize_parameters()  # warm-up
    times = []
    for _ in range(iters):
        model.set_input(data)
        t0 = time.perf_counter()
        model.optimize_parameters()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"seconds_per_iter": times[len(times) // 2],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", required=True, help="a checkout of contrastive-unpaired-translation")
    ap.add_argument("--modes", nargs="+", default=["CUT", "FastCUT"])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: one mode in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(os.path.abspath(args.official), args.one, args.size, args.iters, args.threads)))
        return
    for mode in args.modes:
        res = subprocess.run([sys.executable, __file__, "--one", mode, "--official", args.official, "--size",
                              str(args.size), "--iters", str(args.iters), "--threads", str(args.threads)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            why = (res.stderr.strip().splitlines() or ["exit %d" % res.returncode])[-1].replace(" ", "_")[:120]
            print(f"peer model={mode} size={args.size} failed={why}", flush=True)
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"peer model={mode} size={args.size} seconds_per_iter={r['seconds_per_iter']:.4f} "
              f"peak_rss_mib={r['peak_rss_mib']:.0f} torch={r['torch']} threads={r['threads']}", flush=True)


if __name__ == "__main__":
    main()
