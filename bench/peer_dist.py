#!/usr/bin/env python3
"""The PyTorch peer of bench_dist: N processes on this machine joined by torch.distributed (gloo,
the CPU backend), timing the same two things.

- allreduce: the gradients of both generators and then both discriminators of the default CycleGAN
  (the official architecture, scripts/cyclegan_reference.py), packed into buckets of at most 25 MiB
  (a tensor larger than that alone) as bench_dist's dist::average_gradients packs them and as DDP's
  reducer buckets by default, each bucket all-reduced and divided by N.
- step: one CycleGAN training iteration per rank (batch 1 per rank) with each optimizer's gradients
  averaged that way right before its step. That is what DDP computes; DDP would also overlap the
  all-reduce with the backward pass, which neither this peer nor bench_dist does.

    /usr/bin/python3 bench/peer_dist.py --ranks 2 --threads 1 --size 128 --iters 3

Prints "peer ranks=N threads=T allreduce_ms=A MB=B busbw_GB/s=C" and "peer ranks=N threads=T
size=S step_s=X samples/s=Y averaging%=Z" from rank 0."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

BUCKET = 25 << 20


def buckets(tensors):
    """Runs of tensors whose bytes add up to at most BUCKET; a larger tensor is a run of its own."""
    runs, run, used = [], [], 0
    for t in tensors:
        b = t.numel() * t.element_size()
        if b >= BUCKET:
            if run:
                runs.append(run)
                run, used = [], 0
            runs.append([t])
            continue
        if used + b > BUCKET:
            runs.append(run)
            run, used = [], 0
        run.append(t)
        used += b
    if run:
        runs.append(run)
    return runs


def average(tensors, n, dist, torch):
    for run in buckets(tensors):
        flat = torch.cat([t.reshape(-1) for t in run])
        dist.all_reduce(flat)
        flat /= n
        off = 0
        for t in run:
            t.copy_(flat[off:off + t.numel()].view_as(t))
            off += t.numel()


def worker(rank, args):
    import torch
    import torch.distributed as dist
    from cyclegan_reference import CycleGAN

    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % args.port, rank=rank,
                            world_size=args.ranks)
    n = args.ranks
    torch.manual_seed(1)
    model = CycleGAN(ngf=64, ndf=64, n_blocks=9)
    groups = [list(model.G_A.parameters()) + list(model.G_B.parameters()),
              list(model.D_A.parameters()) + list(model.D_B.parameters())]
    say = print if rank == 0 else (lambda *a, **k: None)
    if "allreduce" in args.modes and n > 1:
        g = torch.Generator().manual_seed(3 + rank)
        grads = [[torch.rand(p.shape, generator=g) for p in ps] for ps in groups]
        nbytes = sum(t.numel() * 4 for s in grads for t in s)
        for s in grads:  # warm-up
            average(s, n, dist, torch)
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(args.iters_allreduce):
            for s in grads:
                average(s, n, dist, torch)
        per = (time.perf_counter() - t0) / args.iters_allreduce
        say("peer ranks=%d threads=%d allreduce_ms=%.1f MB=%.1f busbw_GB/s=%.3f" %
            (n, args.threads, per * 1e3, nbytes * 1e-6, nbytes / per * 1e-9 * 2 * (n - 1) / n), flush=True)
    if "step" in args.modes:
        spent = [0.0]
        for opt, params in ((model.opt_G, groups[0]), (model.opt_D, groups[1])):
            plain = opt.step

            def step(plain=plain, params=params):
                t0 = time.perf_counter()
                if n > 1:
                    average([p.grad for p in params if p.grad is not None], n, dist, torch)
                spent[0] += time.perf_counter() - t0
                plain()
            opt.step = step
        g = torch.Generator().manual_seed(2 + rank)
        a = torch.rand(1, 3, args.size, args.size, generator=g) * 2 - 1
        b = torch.rand(1, 3, args.size, args.size, generator=g) * 2 - 1
        model.step(a, b)  # warm-up
        dist.barrier()
        spent[0] = 0.0
        t0 = time.perf_counter()
        for _ in range(args.iters):
            model.step(a, b)
        total = time.perf_counter() - t0
        per = total / args.iters
        say("peer ranks=%d threads=%d size=%d step_s=%.3f samples/s=%.3f averaging%%=%.1f" %
            (n, args.threads, args.size, per, n / per, spent[0] / total * 100), flush=True)
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--iters", type=int, default=3, help="timed training iterations")
    p.add_argument("--iters_allreduce", type=int, default=5)
    p.add_argument("--modes", nargs="+", default=["allreduce", "step"], choices=["allreduce", "step"])
    p.add_argument("--port", type=int, default=29517)
    args = p.parse_args()
    import torch.multiprocessing as mp
    mp.spawn(worker, args=(args,), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
