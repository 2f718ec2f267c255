"""An MLP as a plan plus one flat parameter vector."""

import contextlib
import itertools
import threading

import numpy as np
import scipy.sparse

from .._config import PREDICT_CHUNK_ROWS
from .._runtime.device import cuda_available, kernel_module, resolve_device
from .._runtime.threads import calling_threads, one_region_at_a_time
from .._validation import is_int
from ..init import initialize_layer
from ..kernels.codes import ACTIVATIONS, LOSSES, NO_CROP, STREAMS
from ..kernels.cpu.blas import MIN_TILE_MACS
from ..kernels.shared.records import CSRMatrix
from ..random import derive_key
from .arrays import read_only
from .plan import allocate_workspace, build_mlp_plan, n_outputs_for
from .scratch import shared_workspace
from .trainer import single_pool


class Network:
    """What every network of the engine shares: one flat parameter vector ``theta``
    (weights ``θ[:plan.n_coef]`` first), a pruning ``mask`` over the weights, cached
    workspaces, and prediction and full-data gradients through a kernel module.

    Subclasses set ``plan``, ``loss``, ``dtype``, ``n_outputs``, the names of their
    kernel module (``_kernel_module``: ``predict_rows``, ``loss_grad_sums``) and epoch
    function (``_epoch_function`` in ``kernels.<backend>.epoch``), and implement
    ``_allocate``, ``_workspace_layout`` (what the allocation depends on besides the
    rows: networks with equal layouts share workspaces) and ``kernel_input``.

    :attr:`device` says where the kernels run (:meth:`to`); the parameters stay a NumPy
    vector either way: the GPU works on copies made per call (per epoch in training).
    """

    #: ``"cpu"`` or ``"cuda"`` (see :meth:`to`).
    device = "cpu"
    _kernel_module = "mlp"
    _epoch_function = "train_batches"

    def to(self, device):
        """Run the kernels on ``device`` (``"cpu"``, ``"cuda"`` or ``"auto"``); returns self.

        Raises
        ------
        RuntimeError
            ``"cuda"`` without a usable GPU.
        """
        self.device = resolve_device(device)
        return self

    @property
    def backend(self):
        """Where the kernels run now: :attr:`device`, or ``"cpu"`` for a network placed on
        a GPU and then loaded on a machine without one (placement is not part of the
        model: both backends compute the same function)."""
        if self.device == "cuda" and not cuda_available():
            return "cpu"
        return self.device

    @property
    def kernels(self):
        """The kernel module of :attr:`backend` (``predict_rows``, ``loss_grad_sums``)."""
        return kernel_module(self._kernel_module, self.backend)

    @property
    def train_batches(self):
        """The epoch function of :attr:`backend` (see ``kernels.cpu.epoch``)."""
        return getattr(kernel_module("epoch", self.backend), self._epoch_function)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_workspaces"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        # Unpickled arrays are writable: keep the plan's type the one the kernels compiled.
        self.plan = read_only(self.plan)

    @property
    def n_targets(self):
        return self.n_outputs // n_outputs_for(self.loss, 1)

    def set_mask(self, keep):
        """Prune: ``keep`` (bool, one entry per weight, or ``None`` to unprune) becomes
        the mask, and the pruned weights are set to zero."""
        if keep is None:
            self.mask = np.empty(0, dtype=self.dtype)
            return
        keep = np.asarray(keep, dtype=bool).ravel()
        if keep.shape[0] != self.plan.n_coef:
            raise ValueError(f"mask needs {self.plan.n_coef} entries, got {keep.shape[0]}.")
        self.mask = keep.astype(self.dtype)
        self.own_parameters()
        self.theta[: self.plan.n_coef][~keep] = 0.0

    def workspace(self, rows, max_row_nnz=0):
        """A cached workspace for batches of up to ``rows`` rows (and, for sparse
        input, up to ``max_row_nnz`` nonzeros per row).

        One per calling thread: threads that predict at once (joblib's threading
        backend, Dask's threaded scheduler) must not share scratch memory. On the CPU
        a network takes its first one from the thread's pool of :mod:`.scratch`, shared
        with the networks of the same layout before and after it."""
        rows, max_row_nnz, backend = max(int(rows), 1), int(max_row_nnz), self.backend
        cache_key = (rows, max_row_nnz, backend, threading.get_ident())
        ws = self._workspaces.get(cache_key)
        if ws is None:
            if len(self._workspaces) > 8:
                self._workspaces.clear()  # threads keep the workspaces they hold
            if backend == "cuda":
                ws = self.kernels.device_workspace(self._allocate(rows, max_row_nnz))
            else:
                ws = shared_workspace(
                    (self._workspace_layout(), rows, max_row_nnz),
                    lambda: self._allocate(rows, max_row_nnz),
                )
            self._workspaces[cache_key] = ws
        return ws

    def _chunk_workspace(self, n_rows, max_row_nnz=0):
        return self.workspace(min(max(n_rows, 1), self.predict_chunk_rows), max_row_nnz)

    #: Rows per chunk when a whole data set goes through :meth:`predict`.
    predict_chunk_rows = PREDICT_CHUNK_ROWS

    def own_parameters(self):
        """Make :attr:`theta` writable before anything writes to it: a copy where it is
        read-only (a model loaded with ``mmap_mode="r"``). Returns whether it was copied
        (views of the old one are stale). The :attr:`mask` is only ever replaced, never
        written to."""
        if self.theta.flags.writeable:
            return False
        self.theta = self.theta.copy()
        return True

    @staticmethod
    def n_rows(X):
        """Number of samples in an input :meth:`kernel_input` accepts."""
        return X.shape[0]

    def _thread_pools(self, n_rows):
        """The BLAS at one thread while a call on ``n_rows`` rows may split a matrix
        product over Numba's threads (``kernels.cpu.blas``). Smaller calls keep the
        thread pools as they are (switching costs ~15 µs, nearly a one-row prediction)
        but under Numba's workqueue layer, where they take the calling thread's share
        (see ``_runtime.threads.calling_threads``)."""
        if n_rows * self.macs_per_sample >= 2 * MIN_TILE_MACS:
            return single_pool()
        if one_region_at_a_time():
            return calling_threads()
        return contextlib.nullcontext()

    def predict(self, X, dropout=False, key=0, step=0, stream="dropout"):
        """Outputs after the output activation for each row of ``X``.

        Parameters
        ----------
        X : input as :meth:`kernel_input` accepts it
        dropout : bool, default=False
            Sample dropout masks (MC dropout) from Philox ``(key, stream)`` at
            ``step + chunk``.
        stream : str, default="dropout"
            A name in ``STREAMS``: training's masks by default; the estimators' MC
            dropout draws from ``"mc_dropout"``.

        Returns
        -------
        numpy.ndarray of shape (n_rows, n_outputs)
        """
        n_rows = self.n_rows(X)
        X, nnz = self.kernel_input(X)
        out = np.empty((n_rows, self.n_outputs), dtype=self.dtype)
        with self._thread_pools(n_rows):
            self.kernels.predict_rows(
                X,
                read_only(self.theta),
                self.plan,
                self._chunk_workspace(n_rows, nnz),
                out,
                bool(dropout),
                np.uint64(key),
                np.uint64(STREAMS[stream]),
                np.uint64(step),
            )
        return out

    def predict_mc(self, X, mc_samples, random_state=None):
        """``mc_samples`` forward passes with dropout on (MC dropout), stacked.

        The masks come from Philox ``(key of random_state, "mc_dropout")``, one block of
        steps per pass: the same ``random_state`` gives the same samples.

        Returns
        -------
        numpy.ndarray of shape (mc_samples, n_rows, n_outputs)
        """
        if not is_int(mc_samples) or mc_samples < 1:
            raise ValueError(f"mc_samples must be a positive int, got {mc_samples!r}.")
        key = derive_key(random_state)
        return np.stack(
            [
                self.predict(X, dropout=True, key=key, step=s << 24, stream="mc_dropout")
                for s in range(int(mc_samples))
            ]
        )

    def loss_and_grad(
        self, theta, X, Y, sample_weight=None, alpha=0.0, l1=0.0, dropout=False, key=0, step=0
    ):
        """Regularised mean loss and its gradient at ``theta`` over all of ``X``.

        The loss is ``(Σ w_i ℓ_i + α/2 Σ W² + l1 Σ |W|) / Σ w_i`` (scikit-learn's scaling
        of ``alpha``). ``theta`` is copied into the network first. With ``dropout``, the
        masks are those of ``(key, step)``, fixed, so the result is still a function of
        ``theta`` alone.

        Returns
        -------
        loss : float
        grad : numpy.ndarray, same shape and dtype as ``theta``
        """
        self.own_parameters()
        self.theta[...] = theta
        sw = np.empty(0, self.dtype) if sample_weight is None else sample_weight
        grad = np.empty_like(self.theta)
        chunk_grad = np.empty_like(self.theta)
        X, nnz = self.kernel_input(X)
        with self._thread_pools(Y.shape[0]):
            loss_sum, sw_sum = self.kernels.loss_grad_sums(
                X,
                read_only(Y),
                read_only(sw),
                self.theta,
                grad,
                chunk_grad,
                self.plan,
                self._chunk_workspace(Y.shape[0], nnz),
                bool(dropout),
                np.uint64(key),
                np.uint64(step),
            )
        w = self.theta[: self.plan.n_coef]
        loss_sum += 0.5 * alpha * float(np.dot(w, w)) + l1 * float(np.abs(w).sum())
        grad[: self.plan.n_coef] += alpha * w + l1 * np.sign(w)
        grad /= sw_sum
        return loss_sum / sw_sum, grad


