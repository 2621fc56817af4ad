"""PyTorch's time for each CycleGAN convolution at one size (cudnn.benchmark, TF32 on, as the
official train.py runs): forward, input gradient and weight gradient, NCHW and channels_last."""
import sys
import torch

torch.backends.cudnn.benchmark = True
torch.backends.cudnn.allow_tf32 = True
S = int(sys.argv[1]) if len(sys.argv) > 1 else 256
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1
layers = [("G c7s1-64", 3, S + 6, 64, 7, 1, 0), ("G d128", 64, S, 128, 3, 2, 1), ("G d256", 128, S // 2, 256, 3, 2, 1),
          ("G R256", 256, S // 4 + 2, 256, 3, 1, 0), ("G c7s1-3", 64, S + 6, 3, 7, 1, 0),
          ("D c512 s1", 256, S // 8, 512, 4, 1, 1)]


def t(fn):
    for _ in range(3):
        fn()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for _ in range(15):
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    return sorted(ts)[len(ts) // 2]


print(f"torch {torch.__version__} cudnn {torch.backends.cudnn.version()} size {S} batch {N}: ms fwd / bwd-data / bwd-filter")
for name, C, H, K, R, st, pd in layers:
    row = f"{name:10s}"
    for cl in (False, True):
        mf = torch.channels_last if cl else torch.contiguous_format
        x = torch.randn(N, C, H, H, device="cuda").to(memory_format=mf)
        w = torch.randn(K, C, R, R, device="cuda").to(memory_format=mf)
        y = torch.nn.functional.conv2d(x, w, None, st, pd)
        dy = torch.randn_like(y)
        f = t(lambda: torch.nn.functional.conv2d(x, w, None, st, pd))
        bd = t(lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [st, st], [pd, pd], [1, 1], False, [0, 0], 1,
                                                           [True, False, False]))
        bf = t(lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [st, st], [pd, pd], [1, 1], False, [0, 0], 1,
                                                           [False, True, False]))
        row += f" | {'NHWC' if cl else 'NCHW'} {f:.4f} {bd:.4f} {bf:.4f}"
    print(row, flush=True)
