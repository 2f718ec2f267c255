"""stochnet's CUDA kernels beside PyTorch CUDA on the same GPU.

Usage (on a machine with an NVIDIA GPU, numba-cuda and optionally PyTorch)::

    python benchmarks/gpu_compare.py [--size 100000000]

Prints, for each random kernel, the median time over repeated launches on data that
stays on the GPU, the achieved bandwidth (bytes written and read / time), and the ratio
against the PyTorch operation that does the same work (above 1: stochnet is faster).
The MLP and encoder epochs on a GPU need the CUDA training engine, which is not in this
release; their rows say so.
"""

import argparse
import statistics
import time

import numpy as np
from numba import cuda

from stochnet.kernels.cuda import dropout, noise, rng
from stochnet.random import derive_key, keep_threshold

try:
    import torch
except ImportError:
    torch = None


def timed(fn, repeats):
    fn()
    cuda.synchronize()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn()
        cuda.synchronize()
        if torch is not None:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    n = args.size
    key, stream, step = derive_key(0), np.uint64(3), np.uint64(1)
    a = cuda.device_array(n, np.float32)
    b = cuda.device_array(n, np.float32)
    threshold = keep_threshold(0.2)
    rows = []

    def ours_dropout():
        dropout.dropout_forward(a, b, threshold, 1.25, key, stream, step, 0)

    ours = {
        "uniform float32": (lambda: rng.fill_uniform(a, key, stream, step, 0), 4),
        "normal float32": (lambda: rng.fill_normal(a, key, stream, step, 0), 4),
        "dropout forward float32 (p=0.2)": (ours_dropout, 12),
        "Gaussian noise float32": (
            lambda: noise.add_gaussian_noise(a, 0.1, key, stream, step, 0),
            8,
        ),
    }
    theirs = {}
    if torch is not None:
        t = torch.empty(n, device="cuda", dtype=torch.float32)
        theirs = {
            "uniform float32": lambda: t.uniform_(),
            "normal float32": lambda: t.normal_(),
            "dropout forward float32 (p=0.2)": lambda: torch.nn.functional.dropout(t, 0.2),
            "Gaussian noise float32": lambda: t.add_(torch.randn_like(t), alpha=0.1),
        }
    rng.fill_uniform(a, key, stream, step, 0)
    for name, (fn, bytes_per) in ours.items():
        ours_t = timed(fn, args.repeats)
        line = (
            f"{name:34s} stochnet {ours_t * 1e3:8.3f} ms  {n * bytes_per / ours_t / 1e9:7.1f} GB/s"
        )
        if name in theirs:
            their_t = timed(theirs[name], args.repeats)
            line += f"   PyTorch {their_t * 1e3:8.3f} ms   torch/stochnet {their_t / ours_t:5.2f}×"
        rows.append(line)
    name = cuda.get_current_device().name
    print(f"{name.decode() if isinstance(name, bytes) else name}, n = {n:,}")
    print("\n".join(rows))
    print("MLP epoch (784-256-256-10, batch 128 / 1024) and encoder block on the GPU: not in "
          "this release (the CUDA training engine is an open part of the CUDA issue).")  # fmt: skip


if __name__ == "__main__":
    main()
