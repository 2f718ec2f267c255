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
from numba.extending import overload, register_jitable

MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
SHIFT9 = np.uint64(9)
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
TWO_POW_M32 = 2.0**-32
TWO_POW_M23 = 2.0**-23


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on the counter ``(c0..c3)`` under the key ``(k0, k1)``.

    32-bit words held in ``np.uint64``. This source is the CPU's (and the simulator's);
    CUDA gets the same rounds on 32-bit registers with ``umulhi`` (registered by
    ``kernels.cuda.launch``): identical words, a third of the integer instructions.
    """
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


@overload(philox4x32_10, target="cpu", jit_options={"cache": True})
def _philox_cpu(c0, c1, c2, c3, k0, k1):
    return philox4x32_10


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
def philox_blocks(key, stream, step, first, c0, c1, c2, c3):
    """Words of counter blocks ``first, first + 1, …`` into ``c0..c3`` (one entry per
    block; the arrays' length is the number of blocks).

    The same rounds as :func:`philox4x32_10`, run on a whole chunk of blocks at a time
    (structure of arrays): the independent blocks' multiplies overlap, about twice the
    throughput of one block after another on a CPU core.
    """
    n = c0.shape[0]
    for i in range(n):
        block = np.uint64(first + i)
        c0[i] = block & MASK32
        c1[i] = block >> SHIFT32
        c2[i] = step & MASK32
        c3[i] = stream & MASK32
    k0 = key & MASK32
    k1 = key >> SHIFT32
    for r in range(10):
        if r > 0:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        for i in range(n):
            # The masks are no-ops on 32-bit words; they tell the compiler so, and it
            # then multiplies with a 32×32→64-bit vector instruction (vpmuludq, one
            # micro-op) instead of a full 64-bit one: 20% faster.
            p0 = PHILOX_M0 * (c0[i] & MASK32)
            p1 = PHILOX_M1 * (c2[i] & MASK32)
            next0 = (p1 >> SHIFT32) ^ c1[i] ^ k0
            next2 = (p0 >> SHIFT32) ^ c3[i] ^ k1
            c1[i] = p1 & MASK32
            c3[i] = p0 & MASK32
            c0[i] = next0
            c2[i] = next2


@register_jitable
def unit_float64(word):
    """Map a 32-bit word to the open interval (0, 1) exactly: ``(word + 0.5) / 2**32``."""
    return (np.float64(word) + 0.5) * TWO_POW_M32


@register_jitable
def unit_float32(word):
    """Map the top 23 bits of a word to (0, 1), exactly representable in float32."""
    return (np.float64(word >> SHIFT9) + 0.5) * TWO_POW_M23


# --------------------------------------------------------------------------- normals
# Box-Muller needs log, cos and sin. The CPU's libm and CUDA's libdevice round them
# differently, and a GPU compiler fuses ``a * b + c`` into one FMA, so the normals are
# computed here from the words with IEEE-rounded ``+ − × ÷`` and √ only: each product
# and sum goes through ``mul``/``add``, plain operators on the CPU (these kernels are
# compiled without fast-math, so LLVM never contracts them) and libdevice's
# ``__dmul_rn``/``__dadd_rn`` on CUDA (registered by ``kernels.cuda.launch``), which are
# never fused. The polynomials are fdlibm's (log: e_log.c; sin/cos: k_sin.c, k_cos.c).


def mul(a, b):
    """``a × b`` rounded once (never fused into an FMA)."""
    return a * b


def add(a, b):
    """``a + b`` rounded once (never fused into an FMA)."""
    return a + b


@overload(mul, target="cpu", jit_options={"cache": True})
def _mul_cpu(a, b):
    return lambda a, b: a * b


@overload(add, target="cpu", jit_options={"cache": True})
def _add_cpu(a, b):
    return lambda a, b: a + b


LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
SIN = (
    -1.66666666666666324348e-01,
    8.33333333332248946124e-03,
    -1.98412698298579493134e-04,
    2.75573137070700676789e-06,
    -2.50507602534068634195e-08,
    1.58969099521155010221e-10,
)
COS = (
    4.16666666666666019037e-02,
    -1.38888888888741095749e-03,
    2.48015872894767294178e-05,
    -2.75573143513906633035e-07,
    2.08757232129817482790e-09,
    -1.13596475577881948265e-11,
)
SQRT2 = 1.4142135623730951
HALF_PI = 1.5707963267948966
MASK30 = np.uint64((1 << 30) - 1)


@register_jitable
def log_unit(word):
    """``log((word + 0.5) / 2**32)`` for a 32-bit word (``unit_float64``'s value)."""
    v = (word << np.uint64(1)) | np.uint64(1)  # u = v · 2**-33, v odd and < 2**33
    e = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if v >> np.uint64(e + shift):
            e += shift
    m = np.float64(v) / np.float64(np.uint64(1) << np.uint64(e))  # exact, in [1, 2)
    if m > SQRT2:
        m = m * 0.5
        e += 1
    k = np.float64(e - 33)
    f = m - 1.0  # exact (Sterbenz)
    s = f / add(2.0, f)
    z = mul(s, s)
    w = mul(z, z)
    t1 = mul(w, add(LG[1], mul(w, add(LG[3], mul(w, LG[5])))))
    t2 = mul(z, add(LG[0], mul(w, add(LG[2], mul(w, add(LG[4], mul(w, LG[6])))))))
    r = add(t2, t1)
    hfsq = mul(mul(0.5, f), f)
    inner = add(mul(s, add(hfsq, r)), mul(k, LN2_LO))
    return add(mul(k, LN2_HI), -add(add(hfsq, -inner), -f))


@register_jitable
def _sin_kernel(x):
    """sin on [0, π/4]."""
    z = mul(x, x)
    r = add(SIN[1], mul(z, add(SIN[2], mul(z, add(SIN[3], mul(z, add(SIN[4], mul(z, SIN[5]))))))))
    return add(x, mul(mul(z, x), add(SIN[0], mul(z, r))))


@register_jitable
def _cos_kernel(x):
    """cos on [0, π/4]."""
    z = mul(x, x)
    r = mul(z, add(COS[0], mul(z, add(COS[1], mul(z, add(COS[2], mul(z, add(COS[3], mul(
        z, add(COS[4], mul(z, COS[5])))))))))))  # fmt: skip
    return add(1.0, -add(mul(0.5, z), -mul(z, r)))


@register_jitable
def cos_sin_turn(word):
    """``(cos θ, sin θ)`` for ``θ = 2π (word + 0.5) / 2**32``.

    The quadrant comes from the top two bits; within it the angle is reflected into
    [0, π/4], where fdlibm's kernels are accurate to about an ulp.
    """
    quadrant = word >> np.uint64(30)
    r = (np.float64(word & MASK30) + 0.5) * 2.0**-30  # fraction of the quadrant, exact
    swap = r > 0.5
    if swap:
        r = 1.0 - r  # exact
    phi = mul(r, HALF_PI)
    c = _cos_kernel(phi)
    s = _sin_kernel(phi)
    if swap:
        c, s = s, c
    if quadrant == 0:
        return c, s
    if quadrant == 1:
        return -s, c
    if quadrant == 2:
        return -c, -s
    return s, -c


@register_jitable
def box_muller(w1, w2):
    """Two independent standard normals from two 32-bit words:
    ``√(-2 log u₁) · (cos θ, sin θ)`` with ``u₁`` and ``θ / 2π`` the words' uniforms."""
    radius = math.sqrt(-2.0 * log_unit(w1))
    c, s = cos_sin_turn(w2)
    return mul(radius, c), mul(radius, s)


@register_jitable
def normal_block(key, stream, step, block):
    """The four standard normals of counter block ``block`` (Box-Muller on lanes (0, 1)
    and (2, 3))."""
    w0, w1, w2, w3 = block_bits(key, stream, step, block)
    z0, z1 = box_muller(w0, w1)
    z2, z3 = box_muller(w2, w3)
    return z0, z1, z2, z3


@register_jitable
def store_normal_block(out, key, stream, step, offset, block):
    """Write the normals of counter block ``block`` into the elements of the 1-D ``out``
    it covers (``out[i]`` holds counter index ``offset + i``)."""
    n = out.shape[0]
    z0, z1, z2, z3 = normal_block(key, stream, step, np.uint64(block))
    base = block * 4 - offset
    if 0 <= base < n:
        out[base] = z0
    if 0 <= base + 1 < n:
        out[base + 1] = z1
    if 0 <= base + 2 < n:
        out[base + 2] = z2
    if 0 <= base + 3 < n:
        out[base + 3] = z3
