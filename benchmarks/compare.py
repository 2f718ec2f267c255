"""stochnet against scikit-learn and PyTorch CPU, measured in the same run.

Usage::

    python benchmarks/compare.py            # full table (a few minutes on 2 cores)
    python benchmarks/compare.py --quick    # 10 000 samples instead of 60 000

Every contender gets the same data, the same float32 dtype and the same number of
threads (Numba, BLAS and PyTorch intra-op pools all set to ``--threads``). Runs
alternate between contenders; the table shows medians and the ratios
``peer time / stochnet time`` (above 1: stochnet is faster).
"""

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# PyTorch is a peer to measure against, never a dependency. The import order does not
# matter (benchmarks/shared_machine.py measures both orders).
try:
    import torch
except ImportError:
    torch = None

import numba
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP
from threadpoolctl import threadpool_limits

import stochnet as sn
from stochnet.kernels.cpu import dropout as dropout_kernels
from stochnet.random import derive_key, keep_threshold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks.common import FIRST_FITS, first_fit_code, mnist_like

HIDDEN = (256, 256)


def sgemm_gflops(threads):
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    best = np.inf
    with threadpool_limits(threads, user_api="blas"):
        for _ in range(5):
            tic = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - tic)
    return 2 * 2048**3 / best / 1e9


def epoch_flops(n):
    """Matrix-product FLOPs of one epoch: forward + weight grads + input grads
    of every layer but the first."""
    sizes = (784, *HIDDEN, 10)
    layers = list(itertools.pairwise(sizes))
    per_row = sum(2 * a * b for a, b in layers) * 2 + sum(2 * a * b for a, b in layers[1:])
    return n * per_row


# ----------------------------------------------------------------- contenders
def stochnet_epoch(X, y, batch_size, dropout):
    clf = sn.MLPClassifier(HIDDEN, batch_size=batch_size, dropout=dropout, random_state=0)
    clf.partial_fit(X[: batch_size * 4], y[: batch_size * 4], classes=np.arange(10))  # compile
    return lambda: clf.partial_fit(X, y)


def sklearn_epoch(X, y, batch_size):
    clf = SkMLP(HIDDEN, batch_size=batch_size, random_state=0)
    clf.partial_fit(X[: batch_size * 4], y[: batch_size * 4], classes=np.arange(10))
    return lambda: clf.partial_fit(X, y)


def torch_model(dropout=0.0):
    layers = [torch.nn.Linear(784, HIDDEN[0]), torch.nn.ReLU()]
    if dropout:
        layers.append(torch.nn.Dropout(dropout))
    layers += [torch.nn.Linear(HIDDEN[0], HIDDEN[1]), torch.nn.ReLU()]
    if dropout:
        layers.append(torch.nn.Dropout(dropout))
    layers.append(torch.nn.Linear(HIDDEN[1], 10))
    return torch.nn.Sequential(*layers)


def torch_epoch(X, y, batch_size, dropout):
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch_model(dropout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        model.train()
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    return run


ENCODER = dict(batch=64, length=64, d_model=64, heads=4, d_ff=256, dropout=0.1, steps=20)


def encoder_data():
    """Sequences ``(steps · batch) × T × d_model`` and 10-class labels, float32."""
    c = ENCODER
    rng = np.random.default_rng(0)
    X = rng.normal(size=(c["steps"] * c["batch"], c["length"], c["d_model"]))
    return X.astype(np.float32), rng.integers(0, 10, len(X))


def stochnet_encoder(X, y):
    c = ENCODER
    clf = sn.AttentionClassifier(
        d_model=c["d_model"],
        n_heads=c["heads"],
        n_layers=1,
        d_ff=c["d_ff"],
        dropout=c["dropout"],
        attention_dropout=c["dropout"],
        batch_size=c["batch"],
        random_state=0,
    )
    clf.partial_fit(X[: c["batch"]], y[: c["batch"]], classes=np.arange(10))  # compile
    return lambda: clf.partial_fit(X, y)


def torch_encoder(X, y):
    """The same network in PyTorch: linear token embedding + positions, one pre-LN
    ``TransformerEncoderLayer`` (``nn.MultiheadAttention`` + LayerNorm + FFN, dropout
    on attention weights, FFN hidden units and both residual branches), final
    LayerNorm, mean pooling, linear head; Adam."""
    c = ENCODER
    torch.manual_seed(0)

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            d = c["d_model"]
            self.embed = torch.nn.Linear(d, d, bias=False)
            self.pos = torch.nn.Parameter(torch.zeros(c["length"], d))
            self.block = torch.nn.TransformerEncoderLayer(
                d, c["heads"], c["d_ff"], c["dropout"], batch_first=True, norm_first=True
            )
            self.norm = torch.nn.LayerNorm(d)
            self.head = torch.nn.Linear(d, 10)

        def forward(self, x):
            h = self.block(self.embed(x) + self.pos)
            return self.head(self.norm(h.mean(1)))

    model = Encoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run():
        model.train()
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), c["batch"]):
            idx = perm[i : i + c["batch"]]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    return run


