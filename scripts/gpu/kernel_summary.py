"""Sums ncu's raw CSV (--metrics gpu__time_duration.sum --csv --page raw) by kernel name: the GPU
time of one profiled region, largest first."""
import csv
import sys
from collections import defaultdict

rows = list(csv.reader(open(sys.argv[1])))
head = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
cols = rows[head]
name, dur = cols.index("Kernel Name"), cols.index("gpu__time_duration.sum")
tot, cnt = defaultdict(float), defaultdict(int)
for r in rows[head + 1:]:
    if len(r) <= dur:
        continue
    try:
        t = float(r[dur].replace(",", ""))
    except ValueError:
        continue
    k = r[name].split("(")[0][:90]
    tot[k] += t
    cnt[k] += 1
total = sum(tot.values())
print(f"{sum(cnt.values())} kernels, {total / 1e6:.2f} ms of GPU time")
for k, t in sorted(tot.items(), key=lambda kv: -kv[1])[:int(sys.argv[2]) if len(sys.argv) > 2 else 25]:
    print(f"{t / 1e6:8.3f} ms {100 * t / total:5.1f}% {cnt[k]:5d}x  {k}")
