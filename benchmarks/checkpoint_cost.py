"""What ``checkpoint=`` costs a fit, and how soon the first checkpoint is on disk.

Usage::

    python benchmarks/checkpoint_cost.py            # about a minute
    python benchmarks/checkpoint_cost.py --repeat 1

Fits an MLP ``(256, 128)`` with Adam and dropout on 20 000 × 784 float32 rows (MNIST's
shape, random data) for ``--epochs`` epochs, alternately with and without a checkpoint
file, in one process on warm kernels, and prints the median fit times, their ratio
(target: under 1.05), the number of writes, the mean write time, the size of the file
and the seconds until the first write (target: a few).
"""

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import stochnet as sn
from stochnet import io as snio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 784)).astype(np.float32)
    y = (X[:, :20].sum(axis=1) > 0).astype(int) + (X[:, 20:40].sum(axis=1) > 2)
    folder = Path(tempfile.mkdtemp())
    writes = []
    original = snio.write

    def timed_write(estimator, path, **sections):
        tic = time.perf_counter()
        original(estimator, path, **sections)
        writes.append((tic, time.perf_counter() - tic, Path(path).stat().st_size))

    snio.write = timed_write

    def fit(checkpoint):
        model = sn.MLPClassifier(
            (256, 128),
            dropout=0.1,
            max_iter=args.epochs,
            tol=0,
            random_state=0,
            checkpoint=checkpoint,
        )
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        return tic, time.perf_counter() - tic

    fit(None)  # compile and warm up
    plain, checkpointed, first = [], [], []
    for _ in range(args.repeat):
        plain.append(fit(None)[1])
        writes.clear()
        start, seconds = fit(folder / "fit.ckpt")
        checkpointed.append(seconds)
        first.append(writes[0][0] - start if writes else float("nan"))
    print(f"fit without checkpoint: {statistics.median(plain):.2f} s")
    print(
        f"fit with checkpoint:    {statistics.median(checkpointed):.2f} s "
        f"({statistics.median(checkpointed) / statistics.median(plain):.3f}x)"
    )
    if writes:
        mean = statistics.mean(w[1] for w in writes)
        print(
            f"writes per fit: {len(writes)}, {1000 * mean:.1f} ms each, "
            f"{writes[-1][2] / 2**20:.1f} MiB; first after {statistics.median(first):.1f} s"
        )


if __name__ == "__main__":
    main()
