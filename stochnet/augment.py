"""Data augmentation as random variables: random crops and Gaussian input noise.

Specs (:class:`RandomCrop`, :class:`GaussianNoise`) go into an estimator's ``augment=``
parameter and run inside the compiled epoch; :func:`random_crop` is the same crop as a
function. Crop offsets come from the ``"crop"`` Philox stream with the epoch as step and
the sample index as counter, so the crop of a sample is a function of
``(seed, epoch, sample)`` alone. At prediction time the centre crop is used.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from ._runtime.device import kernel_module, resolve_device
from ._validation import check_step, is_int
from .kernels.codes import NO_CROP, PADDING_MODES, STREAMS, CropPlan
from .random import derive_key

_PADDING_MODES = tuple(PADDING_MODES)


def _pair(value, name):
    if is_int(value):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}.") from None
    if not (is_int(a) and is_int(b)):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}.")
    if not all(abs(v) < 2**31 for v in (a, b)):
        raise ValueError(f"{name} must be below 2**31, got {value!r}.")
    return int(a), int(b)


@dataclass(frozen=True)
class RandomCrop:
    """Crop each training sample at a random offset of its (padded) image or sequence.

    Parameters
    ----------
    size : int or (int, int)
        Crop height and width (an int: square crop, or the length for sequences).
    padding : int or (int, int), default=0
        Rows/columns added on each side before cropping.
    padding_mode : {"constant", "reflect", "edge"}, default="constant"
        Zeros, mirror without repeating the edge (NumPy's ``"reflect"``), or the edge
        value repeated.
    image_shape : tuple, default=None
        Shape of one sample when samples are rows of ``n × (H·W·C)``: ``(H, W)``,
        ``(H, W, C)``, or ``(L,)`` for sequences (``(1, L, C)`` for sequences with
        channels, with ``size=(1, l)``). Required by estimators (which take 2-D
        ``X``); the function form infers it from ``X.shape[1:]``. For sequences,
        ``size`` and ``padding`` are lengths.

    Examples
    --------
    >>> import stochnet as sn
    >>> clf = sn.MLPClassifier(augment=sn.RandomCrop(8, padding=2, image_shape=(8, 8)))
    """

    size: int | tuple = 0
    padding: int | tuple = 0
    padding_mode: str = "constant"
    image_shape: tuple | None = None

    def __post_init__(self):
        if min(_pair(self.size, "size")) < 1:
            raise ValueError(f"size must be positive, got {self.size!r}.")
        if min(_pair(self.padding, "padding")) < 0:
            raise ValueError(f"padding must be non-negative, got {self.padding!r}.")
        if not isinstance(self.padding_mode, str) or self.padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {_PADDING_MODES}, got {self.padding_mode!r}."
            )
        shape = self.image_shape
        if shape is not None and not (
            isinstance(shape, tuple | list)
            and 1 <= len(shape) <= 3
            and all(is_int(d) and d >= 1 for d in shape)
        ):
            raise ValueError(f"image_shape must be a tuple of 1 to 3 positive ints, got {shape!r}.")

    def plan(self, n_features=None, image_shape=None):
        """The compiled crop geometry for samples of ``n_features`` values.

        Raises
        ------
        ValueError
            If the spec does not fit the data; the message names the parameter.
        """
        shape = self.image_shape if image_shape is None else image_shape
        if shape is None:
            raise ValueError(
                "RandomCrop needs image_shape for rows of n × (H·W·C) values, e.g. "
                "RandomCrop(8, padding=2, image_shape=(8, 8))."
            )
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (1, 2, 3) or min(shape) < 1:
            raise ValueError(f"image_shape must be (L,), (L, C), (H, W) or (H, W, C), got {shape}.")
        if len(shape) == 1:
            height, width, channels = 1, shape[0], 1
            out_h, out_w = 1, _pair(self.size, "size")[0]
            pad_h, pad_w = 0, _pair(self.padding, "padding")[0]
        else:
            height, width = shape[:2]
            channels = shape[2] if len(shape) == 3 else 1
            out_h, out_w = _pair(self.size, "size")
            pad_h, pad_w = _pair(self.padding, "padding")
        if n_features is not None and height * width * channels != n_features:
            raise ValueError(
                f"image_shape {shape} has {height * width * channels} values but X has "
                f"{n_features} features."
            )
        if not (1 <= out_h <= height + 2 * pad_h and 1 <= out_w <= width + 2 * pad_w):
            raise ValueError(
                f"size {self.size!r} must be positive and fit in the padded input "
                f"({height + 2 * pad_h} × {width + 2 * pad_w})."
            )
        if self.padding_mode == "reflect" and (
            (pad_h and pad_h >= height) or (pad_w and pad_w >= width)
        ):
            raise ValueError("padding must be smaller than the input for padding_mode='reflect'.")
        return CropPlan(
            True,
            height,
            width,
            channels,
            out_h,
            out_w,
            pad_h,
            pad_w,
            PADDING_MODES[self.padding_mode],
        )


@dataclass(frozen=True)
class GaussianNoise:
    """Add N(0, std²) noise to every input value of every training batch.

    The same as the estimators' ``input_noise``; several entries add their variances.

    Examples
    --------
    >>> from stochnet import GaussianNoise, MLPClassifier
    >>> clf = MLPClassifier((16,), augment=GaussianNoise(0.1))
    >>> clf.augment
    GaussianNoise(std=0.1)
    """

    std: float = 0.0

    def __post_init__(self):
        std = self.std
        if not isinstance(std, numbers.Real) or isinstance(std, bool) or not 0 <= std < 1e30:
            raise ValueError(f"GaussianNoise std must be a finite float >= 0, got {self.std!r}.")


def parse_augment(augment, n_features, image_shape=None):
    """``(crop_plan, noise_std)`` from an ``augment=`` value (a spec, a list, or None).

    ``image_shape`` (from an ``n × H × W (× C)`` input) fills in a crop spec's missing
    ``image_shape``.

    Examples
    --------
    >>> from stochnet.augment import GaussianNoise, RandomCrop, parse_augment
    >>> crop, std = parse_augment([RandomCrop(6, padding=1), GaussianNoise(0.1)], 64, (8, 8))
    >>> (crop.out_height, crop.out_width), std
    ((6, 6), 0.1)
    """
    if augment is None:
        specs = []
    elif isinstance(augment, list | tuple):
        specs = list(augment)
    else:
        specs = [augment]
    crop, variance, seen_noise = NO_CROP, 0.0, False
    for spec in specs:
        if isinstance(spec, RandomCrop):
            if crop.active:
                raise ValueError("augment may contain at most one RandomCrop.")
            if seen_noise:
                raise ValueError(
                    "augment: put GaussianNoise after RandomCrop (noise is added to the "
                    "network input, i.e. after cropping)."
                )
            crop = spec.plan(n_features, spec.image_shape or image_shape)
        elif isinstance(spec, GaussianNoise):
            variance += float(spec.std) ** 2
            seen_noise = True
        else:
            raise ValueError(
                "augment must be None, a RandomCrop or GaussianNoise, or a list of them; "
                f"got {spec!r}."
            )
    return crop, float(np.sqrt(variance))


def random_crop(
    X, size, seed, padding=0, step=0, device="cpu", padding_mode="constant", image_shape=None
):
    """Randomly crop each sample of ``X`` (one offset per sample).

    Parameters
    ----------
    X : array of shape (n, L), (n, H, W), (n, H, W, C), or (n, H·W·C) with image_shape
        2-D input without ``image_shape`` is a batch of sequences of length ``L``.
    size : int or (int, int)
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
    padding : int or (int, int), default=0
    step : int, default=0
        Counter step (estimators use the epoch).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    padding_mode : {"constant", "reflect", "edge"}, default="constant"
    image_shape : tuple, default=None

    Returns
    -------
    numpy.ndarray
        The crops, shaped like ``X`` with the crop size in place of the input size.

    Examples
    --------
    >>> import numpy as np
    >>> import stochnet as sn
    >>> images = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    >>> sn.augment.random_crop(images, 2, seed=0, padding=1).shape
    (2, 2, 2)
    """
    device = resolve_device(device)
    X = np.asarray(X)
    if X.ndim not in (2, 3, 4):
        raise ValueError(f"X must have 2 to 4 dimensions (samples first), got {X.ndim}.")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if image_shape is None:
        image_shape = X.shape[1:]
    spec = RandomCrop(size, padding, padding_mode, tuple(image_shape))
    plan = spec.plan(int(np.prod(X.shape[1:])))
    rows = np.ascontiguousarray(X.reshape(X.shape[0], -1))
    out = np.empty((X.shape[0], plan.out_height * plan.out_width * plan.channels), X.dtype)
    offsets = np.empty((X.shape[0], 2), dtype=np.int64)
    stream = np.uint64(STREAMS["crop"])
    _crop = kernel_module("crop", device)  # compiled on first use, not at import
    _crop.random_offsets(plan, derive_key(seed), stream, check_step(step), 0, offsets)
    _crop.crop_rows(rows, out, plan, offsets)
    if X.ndim == 2:
        return out
    shape = (plan.out_height, plan.out_width) + ((plan.channels,) if X.ndim == 4 else ())
    return out.reshape(X.shape[0], *shape)
