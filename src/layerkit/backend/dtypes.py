"""dtype names, promotion and the default float type.

dtypes are plain strings, as in Keras (`"float32"`). Promotion follows Keras 3 rather than
NumPy where they differ: an int tensor meets a float tensor in the float's type (NumPy would
widen to float64), and Python scalars take the tensor's dtype ("weak" types).
"""
import numpy as np

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int32", "int64")
SUPPORTED = FLOAT_DTYPES + INT_DTYPES + ("bool",)
# Codes shared with the C++ core (`common.h`, enum DType).
DTYPE_CODES = {"float32": 0, "float64": 1, "int32": 2, "int64": 3, "bool": 4}

_ALIASES = {"float": "float32", "int": "int64", "double": "float64", "bool_": "bool"}
_FLOATX = ["float32"]


def floatx():
    """The default float dtype, `"float32"` unless changed with `set_floatx`."""
    return _FLOATX[0]


def set_floatx(dtype):
    dtype = standardize_dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"set_floatx: expected one of {FLOAT_DTYPES}, received {dtype!r}.")
    _FLOATX[0] = dtype


def standardize_dtype(dtype):
    """Returns the canonical dtype string for `dtype` (a string, numpy dtype or type)."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
    elif dtype is float:
        name = floatx()
    elif dtype is int:
        name = "int64"
    elif dtype is bool:
        name = "bool"
    else:
        name = getattr(dtype, "name", None) or np.dtype(dtype).name
        name = _ALIASES.get(name, name)
    if name not in SUPPORTED:
        raise TypeError(f"Unsupported dtype {dtype!r}: layerkit supports {', '.join(SUPPORTED)}.")
    return name


def is_float_dtype(dtype):
    return dtype in FLOAT_DTYPES


def is_int_dtype(dtype):
    return dtype in INT_DTYPES


_RANK = {"bool": 0, "int32": 1, "int64": 2, "float32": 3, "float64": 4}


def result_type(*dtypes):
    """The dtype two tensors meet in: the wider float if any operand is float, else the wider int."""
    floats = [d for d in dtypes if d in FLOAT_DTYPES]
    pool = floats or list(dtypes)
    return max(pool, key=_RANK.__getitem__)
