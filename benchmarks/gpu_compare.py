"""stochnet's CUDA kernels beside PyTorch CUDA on the same GPU.

Usage (on a machine with an NVIDIA GPU, numba-cuda and optionally PyTorch)::

    python benchmarks/gpu_compare.py [--size 100000000]

Prints, for each random kernel, the median time over repeated launches on data that
stays on the GPU, the achieved bandwidth (bytes written and read / time), and the ratio
against the PyTorch operation that does the same work (above 1: stochnet is faster);
the achieved GFLOP/s of the dense-layer product through each matrix-product path; and
the epoch time of the MLP 784-256-256-10 (ReLU, Adam, 60 000 samples, batch 128 and
1024) and the time per train step of the encoder block (batch 64, T = 64, d_model 64,
4 heads, d_ff 256, dropout 0.1) beside the same models in PyTorch on the same GPU.
``--quick`` shrinks everything (a smoke test, also on the CUDA simulator).
"""

import argparse
import itertools
import statistics
import time

# PyTorch is a peer to measure against, never a dependency. The import order does not
# matter (benchmarks/shared_machine.py measures both orders).
try:
    import torch
except ImportError:
    torch = None

import numpy as np
from numba import cuda

from stochnet import _config
from stochnet.engine import Adam, AttentionNetwork, MLPNetwork, Trainer
from stochnet.kernels.cuda import dense, dropout, noise, rng
from stochnet.random import derive_key, keep_threshold


def timed(fn, repeats, warm_up=True):
    """Median seconds of ``fn`` over ``repeats`` calls, each waited for on the GPU."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        cuda.synchronize()
        _torch_sync()
        tic = time.perf_counter()
        fn()
        cuda.synchronize()
        _torch_sync()
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def _torch_sync():
    if torch is not None and torch.cuda.is_available():
        torch.cuda.synchronize()


def _has_torch_cuda():
    return torch is not None and torch.cuda.is_available()


def matmul_rows(m, k, n, repeats):
    """GFLOP/s of a dense layer's product (``m × k @ k × n``), per path."""
    a = cuda.to_device(np.random.default_rng(0).normal(size=(m, k)).astype(np.float32))
    b = cuda.to_device(np.random.default_rng(1).normal(size=(k, n)).astype(np.float32))
    c = cuda.device_array((m, n), np.float32)
    flops = 2.0 * m * k * n
    lines = []
    paths = ["tiled"] + (["cublas"] if dense.matmul_backend() == "cublas" else [])
    for path in paths:
        _config.CUDA_MATMUL = path
        t = timed(lambda: dense.matmul(a, b, c), repeats)
        lines.append(
            f"matmul {m}x{k}x{n} float32 ({path:6s})  {t * 1e3:8.3f} ms  "
            f"{flops / t / 1e9:8.1f} GFLOP/s"
        )
    _config.CUDA_MATMUL = "auto"
    if _has_torch_cuda():
        ta, tb = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda")
        t = timed(lambda: ta @ tb, repeats)
        lines.append(
            f"matmul {m}x{k}x{n} float32 (torch )  {t * 1e3:8.3f} ms  "
            f"{flops / t / 1e9:8.1f} GFLOP/s"
        )
    return lines


