"""Large data: fit on 10⁶ × 100 float32 and predict 10⁷ rows in chunks, in bounded memory."""

import sys
import textwrap

import pytest

from .background import Command, after_the_test_process

SCRIPT = textwrap.dedent(
    """
    import warnings
    import numpy as np
    import stochnet as sn

    def peak_mib():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024

    rng = np.random.default_rng(0)
    w = rng.normal(size=100).astype(np.float32)
    small = rng.normal(size=(1000, 100)).astype(np.float32)
    warnings.simplefilter("ignore")
    sn.MLPRegressor(hidden_layer_sizes=(32,), max_iter=1).fit(small, small @ w)  # load kernels
    baseline = peak_mib()
    X = np.empty((1_000_000, 100), np.float32)
    for start in range(0, len(X), 100_000):
        X[start:start + 100_000] = rng.standard_normal((100_000, 100), dtype=np.float32)
    y = X @ w
    reg = sn.MLPRegressor(hidden_layer_sizes=(32,), max_iter=2, batch_size=1000,
                          random_state=0).fit(X, y)
    fit_extra = peak_mib() - baseline - (X.nbytes + y.nbytes) / 2**20
    total = 0.0
    for _ in range(10):  # 10**7 rows, one chunk of 10**6 at a time
        rng.standard_normal(X.shape, dtype=np.float32, out=X)
        total += float(reg.predict(X).sum())
    predict_extra = peak_mib() - baseline - (X.nbytes + y.nbytes) / 2**20
    print(f"{fit_extra:.0f} {predict_extra:.0f} {reg.score(X[:10000], X[:10000] @ w):.3f}")
    """
)


@after_the_test_process
def large_data_run(folder):
    return Command([sys.executable, "-c", SCRIPT], timeout=900)


@pytest.mark.slow
@pytest.mark.background(check=large_data_run)
def test_fit_and_chunked_predict_stay_within_150_mb_beyond_the_data(background):
    run = background.result(large_data_run).run
    assert run.returncode == 0, run.stderr[-3000:]
    fit_extra, predict_extra, r2 = (float(v) for v in run.stdout.split())
    assert fit_extra < 150 and predict_extra < 150, run.stdout
    assert r2 > 0.9  # it learned the linear map: the data were really used
