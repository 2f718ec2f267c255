"""to_sklearn / from_sklearn: the same predictions on both sides."""

import warnings

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import stochnet as sn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(0)
X = rng.normal(size=(150, 5))
TARGETS = {
    "binary": (X[:, 0] > 0).astype(int),
    "multiclass": np.digitize(X[:, 0] + X[:, 1], [-1, 0, 1]),
    "multilabel": np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_a_classifier_leaves_and_comes_back_with_the_same_predictions(target, activation):
    y = TARGETS[target]
    ours = sn.MLPClassifier(
        (8, 4), activation=activation, dropout=0.1, max_iter=30, random_state=0
    ).fit(X, y)
    theirs = ours.to_sklearn()
    assert type(theirs) is SkMLPClassifier
    np.testing.assert_allclose(theirs.predict_proba(X), ours.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(theirs.predict(X), ours.predict(X))
    assert theirs.loss_curve_ == ours.loss_curve_ and theirs.n_iter_ == ours.n_iter_
    back = sn.MLPClassifier.from_sklearn(theirs)
    np.testing.assert_array_equal(back.parameters_, ours.parameters_)
    np.testing.assert_array_equal(back.predict(X), ours.predict(X))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_a_regressor_leaves_and_comes_back(loss):
    y = np.exp(0.3 * X[:, 0]) if loss == "poisson" else X[:, 0] - X[:, 1]
    ours = sn.MLPRegressor(loss=loss, hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(
        X, y
    )
    theirs = ours.to_sklearn()
    assert type(theirs) is SkMLPRegressor and theirs.loss == loss
    np.testing.assert_allclose(theirs.predict(X), ours.predict(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(theirs.score(X, y), ours.score(X, y), atol=1e-6)
    back = sn.MLPRegressor.from_sklearn(theirs)
    np.testing.assert_array_equal(back.predict(X), ours.predict(X))


def test_a_scikit_learn_model_comes_in_and_trains_on():
    y = TARGETS["multiclass"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMLPClassifier((6,), max_iter=40, random_state=0).fit(X, y)
    ours = sn.MLPClassifier.from_sklearn(theirs)
    assert ours.get_params()["hidden_layer_sizes"] == (6,)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-6)
    ours.partial_fit(X, y)  # continues from scikit-learn's weights
    assert ours.n_iter_ == 1 and ours.loss_ < theirs.loss_  # one more epoch of descent
    with pytest.raises(TypeError, match=r"takes a fitted sklearn\.neural_network\.MLPRegressor"):
        sn.MLPRegressor.from_sklearn(theirs)


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (sn.MLPRegressor(loss="gaussian_nll", hidden_layer_sizes=(4,)), "predicts a variance"),
        (sn.MLPClassifier((4,), activation="gelu"), "activation='gelu'"),
        (sn.MLPClassifier((4,), augment=sn.RandomCrop((1, 4), image_shape=(1, 5))), "RandomCrop"),
    ],
)
def test_models_scikit_learn_cannot_express_say_why(model, reason):
    y = TARGETS["binary"] if isinstance(model, sn.MLPClassifier) else X[:, 0]
    model.set_params(max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match=f"no scikit-learn equivalent: .*{reason}"):
        model.to_sklearn()
