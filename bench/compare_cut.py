#!/usr/bin/env python3
"""CUT and FastCUT against CycleGAN, ours and PyTorch's, at 256x256 on the CPU in one run: our
BM_cut_step (both modes) and BM_train_step (CycleGAN), each in a process of its own so each peak
resident memory is its own; then bench/peer_cut.py (the official CUT code) and bench/peer_step.py
(CycleGAN in PyTorch), the same thread count. Prints seconds per iteration, each model's time as a
share of CycleGAN's (the paper's yardstick: CUT 0.6x, FastCUT 0.38x), ours against PyTorch, and
the peak memories.

    /usr/bin/python3 bench/compare_cut.py --official /path/to/contrastive-unpaired-translation --threads 2
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def ours(build, bench_filter, env):
    out = subprocess.run([os.path.join(build, "bench", "bench_step"), f"--benchmark_filter={bench_filter}",
                          "--benchmark_format=json"], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_step failed for {bench_filter}:\n{out.stderr[-3000:]}")
    b = json.loads(out.stdout[out.stdout.index("{"):])["benchmarks"][0]
    return {"s": b["real_time"], "mem": b["peak_RSS_MiB"], "gflops": b["GFLOP/s"], "tflop": b["conv_TFLOP"]}


def peer(cmd):
    res = {}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        print(line.rstrip(), flush=True)
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        key = f.get("model", "CycleGAN")
        res[key] = None if "failed" in f else {"s": float(f["seconds_per_iter"]), "mem": float(f["peak_rss_mib"]),
                                                "torch": f["torch"]}
    proc.wait()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", required=True, help="a checkout of contrastive-unpaired-translation")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=3, help="PyTorch's timed iterations (ours: bench_step's 3)")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter with PyTorch")
    ap.add_argument("--no-peer", action="store_true", help="ours only")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), CG_AMP="0")
    rows = {}
    for name, filt in (("CycleGAN", "BM_train_step/size:256/batch:1/"), ("CUT", "BM_cut_step/size:256/mode:0/"),
                       ("FastCUT", "BM_cut_step/size:256/mode:1/")):
        rows[name] = {"ours": ours(args.build, filt, env)}
        r = rows[name]["ours"]
        print(f"ours model={name} size=256 seconds_per_iter={r['s']:.3f} peak_rss_mib={r['mem']:.0f} "
              f"conv_TFLOP={r['tflop']:.3f} GFLOP/s={r['gflops']:.0f}", flush=True)
    if not args.no_peer:
        cut = peer([args.python, os.path.join(HERE, "peer_cut.py"), "--official", args.official, "--size", "256",
                    "--iters", str(args.iters), "--threads", str(args.threads)])
        cyc = peer([args.python, os.path.join(HERE, "peer_step.py"), "--sizes", "256", "--iters", str(args.iters),
                    "--threads", str(args.threads)])
        rows["CUT"]["peer"], rows["FastCUT"]["peer"] = cut.get("CUT"), cut.get("FastCUT")
        rows["CycleGAN"]["peer"] = cyc.get("CycleGAN")
    print(f"\n256x256, batch 1, {args.threads} threads; share: the model's time / CycleGAN's, same code")
    print("| model | ours s/iter | share | PyTorch s/iter | share | speed-up | ours peak RSS | PyTorch peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("CycleGAN", "CUT", "FastCUT"):
        o, p = rows[name]["ours"], rows[name].get("peer")
        share = o["s"] / rows["CycleGAN"]["ours"]["s"]
        pc = rows["CycleGAN"].get("peer")
        if p:
            ps = f"{p['s'] / pc['s']:.2f}x" if pc else "-"
            print(f"| {name} | {o['s']:.2f} | {share:.2f}x | {p['s']:.2f} | {ps} | {p['s'] / o['s']:.2f}x | "
                  f"{o['mem']:.0f} MiB | {p['mem']:.0f} MiB |")
        else:
            print(f"| {name} | {o['s']:.2f} | {share:.2f}x | - | - | - | {o['mem']:.0f} MiB | - |")


if __name__ == "__main__":
    main()
