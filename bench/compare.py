#!/usr/bin/env python3
"""Runs our training-step benchmark (build/bench/bench_step) and the PyTorch peer
(bench/peer_step.py) one after the other, and prints the time per iteration, the speed-up and both
peak memories: on the CPU (--device cpu, the same thread count, 128^2 and 256^2, peak resident
memory) or on the GPU (--device cuda, 256^2, peak GPU memory in use). Use bench/compare_cpu.sh or
bench/compare_cuda.sh, which build first."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_ours(build, size, device, env):
    name = "BM_train_step_cuda" if device == "cuda" else "BM_train_step"
    out = subprocess.run([os.path.join(build, "bench", "bench_step"), f"--benchmark_filter={name}/size:{size}/",
                          "--benchmark_format=json"], env=env, capture_output=True, text=True, check=True)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="the interpreter with PyTorch for the peer")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    sizes = (256,) if args.device == "cuda" else (128, 256)
    iters = max(args.iters, 20) if args.device == "cuda" else args.iters
    ours = {}
    for size in sizes:  # one process per size, so each peak memory is that size's own
        o = ours[size] = run_ours(args.build, size, args.device, env)
        if args.device == "cuda":
            print(f"ours  size={size} ms_per_iter={o['s'] * 1e3:.1f} peak_gpu_mib={o['mem']:.0f}", flush=True)
        else:
            print(f"ours  size={size} seconds_per_iter={o['s']:.3f} conv GFLOP/s={o['gflops']:.0f} "
                  f"({o['peak']:.0f}% of the FMA peak, measured at {o['fma_peak']:.0f} GFLOP/s in the same run) "
                  f"peak_rss_mib={o['mem']:.0f}", flush=True)
    peer = {}
    out = subprocess.run([args.python, os.path.join(HERE, "peer_step.py"), "--sizes", *map(str, sizes), "--iters",
                          str(iters), "--threads", str(args.threads), "--device", args.device],
                         capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        print(line, flush=True)
        f = dict(kv.split("=") for kv in line.split()[1:])
        peer[int(f["size"])] = {"s": float(f["seconds_per_iter"]), "torch": f["torch"],
                                "mem": float(f["peak_gpu_mib"] if args.device == "cuda" else f["peak_rss_mib"])}
    print()
    torch_version = peer[sizes[-1]]["torch"]
    if args.device == "cuda":
        print(f"CycleGAN training iteration on the GPU (PyTorch {torch_version}, eager)")
        print("| size | ours ms/iter | PyTorch ms/iter | speed-up | ours peak GPU memory | PyTorch peak GPU memory |")
    else:
        print(f"CycleGAN training iteration on the CPU, {args.threads} threads (PyTorch {torch_version})")
        print("| size | ours s/iter | PyTorch s/iter | speed-up | ours peak RSS | PyTorch peak RSS |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        o, p = ours[size], peer[size]
        t = (lambda x: f"{x * 1e3:.1f}") if args.device == "cuda" else (lambda x: f"{x:.2f}")
        print(f"| {size}x{size} | {t(o['s'])} | {t(p['s'])} | {p['s'] / o['s']:.2f}x | {o['mem']:.0f} MiB | "
              f"{p['mem']:.0f} MiB |")


if __name__ == "__main__":
    main()
