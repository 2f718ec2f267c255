"""One compiled specialisation per dtype: casts that erase type distinctions.

Numba compiles a kernel once for each tuple of argument *types*, and three kinds of
type differ where the kernel does not care:

* a constant argument is typed as a literal, so ``forward(..., True, ...)`` in the
  training loop and ``forward(..., dropout, ...)`` in prediction compile the whole
  forward pass twice;
* a read-only array is a type of its own, so a pass that only reads the parameters
  compiles once for training (writable ``theta``) and once for prediction (read-only);
* a C-contiguous view, a Fortran one (a transpose) and a strided one are three layouts,
  so a matrix product that only reads strides compiles once per combination of them.

The entry points hand the forward and backward passes ``read_only(theta)`` and
``runtime(flag)``, so each kernel below them compiles once per dtype and input kind:
the first ``predict`` after a fit reuses the fit's kernels instead of compiling its own;
the matrix products hand their shared part ``operand`` and ``any_layout`` views, so it
compiles once per dtype. All are intrinsics: no run-time cost and no compile of their
own.
"""

from numba.core import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic


def _same_value(context, builder, signature, args):
    """Codegen of a retyping cast: the array's own value, under its new type."""
    return impl_ret_borrowed(context, builder, signature.return_type, args[0])


@intrinsic
def read_only(typingctx, array):
    """``array`` typed as read-only (the same memory; writes fail to compile)."""
    if not isinstance(array, types.Array):
        return None
    return array.copy(readonly=True)(array), _same_value


@intrinsic
def runtime(typingctx, value):
    """``value`` typed as a run-time value of its type, not as a literal constant."""
    target = types.unliteral(value)

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[0], signature.args[0], target)

    return target(value), codegen


@intrinsic
def any_layout(typingctx, array):
    """``array`` typed with layout ``"A"`` (any strides): C, Fortran and strided views
    then share one specialisation of a kernel that reads their strides itself."""
    if not isinstance(array, types.Array):
        return None
    return array.copy(layout="A")(array), _same_value


@intrinsic
def operand(typingctx, array):
    """``array`` typed read-only with layout ``"A"``: an input that is only read through
    its address and strides."""
    if not isinstance(array, types.Array):
        return None
    return array.copy(layout="A", readonly=True)(array), _same_value
