"""The cost of one small kernel inside a replayed CUDA graph on this GPU (PyTorch), for planning:
how much a training step of N small kernels pays in launch gaps alone."""
import torch

x = torch.zeros(4096, device="cuda")
s = torch.cuda.Stream()
with torch.cuda.stream(s):
    for _ in range(3):
        x.add_(1.0)
torch.cuda.synchronize()
g = torch.cuda.CUDAGraph()
n = 2000
with torch.cuda.graph(g):
    for _ in range(n):
        x.add_(1.0)
for _ in range(3):
    g.replay()
torch.cuda.synchronize()
a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
a.record()
for _ in range(10):
    g.replay()
b.record()
torch.cuda.synchronize()
print(f"graph replay: {a.elapsed_time(b) / 10 / n * 1000:.2f} us per small kernel ({n} kernels per graph)")
a.record()
for _ in range(n):
    x.add_(1.0)
b.record()
torch.cuda.synchronize()
print(f"eager PyTorch: {a.elapsed_time(b) / n * 1000:.2f} us per small kernel")
