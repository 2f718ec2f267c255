"""AttentionClassifier and AttentionRegressor: transformer encoders as estimators."""

import math
import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_int
from ._inputs import SequenceInput
from ._network import NetworkEstimator
from ._params import check_padding_value
from ._targets import NetworkClassifier, NetworkRegressor


class BaseAttention(NetworkEstimator):
    """The encoder's parameters, and its input: tabular rows or sequences
    (``SequenceInput``).

    Base class; use :class:`AttentionClassifier` or :class:`AttentionRegressor`.
    """

    _inputs = SequenceInput()

    def __init__(
        self,
        d_model=64,
        n_heads=4,
        n_layers=2,
        d_ff=128,
        *,
        dropout=0.0,
        attention_dropout=0.0,
        pooling="mean",
        causal=False,
        attention_scale=None,
        sequence_shape=None,
        padding_value=None,
        activation="relu",
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
        input_noise=0.0,
        init="glorot_uniform",
        l1=0.0,
        prune=None,
        prune_method="random",
        prune_scope="layer",
        prune_at="init",
        device="cpu",
        checkpoint=None,
    ):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.pooling = pooling
        self.causal = causal
        self.attention_scale = attention_scale
        self.sequence_shape = sequence_shape
        self.padding_value = padding_value
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
        self.input_noise = input_noise
        self.init = init
        self.l1 = l1
        self.prune = prune
        self.prune_method = prune_method
        self.prune_scope = prune_scope
        self.prune_at = prune_at
        self.device = device
        self.checkpoint = checkpoint

    @property
    def padding_value_(self):
        """The padding value the fitted model masks (``padding_value`` at fit time)."""
        check_is_fitted(self, "_network")
        # Files of earlier versions hold only the parameter.
        return getattr(self, "_padding_value", check_padding_value(self.padding_value))

    def attention_weights(self, X):
        """Attention maps of the fitted model on ``X`` (no dropout).

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_layers, n_heads, T, T)
            Row ``i`` of map ``[s, l, h]`` is how query token ``i`` of sample ``s``
            weights the keys in head ``h`` of layer ``l`` (zeros for masked keys).
        """
        tokens = self._network_data(X)
        return self._network.attention_weights(tokens)


_PARAMETERS = """
    d_model : int, default=64
        Width of the token representations.
    n_heads : int, default=4
        Attention heads per layer; ``d_model`` must be a multiple (``d_k = d_model /
        n_heads``).
    n_layers : int, default=2
        Encoder layers (pre-LayerNorm: attention, then feed-forward, each residual).
    d_ff : int, default=128
        Hidden units of each feed-forward block.
    dropout : float, default=0.0
        Inverted-dropout rate of the feed-forward hidden units and of both residual
        branches (Philox ``"dropout"`` stream; prediction is deterministic).
    attention_dropout : float, default=0.0
        Dropout rate of the attention weights.
    pooling : {"mean", "first"}, default="mean"
        Sequence summary fed to the output layer: the mean over non-padding tokens, or
        the first token.
    causal : bool, default=False
        Token ``i`` attends to tokens ``j <= i`` only.
    attention_scale : float or None, default=None
        Factor on ``Q Kᵀ``; ``None`` is ``1/sqrt(d_k)`` (set it to study the scaling).
    sequence_shape : (int, int) or None, default=None
        Read 2-D ``X`` as sequences of ``T`` tokens with ``d`` features each (row-major
        ``T × d``). Without it, 2-D ``X`` is tabular: every feature is a token with its
        own linear embedding plus a learned feature embedding (FT-Transformer); 3-D ``X``
        (``n × T × d``) is always a batch of sequences (one shared embedding plus learned
        positional embeddings).
    padding_value : float or None, default=None
        Tokens at the end of a sequence whose features all equal this value (NaN
        allowed) are padding: masked as keys, left out of mean pooling. Use
        :func:`stochnet.pad_sequences` for lists of variable-length sequences.
    activation : str, default="relu"
        Feed-forward activation (``"relu"``, ``"gelu"``, ...).
    solver, alpha, batch_size, learning_rate, learning_rate_init, power_t, max_iter,
    shuffle, random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
    early_stopping, validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change,
    max_fun, input_noise, init, l1, prune, prune_method, prune_scope, prune_at, device,
    checkpoint
        As in :class:`~stochnet.MLPClassifier`; ``alpha`` and ``l1`` penalise, and
        ``prune`` prunes, the weight matrices and embeddings, not biases or LayerNorm
        parameters.
"""

