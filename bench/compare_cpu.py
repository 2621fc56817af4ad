#!/usr/bin/env python3
"""Runs our CPU training-step benchmark (build/bench/bench_step) and the PyTorch peer
(bench/peer_step.py) one after the other with the same thread count, and prints seconds per
iteration, the speed-up and both peak resident memories. Use bench/compare_cpu.sh, which installs
and builds first."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    ours = {}
    for size in (128, 256):  # one process per size, so each peak RSS is that size's own
        out = subprocess.run([os.path.join(args.build, "bench", "bench_step"), f"--benchmark_filter=size:{size}/",
                              "--benchmark_format=json"], env=env, capture_output=True, text=True, check=True)
        js = json.loads(out.stdout[out.stdout.index("{"):])  # after the FMA-peak line
        for b in js["benchmarks"]:
            ours[size] = {"s": b["real_time"], "rss": b["peak_RSS_MiB"], "gflops": b["GFLOP/s"], "peak": b["peak%"],
                          "fma_peak": b["GFLOP/s"] / b["peak%"] * 100}
        print(f"ours  size={size} seconds_per_iter={ours[size]['s']:.3f} conv GFLOP/s={ours[size]['gflops']:.0f} "
              f"({ours[size]['peak']:.0f}% of the FMA peak, measured at {ours[size]['fma_peak']:.0f} GFLOP/s in the "
              f"same run) peak_rss_mib={ours[size]['rss']:.0f}", flush=True)
    peer = {}
    out = subprocess.run([sys.executable, os.path.join(HERE, "peer_step.py"), "--sizes", "128", "256", "--iters",
                          str(args.iters), "--threads", str(args.threads)], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        print(line, flush=True)
        f = dict(kv.split("=") for kv in line.split()[1:])
        peer[int(f["size"])] = {"s": float(f["seconds_per_iter"]), "rss": float(f["peak_rss_mib"]), "torch": f["torch"]}
    print()
    print(f"CycleGAN training iteration on the CPU, {args.threads} threads (PyTorch {peer[256]['torch']})")
    print("| size | ours s/iter | PyTorch s/iter | speed-up | ours peak RSS | PyTorch peak RSS |")
    print("|---|---|---|---|---|---|")
    for size in (128, 256):
        o, p = ours[size], peer[size]
        print(f"| {size}x{size} | {o['s']:.2f} | {p['s']:.2f} | {p['s'] / o['s']:.2f}x | {o['rss']:.0f} MiB | "
              f"{p['rss']:.0f} MiB |")


if __name__ == "__main__":
    main()
