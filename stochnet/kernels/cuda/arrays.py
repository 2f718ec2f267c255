"""GPU arrays for a host loop that takes the same views every batch.

A Numba device-array view (``a[:rows]``, ``a.reshape(...)``) is a new Python object
built by tens of microseconds of Python, and every new object has to be typed and
marshalled again at each kernel launch. The training loops take the same few dozen
views of the same workspace every batch, so the arrays stochnet allocates on a GPU are
:class:`ViewCachingArray`\\ s: each distinct view is made once, then returned as is.
On the CUDA simulator these functions return the simulator's own arrays.
"""

import numpy as np
from numba import cuda

#: Views remembered per array before the memo starts over (a loop that slices at ever
#: new offsets, such as prediction chunks, must not grow it without bound).
MAX_VIEWS = 256


def _index_key(item):
    # slice objects are unhashable before Python 3.12
    if isinstance(item, slice):
        return (item.start, item.stop, item.step)
    if isinstance(item, tuple):
        return tuple(_index_key(i) for i in item)
    return item


if cuda.config.ENABLE_CUDASIM:
    ViewCachingArray = None
else:
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    class ViewCachingArray(DeviceNDArray):
        """A Numba ``DeviceNDArray`` whose slices and reshapes are made once per
        distinct request (and are themselves :class:`ViewCachingArray`\\ s)."""

        def _memo(self, key, make):
            views = self.__dict__.setdefault("_views", {})
            view = views.get(key)
            if view is None:
                view = make()
                if isinstance(view, DeviceNDArray):  # not an element read to the host
                    if len(views) >= MAX_VIEWS:
                        views.clear()
                    views[key] = view
            return view

        def __getitem__(self, item):
            try:
                key = ("item", _index_key(item))
                hash(key)
            except TypeError:  # fancy indices: no memo
                return super().__getitem__(item)
            return self._memo(key, lambda: super(ViewCachingArray, self).__getitem__(item))

        def reshape(self, *shape, **kws):
            if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
                shape = shape[0]
            key = ("reshape", tuple(shape), kws.get("order", "C"))
            return self._memo(key, lambda: super(ViewCachingArray, self).reshape(shape, **kws))


def caching(array):
    """``array`` (a Numba device array) as a :class:`ViewCachingArray` on the same
    memory; simulator arrays are returned as they are."""
    if ViewCachingArray is None or isinstance(array, ViewCachingArray):
        return array
    return ViewCachingArray(
        array.shape, array.strides, array.dtype, stream=array.stream, gpu_data=array.gpu_data
    )


def to_device(host):
    """``cuda.to_device(host)`` as a :class:`ViewCachingArray`."""
    return caching(cuda.to_device(host))


def device_array(shape, dtype=np.float64):
    """``cuda.device_array(shape, dtype)`` as a :class:`ViewCachingArray`."""
    return caching(cuda.device_array(shape, dtype=dtype))