_ATTRIBUTES = """
    Attributes
    ----------
    sequence_shape_ : tuple of int
        ``(T, d)`` of the fitted input (``(n_features, 1)`` for tabular input).
    coefs_, intercepts_ : list of numpy.ndarray
        Live views of the weight matrices and of the vectors (biases, LayerNorm gains
        and shifts); ``parameters_`` is the flat vector.
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_,
    validation_loss_curve_, t_, n_features_in_, feature_names_in_, n_iter_,
    n_outputs_, out_activation_
        As in :class:`~stochnet.MLPClassifier`.
"""


class AttentionClassifier(NetworkClassifier, BaseAttention):
    __doc__ = (
        """Transformer-encoder classifier for tabular data and sequences.

    Parameters
    ----------"""
        + _PARAMETERS
        + _ATTRIBUTES
        + """    classes_ : numpy.ndarray

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from stochnet import AttentionClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = AttentionClassifier(d_model=16, n_heads=2, n_layers=1, d_ff=32,
    ...                           max_iter=60, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    >>> clf.attention_weights(X[:2]).shape  # samples, layers, heads, query, key
    (2, 1, 2, 4, 4)
    """
    )


class AttentionRegressor(NetworkRegressor, BaseAttention):
    __doc__ = (
        """Transformer-encoder regressor for tabular data and sequences.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "gaussian_nll"}, default="squared_error"
        As in :class:`~stochnet.MLPRegressor`."""
        + _PARAMETERS
        + _ATTRIBUTES
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from stochnet import AttentionRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 8, 1))  # 300 sequences of 8 scalars
    >>> y = X.max(axis=(1, 2))
    >>> reg = AttentionRegressor(d_model=16, n_heads=2, n_layers=1, d_ff=32,
    ...                          max_iter=100, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.8
    True
    """
    )

    def __init__(
        self,
        loss="squared_error",
        d_model=64,
        n_heads=4,
        n_layers=2,
        d_ff=128,
        *,
        dropout=0.0,
        attention_dropout=0.0,
        pooling="mean",
        causal=False,
        attention_scale=None,
        sequence_shape=None,
        padding_value=None,
        activation="relu",
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
        input_noise=0.0,
        init="glorot_uniform",
        l1=0.0,
        prune=None,
        prune_method="random",
        prune_scope="layer",
        prune_at="init",
        device="cpu",
        checkpoint=None,
    ):
        super().__init__(
            d_model,
            n_heads,
            n_layers,
            d_ff,
            dropout=dropout,
            attention_dropout=attention_dropout,
            pooling=pooling,
            causal=causal,
            attention_scale=attention_scale,
            sequence_shape=sequence_shape,
            padding_value=padding_value,
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
            input_noise=input_noise,
            init=init,
            l1=l1,
            prune=prune,
            prune_method=prune_method,
            prune_scope=prune_scope,
            prune_at=prune_at,
            device=device,
            checkpoint=checkpoint,
        )
        self.loss = loss


def pad_sequences(sequences, length=None, padding_value=np.nan, dtype=np.float64):
    """Stack variable-length sequences into ``n × T × d``, padded at the end.

    Parameters
    ----------
    sequences : iterable of array-like of shape (T_i, d) or (T_i,)
    length : int or None, default=None
        ``T``; ``None`` is the longest sequence. Longer sequences raise ``ValueError``.
    padding_value : float, default=nan
        Fill value; give the same to the estimator's ``padding_value``. Integer
        ``dtype`` has no NaN: it needs an explicit value that the dtype holds.
    dtype : numpy dtype, default=float64

    Returns
    -------
    numpy.ndarray of shape (n, T, d)

    Examples
    --------
    >>> from stochnet import pad_sequences
    >>> pad_sequences([[1.0, 2.0], [3.0]]).shape
    (2, 2, 1)
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "iub" and not _holds(dtype, padding_value):
        raise ValueError(
            f"padding_value={padding_value!r} cannot be stored in dtype {dtype.name} (the "
            "default NaN needs a float dtype); give an integer padding_value that it holds."
        )
    arrays = [np.asarray(s, dtype=dtype) for s in sequences]
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    if not arrays or any(a.ndim != 2 for a in arrays):
        raise ValueError("sequences must be a non-empty list of 1-D or 2-D arrays.")
    width = arrays[0].shape[1]
    if any(a.shape[1] != width for a in arrays):
        raise ValueError("every sequence must have the same number of features.")
    longest = max(a.shape[0] for a in arrays)
    length = longest if length is None else check_int("length", length)
    if longest > length:
        raise ValueError(f"a sequence has {longest} tokens, more than length={length}.")
    out = np.full((len(arrays), length, width), padding_value, dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out


def _holds(dtype, value):
    """Whether the integer (or bool) ``dtype`` stores ``value`` exactly."""
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or value != int(value):
        return False
    return np.can_cast(np.min_scalar_type(int(value)), dtype)