def mlp_epoch_rows(n_samples, batch_sizes, repeats, sizes=(784, 256, 256, 10)):
    """Epoch time of the MLP, stochnet on the GPU beside PyTorch on the GPU."""
    rng_ = np.random.default_rng(0)
    X = rng_.normal(size=(n_samples, sizes[0])).astype(np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng_.integers(0, sizes[-1], n_samples)]
    lines = []
    for batch in batch_sizes:
        net = MLPNetwork(sizes, dtype=np.float32)
        net.initialize("he_uniform", derive_key(0)).to("cuda")
        trainer = Trainer(
            net,
            Adam(1e-3, 0.9, 0.999, 1e-8),
            batch_size=batch,
            keys=derive_key(1),
            chunk_seconds=10.0,
        )
        trainer.run_epoch(X, Y)  # compiles, and copies the data to the GPU
        ours = timed(lambda t=trainer: t.run_epoch(X, Y), repeats, warm_up=False)
        shape = "-".join(map(str, sizes))
        line = f"MLP epoch {shape} batch {batch:5d}  stochnet {ours * 1e3:9.1f} ms"
        if _has_torch_cuda():
            theirs = timed(_torch_mlp_epoch(X, Y, batch, sizes), repeats, warm_up=False)
            line += f"   PyTorch {theirs * 1e3:9.1f} ms   torch/stochnet {theirs / ours:5.2f}×"
        lines.append(line)
    return lines


def _torch_mlp_epoch(X, Y, batch, sizes):
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tx = torch.from_numpy(X).cuda()
    ty = torch.from_numpy(Y.argmax(1)).cuda()

    def epoch():
        order = torch.randperm(tx.shape[0], device="cuda")
        for start in range(0, tx.shape[0], batch):
            idx = order[start : start + batch]
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(tx[idx]), ty[idx]).backward()
            opt.step()

    epoch()
    return epoch


def encoder_rows(steps, repeats, batch=64, length=64, d_model=64, heads=4, d_ff=256):
    """Time per train step of the encoder block, stochnet beside PyTorch."""
    rng_ = np.random.default_rng(0)
    n = batch * steps
    X = rng_.normal(size=(n, length, 8)).astype(np.float32)
    Y = np.eye(2, dtype=np.float32)[rng_.integers(0, 2, n)]
    net = AttentionNetwork(length, 8, 2, d_model=d_model, n_heads=heads, n_layers=1, d_ff=d_ff,
                           dropout=0.1, dtype=np.float32)  # fmt: skip
    net.initialize("glorot_uniform", derive_key(0)).to("cuda")
    trainer = Trainer(
        net, Adam(1e-3, 0.9, 0.999, 1e-8), batch_size=batch, keys=derive_key(1), chunk_seconds=10.0
    )
    trainer.run_epoch(X, Y)
    ours = timed(lambda: trainer.run_epoch(X, Y), repeats, warm_up=False) / steps
    line = (
        f"encoder step (batch {batch}, T={length}, d={d_model}, {heads} heads, "
        f"d_ff={d_ff})  stochnet {ours * 1e3:7.2f} ms"
    )
    if _has_torch_cuda():
        layer = torch.nn.TransformerEncoderLayer(
            d_model, heads, d_ff, dropout=0.1, batch_first=True, norm_first=True
        ).cuda()
        embed, head = torch.nn.Linear(8, d_model).cuda(), torch.nn.Linear(d_model, 2).cuda()
        params = [*layer.parameters(), *embed.parameters(), *head.parameters()]
        opt = torch.optim.Adam(params, lr=1e-3)
        tx = torch.from_numpy(X).cuda()
        ty = torch.from_numpy(Y.argmax(1)).cuda()

        def epoch():
            for start in range(0, n, batch):
                opt.zero_grad(set_to_none=True)
                out = head(layer(embed(tx[start : start + batch])).mean(1))
                torch.nn.functional.cross_entropy(out, ty[start : start + batch]).backward()
                opt.step()

        epoch()
        theirs = timed(epoch, repeats, warm_up=False) / steps
        line += f"   PyTorch {theirs * 1e3:7.2f} ms   torch/stochnet {theirs / ours:5.2f}×"
    return [line]