def encoder_row(repeats):
    X, y = encoder_data()
    contenders = {"stochnet": stochnet_encoder(X, y)}
    if torch is not None:
        contenders["torch"] = torch_encoder(X, y)
    medians = measure(contenders, repeats)
    per_step = {name: t / ENCODER["steps"] for name, t in medians.items()}
    return row("encoder block train step, batch 64 × T 64 [ms]", per_step, unit=1e3)


def fitted_pair(X, y):
    """A fitted 64-100-10 MLP from each library (same weights) for predict timings."""
    Xs, ys = X[:2000, :64].copy(), y[:2000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = sn.MLPClassifier((100,), max_iter=5, random_state=0).fit(Xs, ys)
        theirs = SkMLP((100,), max_iter=5, random_state=0).fit(Xs, ys)
    return ours, theirs


# ------------------------------------------------------------ fresh processes
IMPORTS = {
    "stochnet": "from stochnet import MLPClassifier",
    "sklearn": "from sklearn.neural_network import MLPClassifier",
}
FIT_DIGITS = (
    "import warnings; warnings.simplefilter('ignore')\n"
    "{import_line}\n"
    "from sklearn.datasets import load_digits\n"
    "X, y = load_digits(return_X_y=True)\n"
    "MLPClassifier(random_state=0).fit(X / 16, y)\n"
)
# Peak resident memory from VmHWM: ru_maxrss would carry over the parent's peak
# through fork + exec on Linux.
PEAK_MEMORY = """
import sys, warnings
sys.path.insert(0, {bench_dir!r})
warnings.simplefilter("ignore")
from benchmarks.common import FIRST_FITS, first_fit_code, mnist_like
{import_line}


def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


small, labels = mnist_like(1024, seed=1)
MLPClassifier((256, 256), max_iter=1, batch_size=512).fit(small, labels)  # load kernels
baseline = status_kib("VmHWM")
X, y = mnist_like(60_000)
MLPClassifier((256, 256), max_iter=1, batch_size=512, random_state=0).fit(X, y)
peak = status_kib("VmHWM")
print((peak - baseline) / 1024 - X.nbytes / 2**20, X.nbytes / 2**20)
"""


def fresh_process(code, env=None):
    """Wall seconds of ``python -c code`` in a fresh interpreter, and its stdout."""
    tic = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return time.perf_counter() - tic, done.stdout


def fresh_process_medians(codes, repeats, env=None):
    for code in codes.values():  # warm the OS file cache and Numba's kernel cache
        fresh_process(code, env)
    times = {name: [] for name in codes}
    for _ in range(repeats):
        for name, code in codes.items():
            times[name].append(fresh_process(code, env)[0])
    return {name: statistics.median(t) for name, t in times.items()}


def first_fit_rows(env):
    """A fresh process's first fit of each model family (stochnet's, timed as a whole,
    imports included) against scikit-learn's fresh import + fit of digits: after
    ``pip install .`` (the kernels it precompiled, here ``python -m stochnet compile``
    into an empty cache) and on an empty cache, which compiles everything."""
    sklearn_fit = statistics.median(
        fresh_process(first_fit_code("sklearn"), env)[0] for _ in range(3)
    )
    rows = []
    with tempfile.TemporaryDirectory() as precompiled:
        subprocess.run(
            [sys.executable, "-m", "stochnet", "compile", "--quiet"],
            check=True,
            env=dict(env, NUMBA_CACHE_DIR=precompiled),
        )
        for family in FIRST_FITS:
            code = first_fit_code(family)
            warm, _ = fresh_process(code, dict(env, NUMBA_CACHE_DIR=precompiled))
            rows.append(
                row(
                    f"first fit after install, {family} [s] (vs sklearn's fresh fit)",
                    {"stochnet": warm, "sklearn": sklearn_fit},
                )
            )
            with tempfile.TemporaryDirectory() as empty_cache:
                empty, _ = fresh_process(code, dict(env, NUMBA_CACHE_DIR=empty_cache))
            rows.append(
                row(
                    "same, empty kernel cache (compiles) [s]",
                    {"stochnet": empty, "sklearn": sklearn_fit},
                )
            )
    return rows


def startup_rows(threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    rows = [
        row(
            "`from … import MLPClassifier`, fresh process [s]",
            fresh_process_medians(IMPORTS, 7, env),
        )
    ]
    fits = {name: FIT_DIGITS.format(import_line=line) for name, line in IMPORTS.items()}
    rows.append(
        row(
            "fresh process: import + fit digits, warm cache [s]",
            fresh_process_medians(fits, 5, env),
        )
    )
    rows += first_fit_rows(env)
    bench_dir = str(Path(__file__).resolve().parent)
    extra = {}
    for name, line in IMPORTS.items():
        code = PEAK_MEMORY.format(bench_dir=bench_dir, import_line=line)
        extra[name], x_mb = (float(v) for v in fresh_process(code, env)[1].split())
    rows.append(
        row(
            f"fit 60 000 × 784 float32 (X = {x_mb:.0f} MB): peak memory above X [MB]",
            extra,
            fmt="{:.0f}",
        )
    )
    return rows


# ---------------------------------------------------------------------- timing
#: Idle seconds before each timed run. Each library's thread pools (scikit-learn's
#: NumPy OpenBLAS, the SciPy OpenBLAS that Numba's ``np.dot`` calls, Numba's and
#: PyTorch's OpenMP) spin for up to ~0.1 s after a call before they sleep; without a
#: pause each contender would share the cores with the previous one's spinning
#: threads (measured: 100 000-row ``predict_proba`` 49 → 26 ms, scikit-learn's 70 → 46 ms).
SETTLE_SECONDS = 0.25


def measure(contenders, repeats, settle=SETTLE_SECONDS, number=1):
    """Median seconds per call for each contender, after one untimed warm-up run each.

    The timed samples alternate between contenders, each after ``settle`` idle seconds
    (and all after one such pause); a sample times ``number`` calls in a row, as
    ``timeit`` and asv do, so that a short call is not dominated by waking a thread
    pool that went to sleep during the pause (about 5 ms on this VM).
    """
    time.sleep(SETTLE_SECONDS)
    for run in contenders.values():
        run()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            time.sleep(settle)
            tic = time.perf_counter()
            for _ in range(number):
                run()
            times[name].append((time.perf_counter() - tic) / number)
    return {name: statistics.median(t) for name, t in times.items()}


def row(label, medians, unit=1.0, fmt="{:.3f}"):
    ours = medians["stochnet"]
    cells = [label, fmt.format(ours * unit)]
    ratios = []
    for peer in ("sklearn", "torch"):
        if peer in medians:
            cells.append(fmt.format(medians[peer] * unit))
            ratios.append(f"{medians[peer] / ours:.2f}×")
        else:
            cells.append("—")
            ratios.append("—")
    return cells + ratios


def floors(n, threads, repeats=50):
    """Lower bounds of the MLP epoch rows: per epoch of ``n`` samples, the eight matrix
    products of a train step (through NumPy's BLAS on preallocated float32 blocks, 1
    and ``threads`` BLAS threads, and as stochnet runs them: ``blas.matmul``'s tiles on
    Numba's threads) and stochnet's Adam step over all parameters (1 and ``threads``
    Numba threads). Every peer pays the same products."""
    from stochnet.kernels.cpu.blas import matmul
    from stochnet.kernels.cpu.optim import adam_step

    rng = np.random.default_rng(0)
    sizes = (784, *HIDDEN, 10)
    W = [rng.normal(size=s).astype(np.float32) for s in itertools.pairwise(sizes)]
    lines = []

    def median_ms(fn):
        fn()
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            fn()
            times.append(time.perf_counter() - tic)
        return statistics.median(times)

    for batch in (32, 128, 512):
        A = [rng.random((batch, s), dtype=np.float32) for s in sizes]
        D = [np.empty_like(a) for a in A]
        G = [np.empty_like(w) for w in W]

        def products(dot=np.dot, A=A, D=D, G=G):
            for layer in range(3):
                dot(A[layer], W[layer], A[layer + 1])
            for layer in (2, 1, 0):
                dot(A[layer].T, A[layer + 1], G[layer])
                if layer:
                    dot(A[layer + 1], W[layer].T, D[layer])

        steps = -(-n // batch)
        cells = []
        for blas in (1, threads):
            with threadpool_limits(blas, user_api="blas"):
                cells.append(f"{median_ms(products) * steps:.3f} s ({blas} BLAS thr.)")
        with threadpool_limits(1, user_api="blas"):
            cells.append(f"{median_ms(lambda: products(matmul)) * steps:.3f} s (stochnet's tiles)")
        lines.append(f"batch {batch:3d}: 8 products per epoch " + ", ".join(cells))
    n_params = sum(w.size for w in W) + sum(sizes[1:])
    theta, grad = np.zeros(n_params, np.float32), rng.normal(size=n_params).astype(np.float32)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    cells = []
    for numba_threads in (1, threads):
        numba.set_num_threads(numba_threads)
        step = median_ms(lambda: adam_step(theta, grad, m, v, n_params - sum(sizes[1:]), 1e-4,
                                           0.0, 1 / 32, 1e-3, 0.9, 0.999, 1e-8, 5))  # fmt: skip
        cells.append(f"{step * 1e3:.3f} ms ({numba_threads} Numba thr.)")
    numba.set_num_threads(threads)
    lines.append(f"Adam step over {n_params} parameters: " + ", ".join(cells))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 000 samples, 3 repeats")
    parser.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--encoder-only", action="store_true", help="only the encoder row")
    parser.add_argument(
        "--floors", action="store_true", help="only the MLP epoch rows' lower bounds"
    )
    args = parser.parse_args()
    n = 10_000 if args.quick else 60_000
    repeats = args.repeats or 3
    numba.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    else:
        print("PyTorch not installed: its columns are skipped (pip install torch==2.13.0).")
    if args.floors:
        print("\n".join(floors(n, args.threads)))
        return
    if args.encoder_only:
        with threadpool_limits(args.threads, user_api="blas"):
            print(encoder_row(repeats))
        return
    X, y = mnist_like(n)
    rows = []
    gflops = sgemm_gflops(args.threads)

    with threadpool_limits(args.threads, user_api="blas"):
        for batch_size, dropout in ((32, 0.0), (128, 0.0), (512, 0.0), (128, 0.2)):
            contenders = {"stochnet": stochnet_epoch(X, y, batch_size, dropout)}
            if dropout == 0.0:
                contenders["sklearn"] = sklearn_epoch(X, y, batch_size)
            if torch is not None:
                contenders["torch"] = torch_epoch(X, y, batch_size, dropout)
            medians = measure(contenders, repeats)
            label = f"MLP epoch, batch {batch_size}" + (", dropout 0.2" if dropout else "")
            rows.append(row(label + " [s]", medians))
            if batch_size == 512 and not dropout:
                rate = epoch_flops(n) / medians["stochnet"] / 1e9
                sgemm_share = f"{rate:.0f} GFLOP/s = {100 * rate / gflops:.0f}% of sgemm"

        ours, theirs = fitted_pair(X, y)
        one = X[:1, :64].copy()
        medians = measure(
            {"stochnet": lambda: ours.predict(one), "sklearn": lambda: theirs.predict(one)},
            repeats=200,
            settle=0.0,  # one row wakes no thread pool
            number=20,  # each sample: 20 calls in a row, as a serving loop makes them
        )
        rows.append(row("predict, one row [µs]", medians, unit=1e6, fmt="{:.1f}"))
        many = np.ascontiguousarray(np.tile(X[:, :64], (-(-100_000 // n), 1))[:100_000])
        medians = measure(
            {
                "stochnet": lambda: ours.predict_proba(many),
                "sklearn": lambda: theirs.predict_proba(many),
            },
            repeats,
            number=3,
        )
        rows.append(row("predict_proba, 100 000 rows [ms]", medians, unit=1e3))

        big = np.random.default_rng(0).random(10_000_000, dtype=np.float32)
        out, mask = np.empty_like(big), np.empty_like(big)
        key, stream, threshold = derive_key(0), np.uint64(3), keep_threshold(0.2)

        def ours_dropout():
            out[:] = big
            dropout_kernels.dropout_forward(
                out, mask, threshold, 1.25, key, stream, np.uint64(1), 0
            )

        contenders = {"stochnet": ours_dropout}
        if torch is not None:
            big_t = torch.from_numpy(big)
            contenders["torch"] = lambda: torch.nn.functional.dropout(big_t, 0.2, training=True)
        ours_dropout()
        medians = measure(contenders, 5, number=5)
        rows.append(row("dropout forward, 10⁷ float32 [ms]", medians, 1e3))
        rows.append(encoder_row(repeats))

    rows += startup_rows(args.threads)

    header = [
        "workload",
        "stochnet",
        "scikit-learn",
        "PyTorch",
        "sklearn/stochnet",
        "torch/stochnet",
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{n} samples, float32, {args.threads} threads; sgemm {gflops:.0f} GFLOP/s")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"\nbatch 512 epoch: {sgemm_share}")


if __name__ == "__main__":
    main()
