"""Workspaces shared by the networks of a thread (``stochnet.engine.scratch``): scratch
memory that no result may depend on."""

import threading

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_digits

import stochnet as sn
from stochnet.engine import scratch
from stochnet.engine.network import Network

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:300] / 16.0
Y_DIGITS = Y_DIGITS[:300]


def _poison_thread_workspaces():
    """Fill every floating buffer the calling thread keeps with NaN: whatever a kernel
    reads before writing would then show in the results."""

    def poison(values):
        for value in values:
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                value.fill(np.nan)
            elif isinstance(value, tuple):
                poison(value)

    workspaces = scratch.thread_workspaces()
    for workspace in workspaces:
        poison(workspace)
    return len(workspaces)


def _in_new_thread(function):
    """``function()`` in a thread of its own (its own pool), exceptions re-raised."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised in the caller
            outcome["error"] = error

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


MODELS = {
    "mlp dropout": lambda: sn.MLPClassifier((16,), max_iter=5, dropout=0.2, random_state=3),
    "mlp float32 regressor": lambda: sn.MLPRegressor(
        hidden_layer_sizes=(8, 8), max_iter=5, input_noise=0.1, random_state=3
    ),
    "mlp sgd": lambda: sn.MLPClassifier((16,), solver="sgd", max_iter=5, random_state=3),
    "attention": lambda: sn.AttentionClassifier(
        d_model=8, n_heads=2, n_layers=1, d_ff=16, max_iter=3, dropout=0.1, random_state=3
    ),
}


def _fit_and_predict(make, X, y):
    model = make().fit(X, y)
    return model, np.asarray(model.predict(X)), model.loss_curve_


@pytest.mark.parametrize("name", sorted(MODELS))
def test_results_do_not_depend_on_what_a_shared_workspace_held(name):
    X = X_DIGITS[:, :16] if name == "attention" else X_DIGITS
    y = Y_DIGITS
    if "regressor" in name:  # float32 input: a float32 network
        X, y = X.astype(np.float32), y.astype(np.float32)
    # Fresh thread: a pool of its own, so this fit allocates fresh workspaces.
    fresh, fresh_predictions, fresh_losses = _in_new_thread(
        lambda: _fit_and_predict(MODELS[name], X, y)
    )

    def after_poison():
        _fit_and_predict(MODELS[name], X, y)  # fills the pool with this layout
        assert _poison_thread_workspaces() > 0
        model, predictions, losses = _fit_and_predict(MODELS[name], X, y)
        assert _poison_thread_workspaces() > 0
        return model, predictions, losses, np.asarray(model.predict(X))

    model, predictions, losses, predicted_again = _in_new_thread(after_poison)
    assert losses == fresh_losses
    np.testing.assert_array_equal(model._network.theta, fresh._network.theta)
    np.testing.assert_array_equal(predictions, fresh_predictions)
    np.testing.assert_array_equal(predicted_again, fresh_predictions)


def test_sparse_input_reads_no_stale_rows():
    X = scipy.sparse.random(200, 40, density=0.1, format="csr", random_state=0)
    y = np.arange(200) % 3

    def fit():
        model = sn.MLPClassifier((8,), max_iter=4, random_state=0).fit(X, y)
        return model._network.theta.copy(), model.predict_proba(X)

    fresh = _in_new_thread(fit)

    def after_poison():
        fit()
        _poison_thread_workspaces()
        return fit()

    again = _in_new_thread(after_poison)
    np.testing.assert_array_equal(again[0], fresh[0])
    np.testing.assert_array_equal(again[1], fresh[1])


def test_networks_of_one_layout_share_a_workspace_within_a_thread_only():
    def workspaces():
        a = sn.MLPClassifier((16,), max_iter=2, random_state=0).fit(X_DIGITS, Y_DIGITS)
        b = sn.MLPClassifier((16,), max_iter=2, random_state=1).fit(X_DIGITS, Y_DIGITS)
        wider = sn.MLPClassifier((17,), max_iter=2, random_state=1).fit(X_DIGITS, Y_DIGITS)
        return [m._network.workspace(200) for m in (a, b, wider)]

    a, b, wider = _in_new_thread(workspaces)
    assert a is b
    assert wider is not a
    other_thread = _in_new_thread(workspaces)[0]
    assert other_thread is not a


def test_the_pool_keeps_at_most_its_budget(monkeypatch):
    def allocate(n):
        return lambda: (np.zeros(n), n)

    def run():
        monkeypatch.setattr(scratch, "BUDGET_BYTES", 10_000)
        first = scratch.shared_workspace("first", allocate(500))  # 4,000 bytes
        assert scratch.shared_workspace("first", allocate(500)) is first
        scratch.shared_workspace("second", allocate(500))
        scratch.shared_workspace("first", allocate(500))  # now the most recent
        scratch.shared_workspace("third", allocate(500))  # 12,000 bytes: evicts "second"
        kept = [w[1] for w in scratch.thread_workspaces()]
        huge = scratch.shared_workspace("huge", allocate(5_000))
        return kept, [w[1] for w in scratch.thread_workspaces()], huge

    kept, after_huge, huge = _in_new_thread(run)
    assert kept == [500, 500]  # "first" and "third"
    assert after_huge == kept  # larger than the budget: handed out, never kept
    assert huge[0].shape == (5_000,)


@pytest.mark.parametrize("name", ["mlp dropout", "attention"])
def test_no_compiled_call_reads_what_the_call_before_left(name, monkeypatch):
    """Whole epochs and chunks reuse one workspace call after call: poisoned before every
    compiled call, the fit gives the same bits."""
    X = X_DIGITS[:, :16] if name == "attention" else X_DIGITS
    fresh, fresh_predictions, fresh_losses = _in_new_thread(
        lambda: _fit_and_predict(MODELS[name], X, Y_DIGITS)
    )
    kernel = Network.train_batches
    calls = []

    def poisoning(network):
        train = kernel.fget(network)

        def call(*args):
            calls.append(_poison_thread_workspaces())
            return train(*args)

        return call

    monkeypatch.setattr(Network, "train_batches", property(poisoning))
    model, predictions, losses = _in_new_thread(lambda: _fit_and_predict(MODELS[name], X, Y_DIGITS))
    assert len(calls) >= 2 and min(calls) > 0
    assert losses == fresh_losses
    np.testing.assert_array_equal(model._network.theta, fresh._network.theta)
    np.testing.assert_array_equal(predictions, fresh_predictions)