class MLPNetwork(Network):
    """A multi-layer perceptron: plan, flat parameters and cached workspaces.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first. For ``loss="gaussian_nll"`` the last entry is the
        number of *outputs* (twice the number of targets).
    activation : str, default="relu"
        Hidden activation (``codes.ACTIVATIONS``).
    loss : str, default="softmax_cross_entropy"
        Loss (``codes.LOSSES``); it fixes the output activation.
    dropout : sequence of float, default=()
        Dropout rate of each hidden layer.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
    crop : CropPlan, default=NO_CROP
        Input crop (random in training, centred otherwise); ``layer_sizes[0]`` is the
        size of the crop, not of the raw input.

    Attributes
    ----------
    theta : numpy.ndarray
        All parameters (weights first, then biases); :attr:`coefs` and
        :attr:`intercepts` are views into it.
    mask : numpy.ndarray
        Pruning mask over the weights ``theta[:n_coef]`` (1 keep, 0 pruned), or empty.

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.engine import MLPNetwork
    >>> from stochnet.random import derive_key
    >>> net = MLPNetwork((4, 8, 3), dropout=(0.5,)).initialize("he_normal", derive_key(0))
    >>> [w.shape for w in net.coefs], net.theta.size
    ([(4, 8), (8, 3)], 67)
    """

    def __init__(
        self,
        layer_sizes,
        activation="relu",
        loss="softmax_cross_entropy",
        dropout=(),
        dtype=np.float64,
        crop=NO_CROP,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}.")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}.")
        layer_sizes = tuple(int(s) for s in layer_sizes)
        if len(layer_sizes) < 2 or min(layer_sizes) < 1:
            raise ValueError(
                f"layer_sizes must have at least 2 positive entries, got {layer_sizes}."
            )
        if loss == "gaussian_nll" and layer_sizes[-1] % 2:
            raise ValueError("gaussian_nll needs an even number of outputs (mean, variance).")
        dropout = tuple(float(p) for p in dropout)
        if len(dropout) > len(layer_sizes) - 2 or any(not 0 <= p < 1 for p in dropout):
            raise ValueError(
                f"dropout must give a rate in [0, 1) for at most each hidden layer, got {dropout}."
            )
        self.layer_sizes = layer_sizes
        self.activation = activation
        self.loss = loss
        self.dropout = dropout
        self.dtype = np.dtype(dtype)
        self.crop = crop
        self.plan = build_mlp_plan(layer_sizes, activation, loss, dropout, crop)
        self.theta = np.zeros(self.plan.n_params, dtype=self.dtype)
        self.mask = np.empty(0, dtype=self.dtype)
        self.n_outputs = layer_sizes[-1]
        self._workspaces = {}

    def retune(self, dropout):
        """New dropout rates (one per hidden layer) in place; the parameters stay.

        Returns
        -------
        bool
            Whether anything changed.
        """
        dropout = tuple(float(p) for p in dropout)
        if dropout == self.dropout:
            return False
        self.plan = MLPNetwork(
            self.layer_sizes, self.activation, self.loss, dropout, self.dtype, self.crop
        ).plan
        self.dropout = dropout
        self._workspaces = {}
        return True

    @property
    def coefs(self):
        """Weight matrices as views into :attr:`theta` (edits take effect)."""
        p = self.plan
        return [
            self.theta[p.w_off[i] : p.w_off[i] + p.sizes[i] * p.sizes[i + 1]].reshape(
                p.sizes[i], p.sizes[i + 1]
            )
            for i in range(len(p.w_off))
        ]

    @property
    def macs_per_sample(self):
        """Multiply-adds of the largest layer product per sample (see
        :meth:`_thread_pools`)."""
        sizes = self.layer_sizes
        return max(n_in * n_out for n_in, n_out in itertools.pairwise(sizes))

    @property
    def intercepts(self):
        """Bias vectors as views into :attr:`theta`."""
        p = self.plan
        return [self.theta[p.b_off[i] : p.b_off[i] + p.sizes[i + 1]] for i in range(len(p.b_off))]

    def initialize(self, init, key, activation=None):
        """Draw initial parameters layer by layer (see :mod:`stochnet.init`)."""
        activation = self.activation if activation is None else activation
        for layer, (w, b) in enumerate(zip(self.coefs, self.intercepts, strict=True)):
            w[...], b[...] = initialize_layer(
                init, w.shape[0], w.shape[1], key, layer, activation, self.dtype
            )
        return self

    def kernel_input(self, X):
        """``X`` as the kernels take it, and its largest row nonzero count.

        Dense arrays must already be C-contiguous in the network dtype; a scipy
        sparse matrix becomes a :class:`~stochnet.kernels.shared.records.CSRMatrix` (CSC
        is converted; the data is cast to the network dtype, never densified). The
        result is :func:`read_only`.
        """
        if not scipy.sparse.issparse(X):
            return read_only(X), 0
        X = X.tocsr()
        nnz = int(np.diff(X.indptr).max()) if X.shape[0] else 0
        csr = CSRMatrix(X.data.astype(self.dtype, copy=False), X.indices, X.indptr, X.shape[1])
        return read_only(csr), nnz

    def _allocate(self, rows, max_row_nnz):
        return allocate_workspace(
            self.plan, rows, self.n_targets, self.dtype, max_row_nnz=max_row_nnz
        )

    def _workspace_layout(self):
        # All that _allocate depends on besides the rows and nonzeros.
        return ("mlp", tuple(self.plan.sizes.tolist()), self.n_targets, self.dtype.str)
