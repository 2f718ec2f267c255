"""An attention encoder as a plan plus one flat parameter vector."""

import numpy as np

from ..init import initialize_layer
from ..kernels.codes import ACTIVATIONS, LAYER_VECTORS, LAYER_WEIGHTS, LOSSES, POOLING
from ..kernels.shared.records import TokenInput
from .arrays import read_only
from .encoder_plan import allocate_encoder_workspace, build_encoder_plan
from .network import Network
from .trainer import single_pool

#: Sequences per chunk in predict: the workspace holds every layer's activations.
ENCODER_CHUNK_ROWS = 256


class AttentionNetwork(Network):
    """A pre-LayerNorm transformer encoder with pooling and an output layer.

    Parameters
    ----------
    length : int
        Tokens per sequence ``T``.
    d_in : int
        Features per token.
    n_outputs : int
        Output units (for ``loss="gaussian_nll"`` twice the number of targets).
    d_model, n_heads, n_layers, d_ff : int
    per_token : bool, default=False
        One input-embedding matrix per position (tabular features, FT-Transformer) or
        one shared by all positions (sequences).
    causal : bool, default=False
        Token ``i`` attends to tokens ``j ≤ i`` only.
    pooling : {"mean", "first"}, default="mean"
    scale : float or None, default=None
        Factor on ``Q Kᵀ``; ``None`` is ``1/√d_k``.
    attention_dropout, dropout : float, default=0.0
        Dropout of the attention weights, and of the feed-forward hidden units and of
        both residual branches.
    activation : str, default="relu"
        Feed-forward activation.
    loss : str, default="softmax_cross_entropy"
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64

    Attributes
    ----------
    theta : numpy.ndarray
        All parameters (layout in :mod:`stochnet.engine.encoder_plan`).

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.engine import AttentionNetwork
    >>> from stochnet.random import derive_key
    >>> net = AttentionNetwork(5, 2, 3, d_model=8, n_heads=2, n_layers=1, d_ff=16)
    >>> net = net.initialize("glorot_uniform", derive_key(0))
    >>> X = np.random.default_rng(0).normal(size=(4, 5, 2))  # 4 sequences, T=5, d=2
    >>> net.predict(X).shape, net.attention_weights(X).shape
    ((4, 3), (4, 1, 2, 5, 5))
    """

    _kernel_module = "encoder"
    _epoch_function = "train_encoder_batches"
    predict_chunk_rows = ENCODER_CHUNK_ROWS

    def __init__(
        self,
        length,
        d_in,
        n_outputs,
        d_model=64,
        n_heads=4,
        n_layers=2,
        d_ff=128,
        per_token=False,
        causal=False,
        pooling="mean",
        scale=None,
        attention_dropout=0.0,
        dropout=0.0,
        activation="relu",
        loss="softmax_cross_entropy",
        dtype=np.float64,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}.")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}.")
        if pooling not in POOLING:
            raise ValueError(f"pooling must be one of {tuple(POOLING)}, got {pooling!r}.")
        self.config = dict(
            length=int(length),
            d_in=int(d_in),
            n_outputs=int(n_outputs),
            d_model=int(d_model),
            n_heads=int(n_heads),
            n_layers=int(n_layers),
            d_ff=int(d_ff),
            per_token=bool(per_token),
            causal=bool(causal),
            pooling=pooling,
            scale=None if scale is None else float(scale),
            attention_dropout=float(attention_dropout),
            dropout=float(dropout),
            activation=activation,
            loss=loss,
        )
        self.loss = loss
        self.dtype = np.dtype(dtype)
        self.n_outputs = int(n_outputs)
        self.plan = build_encoder_plan(
            length,
            d_in,
            n_outputs,
            d_model,
            n_heads,
            n_layers,
            d_ff,
            per_token,
            causal,
            POOLING[pooling],
            scale,
            attention_dropout,
            dropout,
            activation,
            loss,
        )
        self.theta = np.zeros(self.plan.n_params, dtype=self.dtype)
        self.mask = np.empty(0, dtype=self.dtype)
        self._workspaces = {}

    # ------------------------------------------------------------ parameters
    def _weight_table(self):
        p = self.plan
        d, f = p.d_model, p.d_ff
        n_w = p.length if p.per_token else 1
        table = [
            ("embedding.weight", p.emb_w, (n_w, p.d_in, d)),
            ("embedding.position", p.pos, (p.length, d)),
        ]
        shapes = {"qkv": (d, 3 * d), "out": (d, d), "ff1": (d, f), "ff2": (f, d)}
        for layer in range(p.n_layers):
            for name, off in zip(LAYER_WEIGHTS, p.layer_w[layer], strict=True):
                table.append((f"layers.{layer}.{name}.weight", int(off), shapes[name]))
        table.append(("output.weight", p.out_w, (d, p.n_out)))
        return table

    def _vector_table(self):
        p = self.plan
        d, f = p.d_model, p.d_ff
        sizes = {"qkv.bias": 3 * d, "ff1.bias": f}
        table = []
        for layer in range(p.n_layers):
            for name, off in zip(LAYER_VECTORS, p.layer_b[layer], strict=True):
                table.append((f"layers.{layer}.{name}", int(off), (sizes.get(name, d),)))
        table += [
            ("norm.gamma", p.lnf_g, (d,)),
            ("norm.beta", p.lnf_b, (d,)),
            ("output.bias", p.out_b, (p.n_out,)),
        ]
        return table

    def named_parameters(self):
        """Every parameter array by name, as views into :attr:`theta`."""
        return {
            name: self.theta[off : off + int(np.prod(shape))].reshape(shape)
            for name, off, shape in self._weight_table() + self._vector_table()
        }

    @property
    def coefs(self):
        """The weight matrices (``θ[:n_coef]``, in order) as views."""
        named = self.named_parameters()
        return [named[name] for name, _, _ in self._weight_table()]

    @property
    def intercepts(self):
        """Biases and LayerNorm gains/shifts as views."""
        named = self.named_parameters()
        return [named[name] for name, _, _ in self._vector_table()]

    #: The settings that a warm start may change: they shape training (and, for the
    #: scale, the function) but not the parameter vector.
    TUNABLE = ("dropout", "attention_dropout", "scale")

    def retune(self, **settings):
        """Change :attr:`TUNABLE` settings in place; the parameters stay as they are.

        Returns
        -------
        bool
            Whether anything changed.
        """
        unknown = set(settings) - set(self.TUNABLE)
        if unknown:
            raise ValueError(f"only {self.TUNABLE} can change, not {sorted(unknown)}.")
        config = {**self.config, **settings}
        if config == self.config:
            return False
        rebuilt = AttentionNetwork(**config, dtype=self.dtype)
        self.config, self.plan = rebuilt.config, rebuilt.plan
        self._workspaces = {}
        return True

    def initialize(self, init, key, activation=None):
        """Every weight matrix from ``init`` (its own fan-in and fan-out, one counter step
        each; the embeddings included), biases 0, LayerNorm gains 1."""
        activation = self.config["activation"] if activation is None else activation
        index = 0
        for _, off, shape in self._weight_table():
            view = self.theta[off : off + int(np.prod(shape))].reshape(shape)
            for block in view.reshape(-1, *shape[-2:]):
                block[...], _ = initialize_layer(
                    init, block.shape[0], block.shape[1], key, index, activation, self.dtype
                )
                index += 1
        self.theta[self.plan.n_coef :] = 0.0
        for name, off, shape in self._vector_table():
            if name.endswith("gamma"):
                self.theta[off : off + shape[0]] = 1.0
        return self

    # ----------------------------------------------------------------- input
    @staticmethod
    def n_rows(X):
        return X.values.shape[0] if isinstance(X, TokenInput) else X.shape[0]

    def kernel_input(self, X):
        """``X`` as a :class:`~stochnet.kernels.shared.records.TokenInput`.

        ``X`` is a ``TokenInput`` or an array ``n × T × d_in`` or ``n × (T·d_in)`` (all
        sequences full), C-contiguous in the network dtype; returned :func:`read_only`.
        """
        if not isinstance(X, TokenInput):
            X = TokenInput(X.reshape(X.shape[0], -1), np.empty(0, dtype=np.int64))
        X = read_only(X)
        p = self.plan
        if X.values.ndim != 2 or X.values.shape[1] != p.length * p.d_in:
            raise ValueError(
                f"expected sequences of {p.length} tokens × {p.d_in} features, got values of "
                f"shape {X.values.shape}."
            )
        return X, 0

    def _thread_pools(self, n_rows):
        # The attention kernels call the BLAS from Numba's parallel threads for any
        # number of rows (see ``Network._thread_pools``).
        return single_pool()

    def _allocate(self, rows, max_row_nnz):
        return allocate_encoder_workspace(self.plan, rows, self.n_targets, self.dtype)

    def _workspace_layout(self):
        p = self.plan
        sizes = (p.length, p.d_in, p.d_model, p.heads, p.d_ff, p.n_layers, p.n_out)
        return ("encoder", sizes, self.n_targets, self.dtype.str)

    def attention_weights(self, X, return_queries_keys=False):
        """Attention probabilities, shape ``(n, n_layers, n_heads, T, T)`` (no dropout);
        with ``return_queries_keys``, also the queries and keys
        (``(n, n_layers, n_heads, T, d_k)`` each)."""
        n = self.n_rows(X)
        X, _ = self.kernel_input(X)
        p = self.plan
        probs = np.empty((n, p.n_layers, p.heads, p.length, p.length), dtype=self.dtype)
        shape = (
            n if return_queries_keys else 0,
            p.n_layers,
            p.heads,
            p.length,
            p.d_model // p.heads,
        )
        queries, keys = np.empty(shape, self.dtype), np.empty(shape, self.dtype)
        with self._thread_pools(n):
            self.kernels.attention_maps(
                X, read_only(self.theta), p, self._chunk_workspace(n), probs, queries, keys
            )
        return (probs, queries, keys) if return_queries_keys else probs