def profile_host(n_samples=60_000, batch=128, steps=20, sizes=(784, 256, 256, 10), launches=2000):
    """cProfile of the host side of one MLP epoch (batch 128) and of encoder steps:
    where the time between kernel launches goes."""
    import cProfile
    import pstats

    @cuda.jit
    def one(a):
        i = cuda.grid(1)
        if i < a.shape[0]:
            a[i] += 1.0

    @cuda.jit
    def twelve(a, b, c, d, e, f, g, h, i_, j, k, l_):
        i = cuda.grid(1)
        if i < a.shape[0]:
            a[i] += 1.0

    x = cuda.device_array(128, np.float32)
    for name, fn in [
        ("launch, 1 array", lambda: one[1, 128](x)),
        ("launch, 12 arrays", lambda: twelve[1, 128](*([x] * 12))),
        ("device array slice", lambda: x[:64]),
    ]:
        fn()
        tic = time.perf_counter()
        for _ in range(launches):
            fn()
        cuda.synchronize()
        print(f"{name:24s} {(time.perf_counter() - tic) / launches * 1e6:7.1f} us")
    rng_ = np.random.default_rng(0)
    X = rng_.normal(size=(n_samples, sizes[0])).astype(np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng_.integers(0, sizes[-1], n_samples)]
    net = MLPNetwork(sizes, dtype=np.float32)
    net.initialize("he_uniform", derive_key(0)).to("cuda")
    trainer = Trainer(
        net, Adam(1e-3, 0.9, 0.999, 1e-8), batch_size=batch, keys=derive_key(1), chunk_seconds=10.0
    )
    trainer.run_epoch(X, Y)
    Xe = rng_.normal(size=(64 * steps, 64, 8)).astype(np.float32)
    Ye = np.eye(2, dtype=np.float32)[rng_.integers(0, 2, 64 * steps)]
    enc = AttentionNetwork(
        64, 8, 2, d_model=64, n_heads=4, n_layers=1, d_ff=256, dropout=0.1, dtype=np.float32
    )
    enc.initialize("glorot_uniform", derive_key(0)).to("cuda")
    enc_trainer = Trainer(
        enc, Adam(1e-3, 0.9, 0.999, 1e-8), batch_size=64, keys=derive_key(1), chunk_seconds=10.0
    )
    enc_trainer.run_epoch(Xe, Ye)
    for name, fn in [
        ("MLP epoch", lambda: trainer.run_epoch(X, Y)),
        ("encoder steps", lambda: enc_trainer.run_epoch(Xe, Ye)),
    ]:
        profiler = cProfile.Profile()
        profiler.enable()
        fn()
        cuda.synchronize()
        profiler.disable()
        print(f"== {name}")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--kernels-only", action="store_true", help="only the random kernels")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the host side of an MLP epoch and encoder steps",
    )
    args = parser.parse_args()
    if args.profile:
        profile_host()
        return
    if args.quick:
        args.size, args.repeats = 4096, 2
        if cuda.config.ENABLE_CUDASIM:  # one Python thread per CUDA thread
            from stochnet.kernels.cuda import reduce

            _config.THREADS_PER_BLOCK = 16
            dense.TILE, reduce.REDUCE_BLOCKS, reduce.REDUCE_THREADS = 8, 2, 8
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
    if _has_torch_cuda():
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
    name = getattr(cuda.get_current_device(), "name", "CUDA simulator")
    print(f"{name.decode() if isinstance(name, bytes) else name}, n = {n:,}")
    print("\n".join(rows))
    if args.kernels_only:
        return
    repeats = 2 if args.quick else 5
    print("\n".join(matmul_rows(*((16, 40, 24) if args.quick else (1024, 784, 256)), repeats)))
    if args.quick:
        print("\n".join(mlp_epoch_rows(64, (32,), repeats, sizes=(20, 16, 16, 4))))
    else:
        print("\n".join(mlp_epoch_rows(60_000, (128, 1024), repeats)))
    if args.quick:
        print("\n".join(encoder_rows(2, 1, batch=2, length=4, d_model=8, heads=2, d_ff=8)))
    else:
        print("\n".join(encoder_rows(50, repeats)))


if __name__ == "__main__":
    main()
