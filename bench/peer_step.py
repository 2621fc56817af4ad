#!/usr/bin/env python3
"""The PyTorch peer of bench_step: the same CycleGAN training iteration (official architecture,
defaults: resnet_9blocks ngf 64, basic D ndf 64, lsgan, identity loss, Adam(2e-4, (0.5, 0.999)))
timed with PyTorch, on the CPU with the same thread count or on the GPU (cudnn.benchmark on and
TF32 allowed for convolutions, as the official train.py runs), eagerly or with every network
wrapped in torch.compile (--mode compile).

    /usr/bin/python3 bench/peer_step.py --sizes 128 256 --iters 3 --threads 2
    python3 bench/peer_step.py --device cuda --configs 256x1 512x1 1024x1 256x4 --mode compile

Prints one line per configuration: "peer size=S batch=B mode=M seconds_per_iter=T peak_rss_mib=M
[peak_gpu_mib=G]" (peaks are the process's, so each configuration runs in its own process), or
"peer size=S batch=B mode=M failed=REASON". Needs PyTorch (Debian's python3-torch on the CPU)."""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))


def one(size, batch, iters, threads, device, mode, amp=False):
    import torch
    from cyclegan_reference import CycleGAN

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True
    model = CycleGAN(ngf=64, ndf=64, n_blocks=9)
    if device == "cuda":
        for net in model.nets().values():
            net.cuda()
        model.opt_G = torch.optim.Adam(list(model.G_A.parameters()) + list(model.G_B.parameters()), lr=2e-4,
                                       betas=(0.5, 0.999))
        model.opt_D = torch.optim.Adam(list(model.D_A.parameters()) + list(model.D_B.parameters()), lr=2e-4,
                                       betas=(0.5, 0.999))
    if mode == "compile":
        for name in ("G_A", "G_B", "D_A", "D_B"):
            setattr(model, name, torch.compile(getattr(model, name)))
    real_A = (torch.rand(batch, 3, size, size) * 2 - 1).to(device)
    real_B = (torch.rand(batch, 3, size, size) * 2 - 1).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    plain_step = model.step

    def step(a, b):
        # --amp: the whole step under bfloat16 autocast (convolutions in bf16; losses and norms as
        # autocast decides; Adam on the fp32 parameters)
        if not amp:
            return plain_step(a, b)
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            return plain_step(a, b)
    model.step = step
    for _ in range(3 if mode == "compile" else 1):  # warm-up (compilation, cuDNN's search)
        model.step(real_A, real_B)
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        model.step(real_A, real_B)
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    out = {"size": size, "batch": batch, "mode": mode + ("+amp" if amp else ""), "seconds_per_iter": times[len(times) // 2],
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch": torch.__version__, "threads": torch.get_num_threads()}
    if device == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="batch-1 sizes (CPU)")
    ap.add_argument("--configs", nargs="+", help="SIZExBATCH, e.g. 256x1 256x4 (overrides --sizes)")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--mode", default="eager", choices=["eager", "compile"])
    ap.add_argument("--amp", action="store_true", help="the step under torch.autocast(bfloat16)")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one SIZExBATCH in this process
    args = ap.parse_args()
    if args.one:
        s, b = map(int, args.one.split("x"))
        print(json.dumps(one(s, b, args.iters, args.threads, args.device, args.mode, args.amp)))
        return
    configs = args.configs or [f"{s}x1" for s in args.sizes]
    mode = args.mode + ("+amp" if args.amp else "")
    for c in configs:
        s, b = c.split("x")
        res = subprocess.run([sys.executable, __file__, "--one", c, "--iters", str(args.iters), "--threads",
                              str(args.threads), "--device", args.device, "--mode", args.mode]
                             + (["--amp"] if args.amp else []),
                             capture_output=True, text=True)
        if res.returncode != 0:
            why = (res.stderr.strip().splitlines() or ["exit %d" % res.returncode])[-1].replace(" ", "_")[:120]
            print(f"peer size={s} batch={b} mode={mode} failed={why}", flush=True)
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        extra = f" peak_gpu_mib={r['peak_gpu_mib']:.0f}" if "peak_gpu_mib" in r else ""
        print(f"peer size={s} batch={b} mode={mode} seconds_per_iter={r['seconds_per_iter']:.4f} "
              f"peak_rss_mib={r['peak_rss_mib']:.0f}{extra} torch={r['torch']} threads={r['threads']}", flush=True)


if __name__ == "__main__":
    main()
