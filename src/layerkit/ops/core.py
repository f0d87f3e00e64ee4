"""Conversion, casting, constants and the shape rules shared by op families."""
import math

import numpy as np

from layerkit.backend import DTYPE_CODES, as_array, core, floatx, is_float_dtype, result_type, standardize_dtype
from layerkit.ops.primitive import apply, register
from layerkit.ops.tensor import SymbolicTensor, Tensor


def convert_to_tensor(x, dtype=None):
    """Converts `x` (Tensor, numpy array, Python scalar or nested list) to a Tensor.

    Tensors pass through (cast when `dtype` differs); symbolic tensors pass through unchanged.
    """
    if isinstance(x, (Tensor, SymbolicTensor)):
        if dtype is not None and standardize_dtype(dtype) != x.dtype:
            return cast(x, dtype)
        return x
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
        x = np.from_dlpack(x)
    return Tensor(as_array(x, dtype))


def from_dlpack(x):
    """A Tensor sharing memory with any DLPack producer (numpy, PyTorch, JAX...) when it is
    C-contiguous; a copy otherwise."""
    return convert_to_tensor(np.from_dlpack(x))


def _is_python_scalar(x):
    return isinstance(x, (int, float, bool)) and not isinstance(x, Tensor)


def _weak_dtype(scalar, dtype):
    """The dtype a Python scalar meets a tensor of `dtype` in: the tensor's, except that a float
    meeting an int or bool tensor gives floatx and an int meeting a bool tensor int32."""
    if isinstance(scalar, float):
        return dtype if is_float_dtype(dtype) else floatx()
    return "int32" if dtype == "bool" and not isinstance(scalar, bool) else dtype


def binary_operands(x1, x2):
    """Converts two operands to tensors of one dtype, as Keras does: Python scalars are weakly
    typed (see `_weak_dtype`), and tensors of different dtypes meet in `result_type`."""
    if isinstance(x1, Tensor) and isinstance(x2, Tensor) and x1._data.dtype is x2._data.dtype:
        return x1, x2  # the common case, kept cheap: it runs on every binary op
    s1, s2 = _is_python_scalar(x1), _is_python_scalar(x2)
    if s2 and isinstance(x1, Tensor) and (is_float_dtype(x1.dtype) or not isinstance(x2, float)) \
            and x1.dtype != "bool":
        return x1, Tensor(np.array(x2, dtype=x1._data.dtype))  # tensor op Python scalar: the cheap path
    if s1 and not s2:
        x2 = convert_to_tensor(x2)
        d = _weak_dtype(x1, x2.dtype)
        return convert_to_tensor(x1, d), convert_to_tensor(x2, d)
    if s2 and not s1:
        x1 = convert_to_tensor(x1)
        d = _weak_dtype(x2, x1.dtype)
        return convert_to_tensor(x1, d), convert_to_tensor(x2, d)
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if x1.dtype != x2.dtype:
        d = result_type(x1.dtype, x2.dtype)
        x1, x2 = convert_to_tensor(x1, d), convert_to_tensor(x2, d)
    return x1, x2


def to_float(x):
    """`x` as a tensor of a float dtype (ints and bools become floatx), for float-only ops."""
    x = convert_to_tensor(x)
    return x if is_float_dtype(x.dtype) else cast(x, floatx())


# ---- shape rules ------------------------------------------------------------------------------

def shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(op_name, *shapes):
    """The NumPy broadcast of `shapes` (None = unknown), or a ValueError naming `op_name`."""
    nd = max(len(s) for s in shapes)
    out = []
    for i in range(nd):
        dim = 1
        for s in shapes:
            d = s[i - nd + len(s)] if i - nd + len(s) >= 0 else 1
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d is None or dim is None:
                dim = d if dim is None else dim
            elif d != dim:
                raise ValueError(
                    f"{op_name}: operands could not be broadcast together with shapes "
                    f"{' and '.join(shape_str(s) for s in shapes)} (axis {i - nd} has sizes {dim} and {d}).")
        out.append(dim)
    return tuple(out)


def normalize_axis(op_name, axis, ndim, arg="axis"):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op_name}: `{arg}` must be an int, received {axis!r}.")
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op_name}: `{arg}`={axis} is out of range for a tensor of rank {ndim} "
                         f"(expected {-ndim} <= {arg} < {ndim}).")
    return int(axis) % max(ndim, 1)


