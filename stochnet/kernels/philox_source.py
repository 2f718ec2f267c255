"""Philox4x32-10 and the bit-to-number transforms, written once for every backend.

These are plain Python functions over ``np.uint64`` scalars that hold 32-bit words,
registered with ``register_jitable`` so that the same source is inlined into ``@njit``
kernels (``kernels.cpu``) and ``@cuda.jit`` kernels alike, and still runs as Python.
Keeping the arithmetic in one place is what makes a mask drawn on the CPU bit-identical
to one drawn on a GPU.

Counter layout (one 128-bit counter per block of four 32-bit outputs)::

    c0, c1 = low and high 32 bits of the block number (index // 4)
    c2     = step  (e.g. the optimisation step)
    c3     = stream (one per source of randomness)
    k0, k1 = low and high 32 bits of the 64-bit key derived from the seed

Element ``index`` reads lane ``index % 4`` of block ``index // 4``.
"""

import math

import numpy as np
from numba.extending import register_jitable

MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
SHIFT9 = np.uint64(9)
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
TWO_POW_M32 = 2.0**-32
TWO_POW_M23 = 2.0**-23
TWO_PI = 2.0 * math.pi


@register_jitable
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on the counter ``(c0..c3)`` under the key ``(k0, k1)``."""
    for r in range(10):
        if r > 0:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> SHIFT32) ^ c1 ^ k0,
            p1 & MASK32,
            (p0 >> SHIFT32) ^ c3 ^ k1,
            p0 & MASK32,
        )
    return c0, c1, c2, c3


@register_jitable
def block_bits(key, stream, step, block):
    """The four 32-bit words of counter block ``block`` (all arguments ``uint64``)."""
    return philox4x32_10(
        block & MASK32,
        block >> SHIFT32,
        step & MASK32,
        stream & MASK32,
        key & MASK32,
        key >> SHIFT32,
    )


@register_jitable
def unit_float64(word):
    """Map a 32-bit word to the open interval (0, 1) exactly: ``(word + 0.5) / 2**32``."""
    return (np.float64(word) + 0.5) * TWO_POW_M32


@register_jitable
def unit_float32(word):
    """Map the top 23 bits of a word to (0, 1), exactly representable in float32."""
    return (np.float64(word >> SHIFT9) + 0.5) * TWO_POW_M23


@register_jitable
def box_muller(u1, u2):
    """Two independent standard normals from two uniforms in (0, 1)."""
    r = math.sqrt(-2.0 * math.log(u1))
    theta = TWO_PI * u2
    return r * math.cos(theta), r * math.sin(theta)
