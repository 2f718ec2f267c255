"""Raw addresses for kernels that take their operands as addresses, so that one compiled
loop serves every dtype and memory layout."""

from llvmlite import ir
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
            builder,
            builder.inttoptr(to, byte_pointer),
            builder.inttoptr(start, byte_pointer),
            count,
            1,
        )
        return context.get_dummy_value()

    return types.none(types.intp, types.intp, types.intp), codegen


@intrinsic
def call_void(typingctx, address, args):
    """Call the C function ``void f(int64, …)`` at ``address`` with the int64 tuple
    ``args`` (e.g. a ``cfunc``'s ``.address``)."""
    if not (isinstance(args, types.UniTuple) and args.dtype == types.int64):
        return None
    count = args.count

    def codegen(context, builder, signature, llargs):
        int64 = ir.IntType(64)
        function = builder.inttoptr(
            llargs[0], ir.FunctionType(ir.VoidType(), [int64] * count).as_pointer()
        )
        builder.call(function, cgutils.unpack_tuple(builder, llargs[1], count))
        return context.get_dummy_value()

    return types.none(types.intp, args), codegen
