#!/usr/bin/env python3
"""The PyTorch peer of bench_step: the same CycleGAN training iteration (official architecture,
defaults: resnet_9blocks ngf 64, basic D ndf 64, lsgan, identity loss, batch 1, Adam(2e-4,
(0.5, 0.999))) timed with PyTorch on the CPU with the same thread count.

    /usr/bin/python3 bench/peer_step.py --sizes 128 256 --iters 3 --threads 2

Prints one line per size: "peer size=S seconds_per_iter=T peak_rss_mib=M" (the peak RSS is the
process's, so each size runs in its own process). Needs Debian's python3-torch."""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))


def one_size(size, iters, threads, device):
    import torch
    from cyclegan_reference import CycleGAN

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = CycleGAN(ngf=64, ndf=64, n_blocks=9)
    if device == "cuda":
        for net in model.nets().values():
            net.cuda()
        model.opt_G = torch.optim.Adam(list(model.G_A.parameters()) + list(model.G_B.parameters()), lr=2e-4,
                                       betas=(0.5, 0.999))
        model.opt_D = torch.optim.Adam(list(model.D_A.parameters()) + list(model.D_B.parameters()), lr=2e-4,
                                       betas=(0.5, 0.999))
    real_A = (torch.rand(1, 3, size, size) * 2 - 1).to(device)
    real_B = (torch.rand(1, 3, size, size) * 2 - 1).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    model.step(real_A, real_B)  # warm-up
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        model.step(real_A, real_B)
        sync()
        times.append(time.perf_counter() - t0)
    out = {"size": size, "seconds_per_iter": sum(times) / len(times),
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch": torch.__version__, "threads": torch.get_num_threads()}
    if device == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.iters, args.threads, args.device)))
        return
    for size in args.sizes:
        res = subprocess.run([sys.executable, __file__, "--one", str(size), "--iters", str(args.iters), "--threads",
                              str(args.threads), "--device", args.device], capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"peer run at {size} failed:\n{res.stderr}")
        r = json.loads(res.stdout.strip().splitlines()[-1])
        extra = f" peak_gpu_mib={r['peak_gpu_mib']:.0f}" if "peak_gpu_mib" in r else ""
        print(f"peer size={size} seconds_per_iter={r['seconds_per_iter']:.4f} peak_rss_mib={r['peak_rss_mib']:.0f}"
              f"{extra} torch={r['torch']} threads={r['threads']}", flush=True)


if __name__ == "__main__":
    main()
