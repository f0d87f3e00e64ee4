"""`layerkit.ops`: every op, with `keras.ops` names, signatures and semantics (which follow NumPy).

Primitives (ops with a kernel) are listed in `REGISTRY`; everything else is a composite of them.
"""
from layerkit.ops.tensor import KerasTensor, SymbolicTensor, Tensor, is_symbolic, is_tensor
from layerkit.ops.operation import Operation
from layerkit.ops.primitive import REGISTRY, Primitive, apply, register
from layerkit.ops.core import (
    arange, broadcast_shapes, cast, convert_to_tensor, eye, from_dlpack, full, full_like, linspace, ndim, ones,
    ones_like, shape, size, stop_gradient, zeros, zeros_like,
)
from layerkit.ops.elementwise import (
    abs, add, ceil, clip, cos, divide, equal, erf, exp, expm1, floor, greater, greater_equal, isclose, less,
    less_equal, log, log1p, logical_and, logical_not, logical_or, maximum, minimum, multiply, negative, not_equal,
    power, reciprocal, round, rsqrt, sign, sin, sqrt, square, subtract, true_divide, where,
)
from layerkit.ops.layout import (
    broadcast_to, concatenate, expand_dims, getitem, moveaxis, pad, ravel, repeat, reshape, split, squeeze, stack,
    sum_to, swapaxes, take, take_along_axis, tile, transpose,
)
from layerkit.ops.reduction import (
    all, amax, amin, any, argmax, argmin, count_nonzero, logsumexp, max, mean, min, prod, std, sum, var,
)
from layerkit.ops.linalg import dot, einsum, matmul, tensordot
from layerkit.ops.nn import (
    binary_crossentropy, categorical_crossentropy, elu, gelu, hard_sigmoid, hard_silu, hard_swish, leaky_relu,
    log_sigmoid, log_softmax, one_hot, relu, relu6, selu, sigmoid, silu, softmax, softplus, softsign,
    sparse_categorical_crossentropy, sparse_softmax_cross_entropy, swish, tanh,
)
from layerkit.ops.control_flow import cond, fori_loop, scan, while_loop
from layerkit.ops import recurrent  # noqa: F401  (the fused LSTM primitives of lk.layers.LSTM)
from layerkit.ops.convolution import (
    average_pool, conv, conv_transpose, depthwise_conv, max_pool, separable_conv,
)


def _install_operators():
    """Python operators on Tensor and SymbolicTensor dispatch to the ops above."""
    def r(fn):
        return lambda a, b: fn(b, a)

    table = {
        "__add__": add, "__radd__": r(add), "__sub__": subtract, "__rsub__": r(subtract),
        "__mul__": multiply, "__rmul__": r(multiply), "__truediv__": divide, "__rtruediv__": r(divide),
        "__matmul__": matmul, "__rmatmul__": r(matmul), "__pow__": power, "__rpow__": r(power),
        "__neg__": negative, "__pos__": lambda a: a, "__abs__": abs,
        "__eq__": equal, "__ne__": not_equal, "__lt__": less, "__le__": less_equal,
        "__gt__": greater, "__ge__": greater_equal,
        "__and__": logical_and, "__or__": logical_or, "__invert__": logical_not,
        "__getitem__": getitem,
    }
    for cls in (Tensor, SymbolicTensor):
        for name, fn in table.items():
            setattr(cls, name, fn)
        cls.__hash__ = lambda self: id(self)  # __eq__ is elementwise; identity keeps tensors hashable
        cls.T = property(lambda self: transpose(self))
        cls.astype = lambda self, dtype: cast(self, dtype)
        cls.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)


_install_operators()
