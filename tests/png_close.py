"""Compares our translated image with PyTorch's: python3 png_close.py OURS.png EXPECTED.png.
Prints the largest difference and exits 0 when it is at most 1 of 255 (tensor2im truncates, so a
rounding difference can cross an integer), 1 otherwise or when the sizes differ."""
import sys

import numpy as np
from PIL import Image

a = np.asarray(Image.open(sys.argv[1])).astype(int)
b = np.asarray(Image.open(sys.argv[2])).astype(int)
if a.shape != b.shape:
    sys.exit(f"{sys.argv[1]} is {a.shape}, {sys.argv[2]} is {b.shape}")
d = np.abs(a - b).max()
print(f"{sys.argv[1]}: largest difference to PyTorch's output: {d} of 255")
sys.exit(0 if d <= 1 else 1)
