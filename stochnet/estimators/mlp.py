"""MLPClassifier and MLPRegressor: scikit-learn's MLP with stochnet's engine."""

from ._inputs import RowInput
from ._network import NetworkEstimator
from ._sklearn_interop import SklearnInterop
from ._targets import NetworkClassifier, NetworkRegressor

_ADDED_PARAMETERS = """
    random_state : None, int, numpy.random.Generator, numpy.random.RandomState or dict
        As in scikit-learn, where one seed drives every source of randomness; also a
        mapping from source names (:data:`stochnet.random.SOURCES`: ``"init"``,
        ``"shuffle"``, ``"dropout"``, ``"noise"``, ``"crop"``, ``"prune"``,
        ``"validation"``) to seeds, which seeds each source alone:
        ``{"default": 0, "dropout": 3}`` keeps the initial weights, the batch order and
        the validation split of ``random_state=0`` and draws other dropout masks.
        Sources the mapping leaves out take its ``"default"``, or behave as under
        ``None`` without one. ``random_state=s`` and ``{"default": s}`` are the same fit.
    dropout : float or tuple of float, default=0.0
        Inverted-dropout rate of every hidden layer, or one rate per hidden layer.
        Masks come from the ``"dropout"`` Philox stream; prediction is deterministic.
    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs during training.
    init : str, tuple, scipy.stats frozen distribution or callable, default="glorot_uniform"
        Weight initialisation (see :mod:`stochnet.init`); the default is
        scikit-learn's scheme.
    l1 : float, default=0.0
        L1 penalty, scaled like ``alpha``: ``l1 * Σ|W| / n_samples`` is added to the loss.
    augment : RandomCrop, GaussianNoise or list of them, default=None
        Data augmentation inside the compiled epoch (see :mod:`stochnet.augment`);
        prediction uses the centre crop.
    prune : float in [0, 1) or None, default=None
        Fraction of weights to remove (biases are never pruned). Pruned weights and
        their optimiser state stay exactly zero; see ``masks_`` and ``sparsity_``.
    prune_method : {"random", "magnitude"}, default="random"
    prune_scope : {"layer", "global"}, default="layer"
        Prune each weight matrix by ``prune``, or rank all weights together.
    prune_at : {"init", "end"}, default="init"
        Prune the initial weights (train the sparse network), or the trained ones
        (then fine-tune with ``warm_start=True``, or use :meth:`prune_weights`).
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and predict. ``"cuda"`` runs the CUDA kernels (dense X only; the
        data stays on the GPU for the whole fit, ``coefs_`` stay NumPy arrays) and raises
        ``RuntimeError`` without a usable GPU; ``"auto"`` uses the GPU when there is one.
        The random decisions (initialisation, shuffles, dropout masks, noise, crops) are
        the CPU's bit for bit; the arithmetic agrees to float rounding.
    checkpoint : str, os.PathLike or None, default=None
        A file where ``fit`` (solvers ``"sgd"`` and ``"adam"``) keeps its complete
        training state, written atomically at epoch ends every few seconds and on
        Ctrl-C. A ``fit`` that finds the file resumes it, to the same bits as an
        uninterrupted fit, when the parameters and data are the same, and raises
        ``ValueError`` naming the difference when they are not; the file is removed when
        ``fit`` succeeds. See the reproducibility guide, "Resume a killed fit".
"""


class BaseMLP(NetworkEstimator):
    """The MLP's parameters, and its input: dense, sparse or image rows (``RowInput``).

    Base class; use :class:`~stochnet.MLPClassifier` or :class:`~stochnet.MLPRegressor`.
    """

    _inputs = RowInput()

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        input_noise=0.0,
        init="glorot_uniform",
        l1=0.0,
        augment=None,
        prune=None,
        prune_method="random",
        prune_scope="layer",
        prune_at="init",
        device="cpu",
        checkpoint=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.input_noise = input_noise
        self.init = init
        self.l1 = l1
        self.augment = augment
        self.prune = prune
        self.prune_method = prune_method
        self.prune_scope = prune_scope
        self.prune_at = prune_at
        self.device = device
        self.checkpoint = checkpoint


class MLPClassifier(SklearnInterop, NetworkClassifier, BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier: scikit-learn's, compiled, with dropout.

    Every parameter, attribute and method of
    :class:`sklearn.neural_network.MLPClassifier` has the same name, default and
    meaning here (see its documentation); the parameters below are added, and their
    defaults change nothing. ``coefs_`` and ``intercepts_`` are live views into one
    flat parameter vector (``parameters_``).

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
    beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn. ``activation`` also accepts ``"leaky_relu"``, ``"gelu"``
        and ``"softplus"``. ``verbose=2`` adds a progress bar within long epochs.
    """
        + _ADDED_PARAMETERS
        + """
    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_,
    feature_names_in_, n_iter_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn.
    validation_loss_curve_ : list of float
        Validation loss per epoch, with ``early_stopping=True``.
    masks_ : list of bool arrays or None
        Pruning keep-masks, one per weight matrix (``None`` when not pruned).
    sparsity_ : float
        Fraction of weights pruned.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from stochnet import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )


class MLPRegressor(SklearnInterop, NetworkRegressor, BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor: scikit-learn's, compiled, with dropout.

    Every parameter, attribute and method of
    :class:`sklearn.neural_network.MLPRegressor` has the same name, default and
    meaning here; the parameters below are added.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "gaussian_nll"}, default="squared_error"
        ``"gaussian_nll"`` adds a variance head per target (softplus): the network
        predicts a mean and an aleatoric variance, see ``predict(X, return_std=True)``.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
    beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn.
    """
        + _ADDED_PARAMETERS
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from stochnet import MLPRegressor
    >>> X = np.linspace(-2, 2, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=500, random_state=0)
    >>> reg.fit(X, X.ravel() ** 2).score(X, X.ravel() ** 2) > 0.95
    True
    """
    )

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        input_noise=0.0,
        init="glorot_uniform",
        l1=0.0,
        augment=None,
        prune=None,
        prune_method="random",
        prune_scope="layer",
        prune_at="init",
        device="cpu",
        checkpoint=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            input_noise=input_noise,
            init=init,
            l1=l1,
            augment=augment,
            prune=prune,
            prune_method=prune_method,
            prune_scope=prune_scope,
            prune_at=prune_at,
            device=device,
            checkpoint=checkpoint,
        )
        self.loss = loss
