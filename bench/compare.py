#!/usr/bin/env python3
"""Runs our training-step benchmark (BUILD/bench/bench_step) and the PyTorch peer
(bench/peer_step.py) one after the other and prints time per iteration, speed-up and peak memory:
on the CPU (--device cpu: the same thread count, 128^2 and 256^2, peak resident memory) or on the
GPU (--device cuda: 256x256, 512x512 and 1024x1024 at batch 1 and 256x256 at batch 4, against
PyTorch eager and torch.compile, peak GPU memory in use). Use bench/compare_cpu.sh or
bench/compare_cuda.sh."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GPU_CONFIGS = ["256x1", "512x1", "1024x1", "256x4"]


def run_ours(build, size, batch, device, env):
    """env CG_AMP=1: the step with --amp."""
    name = "BM_train_step_cuda" if device == "cuda" else "BM_train_step"
    out = subprocess.run([os.path.join(build, "bench", "bench_step"),
                          f"--benchmark_filter={name}/size:{size}/batch:{batch}/", "--benchmark_format=json"],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_step failed at {size}x{batch}:\n{out.stderr[-3000:]}")
    js = json.loads(out.stdout[out.stdout.index("{"):])  # after the FMA-peak line
    if not js["benchmarks"]:
        sys.exit(f"bench_step ran no {name} (no GPU, or a build without CUDA?)")
    b = js["benchmarks"][0]
    unit = {"s": 1.0, "ms": 1e-3}[b["time_unit"]]
    r = {"s": b["real_time"] * unit}
    if device == "cuda":
        r["mem"] = b["peak_GPU_MiB"]
    else:
        r.update(mem=b["peak_RSS_MiB"], gflops=b["GFLOP/s"], peak=b["peak%"], fma_peak=b["GFLOP/s"] / b["peak%"] * 100)
    return r


def run_peer(args, configs, mode):
    # line by line, so that a run cut short still shows what it measured
    proc = subprocess.Popen([args.python, os.path.join(HERE, "peer_step.py"), "--configs", *configs, "--iters",
                             str(args.iters), "--threads", str(args.threads), "--device", args.device, "--mode", mode]
                            + (["--amp"] if args.amp else []),
                            stdout=subprocess.PIPE, text=True)
    res = {}
    for line in proc.stdout:
        print(line.rstrip(), flush=True)
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        key = f"{f['size']}x{f['batch']}"
        if "failed" in f:
            res[key] = None
            continue
        res[key] = {"s": float(f["seconds_per_iter"]), "torch": f["torch"],
                    "mem": float(f["peak_gpu_mib"] if args.device == "cuda" else f["peak_rss_mib"])}
    if proc.wait() != 0:
        sys.exit("peer_step.py failed")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--configs", nargs="+", help="SIZExBATCH list (default: the GPU table, or 128x1 256x1)")
    ap.add_argument("--no-compile", action="store_true", help="GPU: skip the torch.compile rows")
    ap.add_argument("--python", default=sys.executable, help="the interpreter with PyTorch for the peer")
    ap.add_argument("--amp", action="store_true",
                    help="time ours with --amp against PyTorch under torch.autocast(bfloat16)")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), CG_AMP="1" if args.amp else "0")
    gpu = args.device == "cuda"
    configs = args.configs or (GPU_CONFIGS if gpu else ["128x1", "256x1"])
    if gpu:
        args.iters = max(args.iters, 10)
    ours = {}
    for c in configs:  # one process per configuration, so each peak memory is its own
        s, b = map(int, c.split("x"))
        o = ours[c] = run_ours(args.build, s, b, args.device, env)
        if gpu:
            print(f"ours  size={s} batch={b} ms_per_iter={o['s'] * 1e3:.1f} peak_gpu_mib={o['mem']:.0f}", flush=True)
        else:
            print(f"ours  size={s} seconds_per_iter={o['s']:.3f} conv GFLOP/s={o['gflops']:.0f} "
                  f"({o['peak']:.0f}% of the FMA peak, measured at {o['fma_peak']:.0f} GFLOP/s in the same run) "
                  f"peak_rss_mib={o['mem']:.0f}", flush=True)
    eager = run_peer(args, configs, "eager")
    compiled = run_peer(args, configs, "compile") if gpu and not args.no_compile else {}
    print()
    versions = [p["torch"] for p in eager.values() if p]
    torch_version = versions[-1] if versions else "?"
    if gpu:
        print(f"CycleGAN training iteration on the GPU, ms per iteration (PyTorch {torch_version}: eager with "
              f"cudnn.benchmark and TF32 convolutions, and torch.compile of every network)"
              + ("; ours with --amp, PyTorch under torch.autocast(bfloat16)" if args.amp else ""))
        print("| size | batch | ours | PyTorch eager | torch.compile | vs eager | vs compile | ours peak GPU memory "
              "| eager peak GPU memory | compile peak GPU memory |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        ms = lambda p: f"{p['s'] * 1e3:.1f}" if p else "n/a"
        mem = lambda p: f"{p['mem']:.0f} MiB" if p else "n/a"
        ratio = lambda o, p: f"{p['s'] / o['s']:.2f}x" if p else "n/a"
        for c in configs:
            s, b = c.split("x")
            o, e, k = ours[c], eager.get(c), compiled.get(c)
            print(f"| {s}x{s} | {b} | {ms(o)} | {ms(e)} | {ms(k)} | {ratio(o, e)} | {ratio(o, k)} | {mem(o)} | "
                  f"{mem(e)} | {mem(k)} |")
    else:
        print(f"CycleGAN training iteration on the CPU, {args.threads} threads (PyTorch {torch_version})"
              + ("; ours with --amp, PyTorch under torch.autocast(bfloat16)" if args.amp else ""))
        print("| size | ours s/iter | PyTorch s/iter | speed-up | ours peak RSS | PyTorch peak RSS |")
        print("|---|---|---|---|---|---|")
        for c in configs:
            o, p = ours[c], eager[c]
            s = c.split("x")[0]
            print(f"| {s}x{s} | {o['s']:.2f} | {p['s']:.2f} | {p['s'] / o['s']:.2f}x | {o['mem']:.0f} MiB | "
                  f"{p['mem']:.0f} MiB |")


if __name__ == "__main__":
    main()
