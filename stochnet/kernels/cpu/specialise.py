"""One compiled specialisation per dtype: casts that erase type distinctions.

Numba compiles a kernel once for each tuple of argument *types*, and two kinds of type
differ where the kernel does not care:

* a constant argument is typed as a literal, so ``forward(..., True, ...)`` in the
  training loop and ``forward(..., dropout, ...)`` in prediction compile the whole
  forward pass twice;
* a read-only array is a type of its own, so a pass that only reads the parameters
  compiles once for training (writable ``theta``) and once for prediction (read-only).

The entry points hand the forward and backward passes ``read_only(theta)`` and
``runtime(flag)``, so each kernel below them compiles once per dtype and input kind:
the first ``predict`` after a fit reuses the fit's kernels instead of compiling its own.
Both are intrinsics: no run-time cost and no compile of their own.
"""

from numba.core import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic


@intrinsic
def read_only(typingctx, array):
    """``array`` typed as read-only (the same memory; writes fail to compile)."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        return impl_ret_borrowed(context, builder, signature.return_type, args[0])

    return array.copy(readonly=True)(array), codegen


@intrinsic
def runtime(typingctx, value):
    """``value`` typed as a run-time value of its type, not as a literal constant."""
    target = types.unliteral(value)

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[0], signature.args[0], target)

    return target(value), codegen
