"""Reductions: sum, prod, max, min, argmax, argmin primitives and their composites (mean, var,
std, logsumexp, any, all)."""
import math

import numpy as np

from layerkit.backend import core
from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops import layout as S
from layerkit.ops.primitive import apply, register


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_spec(x, axis, keepdims):
    return _reduced_shape(x.shape, axis, keepdims), x.dtype


def reduce_passes(shape, axis):
    """(outer, n, inner) of each pass of a multi-axis reduction: one axis at a time, innermost
    first, each pass on the previous one's result."""
    shape, passes = list(shape), []
    for a in reversed(axis):
        passes.append(C.split_axis(shape, a))
        del shape[a]
    return passes


def _reduce_forward(kernel):
    def forward(x, axis, keepdims):
        y = x
        for outer, n, inner in reduce_passes(x.shape, axis):
            y = kernel(y, outer, n, inner)
        return y.reshape(_reduced_shape(x.shape, axis, keepdims))
    return forward


def _keep(g, ctx):
    """The output gradient in keepdims form, ready to broadcast against the input (expand_dims,
    not reshape: it needs no sizes, so unknown ones are fine)."""
    # (the primitive directly: the reduction's axes are already normalized and sorted)
    return g if ctx.attrs["keepdims"] else apply(S.EXPAND_DIMS, g, axes=ctx.attrs["axis"])


def _sum_grad(ctx, g):
    return (S.broadcast_like(_keep(g, ctx), ctx.inputs[0]),)


def _extreme_grad(ctx, g):
    # the gradient is shared equally among tied extremes
    x = ctx.inputs[0]
    mask = C.cast(E.equal(x, _keep(ctx.output, ctx)), g.dtype)
    count = sum(mask, axis=ctx.attrs["axis"], keepdims=True)
    return (E.divide(E.multiply(mask, _keep(g, ctx)), count),)


def _prod_grad(ctx, g):
    # product of the other elements, exact with zeros present (no division by zero)
    x, axis = ctx.inputs[0], ctx.attrs["axis"]
    is_zero = E.equal(x, 0)
    nonzero = E.where(is_zero, 1, x)
    p_nz = prod(nonzero, axis=axis, keepdims=True)
    zeros = sum(C.cast(is_zero, "int32"), axis=axis, keepdims=True)
    others = E.where(is_zero, E.where(E.equal(zeros, 1), p_nz, 0),
                     E.where(E.equal(zeros, 0), E.divide(p_nz, nonzero), 0))
    return (E.multiply(others, _keep(g, ctx)),)


SUM = register("sum", forward=_reduce_forward(core.sum), infer=_reduce_spec, grad=_sum_grad, kernels=("sum",))
PROD = register("prod", forward=_reduce_forward(core.prod), infer=_reduce_spec, grad=_prod_grad, kernels=("prod",))
MAX = register("max", forward=_reduce_forward(core.max), infer=_reduce_spec, grad=_extreme_grad, kernels=("max",))
MIN = register("min", forward=_reduce_forward(core.min), infer=_reduce_spec, grad=_extreme_grad, kernels=("min",))


def _reduce(op, x, axis, keepdims):
    x = C.convert_to_tensor(x)
    if x.dtype == "bool":
        x = C.cast(x, "int32")
    axes = C.normalize_axes(op.name, axis, x.ndim)
    if not axes:
        return x
    if op in (MAX, MIN):
        for a in axes:
            if x.shape[a] == 0:
                raise ValueError(f"{op.name}: cannot reduce axis {a} of size 0 of a tensor of shape "
                                 f"{C.shape_str(x.shape)} (no identity); pass `initial` values instead.")
    return apply(op, x, axis=axes, keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False):
    """Sum of elements over `axis` (an int, a tuple, or None for all)."""
    return _reduce(SUM, x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    return _reduce(PROD, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    return _reduce(MAX, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(MIN, x, axis, keepdims)


amax, amin = max, min


def mean(x, axis=None, keepdims=False):
    x = C.to_float(x)
    axes = C.normalize_axes("mean", axis, x.ndim)
    sizes = [x.shape[a] for a in axes]
    if None in sizes:  # a size known only at run time: count the elements there
        return E.divide(sum(x, axes, keepdims), sum(C.ones_like(x), axes, keepdims))
    return E.divide(sum(x, axes, keepdims), float(math.prod(sizes)))


# Composites normalize `axis` under their own name first, so errors name the op the user called.


def var(x, axis=None, keepdims=False):
    x = C.to_float(x)
    axis = C.normalize_axes("var", axis, x.ndim)
    centered = E.subtract(x, mean(x, axis, keepdims=True))
    return mean(E.square(centered), axis, keepdims)


def std(x, axis=None, keepdims=False):
    x = C.to_float(x)
    return E.sqrt(var(x, C.normalize_axes("std", axis, x.ndim), keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed without overflow."""
    x = C.to_float(x)
    axis = C.normalize_axes("logsumexp", axis, x.ndim)
    m = C.stop_gradient(max(x, axis, keepdims=True))
    m = E.where(E.equal(E.abs(m), np.inf), 0.0, m)  # all -inf rows stay -inf instead of NaN
    out = E.add(E.log(sum(E.exp(E.subtract(x, m)), axis, keepdims=True)), m)
    return out if keepdims else S.squeeze(out, axis)


def _count_true(op_name, x, axis, keepdims):
    x = C.cast(x, "bool")
    return sum(C.cast(x, "int32"), C.normalize_axes(op_name, axis, x.ndim), keepdims)


def any(x, axis=None, keepdims=False):
    """Whether any element is nonzero (False over an empty axis)."""
    return E.greater(_count_true("any", x, axis, keepdims), 0)


def all(x, axis=None, keepdims=False):
    """Whether every element is nonzero (True over an empty axis)."""
    return E.equal(_count_true("all", E.logical_not(x), axis, keepdims), 0)


def count_nonzero(x, axis=None):
    return _count_true("count_nonzero", x, axis, False)


# ---- argmax / argmin ---------------------------------------------------------------------------


def _arg_spec(x, axis, keepdims):
    return _reduced_shape(x.shape, (axis,), keepdims), "int32"


def _arg_forward(kernel):
    def forward(x, axis, keepdims):
        return kernel(x, *C.split_axis(x.shape, axis)).reshape(_reduced_shape(x.shape, (axis,), keepdims))
    return forward


ARGMAX = register("argmax", forward=_arg_forward(core.argmax), infer=_arg_spec, kernels=("argmax",))
ARGMIN = register("argmin", forward=_arg_forward(core.argmin), infer=_arg_spec, kernels=("argmin",))


def _arg(op, x, axis, keepdims):
    x = C.convert_to_tensor(x)
    if axis is None:  # over the flattened tensor; keepdims keeps every axis, with size 1
        out = _arg(op, S.ravel(x), 0, False)
        return S.reshape(out, (1,) * x.ndim) if keepdims else out
    axis = C.normalize_axis(op.name, axis, x.ndim)
    if x.shape[axis] == 0:
        raise ValueError(f"{op.name}: axis {axis} of the input (shape {C.shape_str(x.shape)}) is empty.")
    return apply(op, x, axis=axis, keepdims=bool(keepdims))


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum along `axis` (of the flattened `x` when None), as int32."""
    return _arg(ARGMAX, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg(ARGMIN, x, axis, keepdims)