def normalize_axes(op_name, axis, ndim):
    """A sorted tuple of non-negative axes from None (all), an int, or a sequence."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(sorted(normalize_axis(op_name, a, ndim) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"{op_name}: repeated axis in `axis`={axis!r}.")
    return out


def split_axis(shape, axis):
    """(outer, n, inner): `shape` seen as 3-D around `axis`, the view the axis kernels (reduce,
    arg-extremes, gather, scatter) work on."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def same_spec(x, **_):
    return x.shape, x.dtype


# ---- cast and stop_gradient --------------------------------------------------------------------

def _cast_grad(ctx, g):
    src = ctx.inputs[0].dtype
    return (cast(g, src) if is_float_dtype(src) and is_float_dtype(g.dtype) else None,)


CAST = register(
    "cast",
    forward=lambda x, dtype: core.cast(x, DTYPE_CODES[dtype]),
    infer=lambda x, dtype: (x.shape, dtype),
    grad=_cast_grad,
    kernels=("cast",),
)


def cast(x, dtype):
    """Casts `x` to `dtype` (float to int truncates toward zero, as C and NumPy do)."""
    dtype = standardize_dtype(dtype)
    x = convert_to_tensor(x)
    if x.dtype == dtype and (x.__class__ is Tensor or isinstance(x, SymbolicTensor)):
        return x
    return apply(CAST, x, dtype=dtype)  # (a Variable is snapshotted: its buffer changes on assign)


STOP_GRADIENT = register("stop_gradient", forward=lambda x: x, infer=same_spec, grad=None, view=True)


def stop_gradient(x):
    """Returns `x`, through which no gradient flows."""
    return apply(STOP_GRADIENT, convert_to_tensor(x))


# ---- constants ----------------------------------------------------------------------------------

def _shape_tuple(shape, op):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    shape = tuple(shape)
    if any(d is None for d in shape):
        raise ValueError(f"{op}: the shape {shape} has unknown dimensions (a traced function with None dimensions); "
                         f"to fill a tensor shaped like x, use ops.{op}_like(x).")
    return tuple(int(d) for d in shape)


def zeros(shape, dtype=None):
    return Tensor(np.zeros(_shape_tuple(shape, "zeros"), dtype=standardize_dtype(dtype)))


def ones(shape, dtype=None):
    return Tensor(np.ones(_shape_tuple(shape, "ones"), dtype=standardize_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    return Tensor(np.full(_shape_tuple(shape, "full"), fill_value, dtype=standardize_dtype(dtype)))


# A tensor of x's shape filled with a value: a primitive only so that it works where x's shape is
# known at run time alone (symbolic tensors with None dimensions, traced functions).
FULL_LIKE = register(
    "full_like", forward=lambda x, fill_value, dtype: core.broadcast_to(np.array(fill_value, dtype), x.shape),
    infer=lambda x, fill_value, dtype: (x.shape, dtype), grad=None, kernels=("broadcast_to",))


def full_like(x, fill_value, dtype=None):
    x = convert_to_tensor(x)
    dtype = standardize_dtype(dtype or x.dtype)
    if isinstance(x, SymbolicTensor):
        return apply(FULL_LIKE, x, fill_value=fill_value, dtype=dtype)
    return full(x.shape, fill_value, dtype)


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype)


def eye(N, M=None, k=0, dtype=None):
    return Tensor(np.eye(N, M, k, dtype=standardize_dtype(dtype)))


def arange(start, stop=None, step=1, dtype=None):
    """Like `numpy.arange`; the dtype is int32 for integer arguments, floatx otherwise."""
    if dtype is None:
        args = [a for a in (start, stop, step) if a is not None]
        dtype = "int32" if all(isinstance(a, (int, np.integer)) for a in args) else floatx()
    return Tensor(np.ascontiguousarray(np.arange(start, stop, step, dtype=standardize_dtype(dtype))))


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    return Tensor(np.linspace(start, stop, num, endpoint=endpoint, dtype=standardize_dtype(dtype)))


def shape(x):
    return convert_to_tensor(x).shape


def ndim(x):
    return len(convert_to_tensor(x).shape)


def size(x):
    return math.prod(convert_to_tensor(x).shape)
