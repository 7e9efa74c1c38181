""".npz files through the C library's reader and writer (include/ratenn/io.h): the same validation,
the same atomic write and the same member layout as the CLI's params.npz and checkpoint.npz."""
import ctypes as C
import os

import numpy as np

from . import _lib
from ._lib import call, lib


def write(path, arrays):
    """Writes {name: array} (float32, C order; names as members without '.npy') atomically."""
    keep = []
    arr = (_lib.Array * max(len(arrays), 1))()
    for i, (name, a) in enumerate(arrays.items()):
        a = np.ascontiguousarray(a, dtype=np.float32)
        keep.append(a)
        b = name.encode()
        if len(b) >= 128:
            raise ValueError(f"member name '{name}' is longer than 127 bytes")
        arr[i].name = b
        arr[i].ndim = a.ndim
        for k, n in enumerate(a.shape):
            arr[i].shape[k] = n
        arr[i].count = a.size
        arr[i].data = a.ctypes.data_as(_lib.c_float_p) if a.size else None
    call("rn_npz_write", os.fsencode(path), arr, len(arrays))


def read(path):
    """{name: float32 array} from a .npz (numpy.savez, savez_compressed or ratenn's)."""
    p = C.POINTER(_lib.Array)()
    n = C.c_int(0)
    call("rn_npz_read", os.fsencode(path), C.byref(p), C.byref(n))
    try:
        out = {}
        for i in range(n.value):
            a = p[i]
            shape = tuple(int(a.shape[k]) for k in range(a.ndim))
            if a.count:
                out[a.name.decode()] = np.ctypeslib.as_array(a.data, shape=(a.count,)).reshape(shape).copy()
            else:
                out[a.name.decode()] = np.zeros(shape, np.float32)
        return out
    finally:
        lib.rn_arrays_free(p, n.value)
