"""One seed, one model: across repeated fits, thread counts and processes."""

import os
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import stochnet as sn

from .background import Command
from .conftest import in_thread, numba_threads

#: A seeded float32 digits fit whose parameters go to ``argv[1]``.
SEEDED_FIT = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    import stochnet as sn
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    clf = sn.MLPClassifier((32,), dropout=0.1, max_iter=3, random_state=5)
    np.save(sys.argv[1], clf.fit((X / 16).astype(np.float32), y).parameters_)
    """
)


def _fit(**params):
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = sn.MLPClassifier((32,), max_iter=3, random_state=5, **params)
        return clf.fit(X / 16, y).parameters_.copy()


def test_repeated_fits_are_bit_identical():
    np.testing.assert_array_equal(_fit(dropout=0.2), _fit(dropout=0.2))


def test_one_and_two_threads_are_bit_identical():
    with numba_threads(1):
        one = _fit(dropout=0.2, input_noise=0.1)
    with numba_threads(2):
        two = _fit(dropout=0.2, input_noise=0.1)
    np.testing.assert_array_equal(one, two)


def test_every_parallel_loop_gives_its_serial_bits():
    """Kernels run their loops serially on one kernel thread and in parallel on more
    (matrix tiles, row copies, dropout masks, pruning masks, the optimiser, layer norms,
    attention heads), and the BLAS stays at one thread either way: both give the same
    model."""
    X, y = load_digits(return_X_y=True)
    X = np.repeat(X / 16, 2, axis=0)  # 1024-row batches: every loop above its threshold
    y = np.repeat(y, 2)

    def fits():
        params = dict(max_iter=2, random_state=3, batch_size=1024)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp = sn.MLPClassifier(
                (256, 128), dropout=0.2, prune=0.3, prune_method="random", **params
            )
            attention = sn.AttentionClassifier(
                d_model=32, n_heads=4, n_layers=1, d_ff=64, sequence_shape=(8, 8), **params
            )
            full_batch = sn.MLPClassifier((256,), solver="lbfgs", max_iter=3, random_state=3)
            models = (mlp, attention, full_batch)
            return [model.fit(X, y).parameters_.copy() for model in models]

    with numba_threads(1):
        one = fits()
    with numba_threads(2):
        two = fits()
    for serial, parallel in zip(one, two, strict=True):
        np.testing.assert_array_equal(serial, parallel)


def compiled_then_cached(folder):
    """:data:`SEEDED_FIT` twice on the empty cache ``folder / "cache"``: first on kernels
    it compiles (parameters saved as ``compiled.npy``), then, in a second process, on
    the same kernels read back from the cache (``cached.npy``). Float32 only (38 s of
    compiling; both dtypes took 80 s): the two dtypes' kernels are one source compiled
    with the same flags, float32's vectorise twice as wide, and float64's are compared
    across processes by the resume and ensemble tests, which in a fresh checkout run
    kernels the test process compiled against subprocesses that load them."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder / "cache"))
    return [
        Command([sys.executable, "-c", SEEDED_FIT, str(folder / run)], env=env)
        for run in ("compiled", "cached")
    ]


@pytest.mark.slow
@pytest.mark.background(check=compiled_then_cached)
def test_compiled_and_cached_kernels_give_the_same_model(background):
    """One process compiles the kernels into an empty cache and fits, another reads
    them from it and fits: the models must agree to the bit (with ``reassoc``
    fast-math, an earlier optimiser kernel rounded differently in the two cases)."""
    finished = background.result(compiled_then_cached)
    assert [run.returncode for run in finished.runs] == [0, 0], finished.run.stderr[-3000:]
    compiled = np.load(finished.folder / "compiled.npy")
    np.testing.assert_array_equal(compiled, np.load(finished.folder / "cached.npy"))


@pytest.mark.parametrize(
    "make, n_features",
    [
        (lambda: sn.MLPRegressor(hidden_layer_sizes=(300,), max_iter=2, random_state=0), 256),
        (lambda: sn.AttentionRegressor(d_model=64, n_heads=4, d_ff=256, max_iter=1,
                                       random_state=0), 32),
    ],
    ids=["mlp", "attention"],
)  # fmt: skip
def test_a_model_gives_the_same_bits_in_any_python_thread(
    main_thread_controls_the_blas, make, n_features
):
    """Fits and predictions in another Python thread (a study's, a grid search's, a
    web server's) give the main thread's bits: the BLAS is at one thread there too.
    The MLP's products are large enough for a threaded BLAS to sum them its own way."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, n_features))
    y = X[:, 0] + rng.normal(scale=0.1, size=400)

    def fit_and_predict():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = make().fit(X, y)
        return model.parameters_.copy(), model.predict(X[:100]), model

    parameters, predictions, model = fit_and_predict()
    other = in_thread(fit_and_predict)
    np.testing.assert_array_equal(other[0], parameters)
    np.testing.assert_array_equal(other[1], predictions)
    np.testing.assert_array_equal(in_thread(lambda: model.predict(X[:100])), predictions)
