"""Raw addresses for kernels that take their operands as addresses, so that one compiled
loop serves every dtype and memory layout."""

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def pointer(typingctx, address):
    """The ``void *`` at integer ``address`` (e.g. ``array.ctypes.data``)."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return types.voidptr(types.intp), codegen


@intrinsic
def copy_bytes(typingctx, dest, source, n_bytes):
    """``memcpy`` of ``n_bytes`` from address ``source`` to address ``dest``."""

    def codegen(context, builder, signature, args):
        to, start, count = args
        byte_pointer = context.get_value_type(types.voidptr)
        cgutils.raw_memcpy(
            builder, builder.inttoptr(to, byte_pointer), builder.inttoptr(start, byte_pointer),
            count, 1,
        )  # fmt: skip
        return context.get_dummy_value()

    return types.none(types.intp, types.intp, types.intp), codegen
