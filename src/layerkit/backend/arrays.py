"""Array conversion at the boundary: everything the core sees is a C-contiguous numpy array of a
supported dtype."""
import numpy as np

from layerkit.backend.dtypes import SUPPORTED, floatx, standardize_dtype

_SUPPORTED = frozenset(np.dtype(name) for name in SUPPORTED)


def contiguous(a):
    """`a` itself when C-contiguous, else a contiguous copy made by the core's strided copy."""
    if a.flags.c_contiguous:
        return a
    from layerkit.backend import core

    return core.copy(a)


def as_array(value, dtype=None):
    """A contiguous numpy array of `value` in `dtype` (inferred as Keras does when None:
    Python and numpy floats become floatx, Python ints int32 unless they overflow)."""
    if dtype is None and type(value) is np.ndarray and value.dtype in _SUPPORTED and value.flags.c_contiguous \
            and value.flags.aligned:
        return value  # already what the core takes: the common case, kept cheap
    if dtype is not None:
        dtype = standardize_dtype(dtype)
        a = np.asarray(value, dtype=dtype)
    else:
        a = np.asarray(value)
        kind = a.dtype.kind
        if kind == "f":
            # numpy float32/float64 arrays keep their type; Python floats and other widths use floatx
            if not isinstance(value, np.ndarray) or a.dtype.name not in ("float32", "float64"):
                a = a.astype(floatx())
        elif kind in "iu":
            if not isinstance(value, np.ndarray):
                a = a.astype("int32") if a.size == 0 or (np.abs(a).max() < 2**31) else a.astype("int64")
            elif a.dtype.name not in ("int32", "int64"):
                a = a.astype("int64" if a.dtype.itemsize >= 4 else "int32")
        elif kind == "b":
            pass
        elif kind == "O" or kind in "USV":
            raise TypeError(f"Cannot convert a value of type {type(value).__name__} to a tensor: {value!r:.80}")
        else:
            raise TypeError(f"Unsupported array dtype {a.dtype} (supported: float32, float64, int32, int64, bool).")
    if not a.dtype.isnative:  # big-endian data: the kernels read this machine's byte order
        a = a.astype(a.dtype.newbyteorder("="))
    if not a.flags.aligned:  # a view at an odd byte offset: the kernels read whole elements
        a = a.copy()
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)  # (ascontiguousarray makes 0-d 1-d)
