"""Elementwise ops: unary maps, binary maps with NumPy broadcasting, comparisons, `where`."""
import math

from layerkit.backend import core, is_float_dtype
from layerkit.ops import core as C
from layerkit.ops import layout as S
from layerkit.ops.primitive import apply, register
from layerkit.ops.tensor import Tensor

# ---- unary ----------------------------------------------------------------------------------


def _unary(name, grad, float_only=True):
    op = register(name, forward=getattr(core, name), infer=C.same_spec, grad=grad, kernels=(name,))

    def fn(x):
        x = C.to_float(x) if float_only else C.convert_to_tensor(x)
        return apply(op, x)

    fn.__name__ = name
    return op, fn


NEGATIVE, negative = _unary("negative", lambda ctx, g: (negative(g),), float_only=False)
ABS, abs = _unary("abs", lambda ctx, g: (g * sign(ctx.inputs[0]),), float_only=False)
SIGN, sign = _unary("sign", None, float_only=False)
SQUARE, square = _unary("square", lambda ctx, g: (g * (2 * ctx.inputs[0]),), float_only=False)
# The gradient reads relu's output, not its input (y > 0 exactly where x > 0, NaN included): the
# pre-activation then has no reader but relu, so compiled graphs fuse bias + relu into the
# producing kernel and never store it.
RELU, relu = _unary("relu", lambda ctx, g: (apply(RELU_GRAD, ctx.output, g),), float_only=False)
# g where y > 0, else 0: one pass instead of a comparison and a select. Linear in g, so its own
# gradient is itself (with respect to g) and zero almost everywhere with respect to y.
RELU_GRAD = register("relu_grad", forward=core.relu_grad, infer=lambda x, g: (g.shape, g.dtype),
                     grad=lambda ctx, gg: (None, apply(RELU_GRAD, ctx.inputs[0], gg)), kernels=("relu_grad",))
SQRT, sqrt = _unary("sqrt", lambda ctx, g: (g * 0.5 / ctx.output,))
RSQRT, rsqrt = _unary("rsqrt", lambda ctx, g: (g * -0.5 * ctx.output * ctx.output * ctx.output,))
EXP, exp = _unary("exp", lambda ctx, g: (g * ctx.output,))
LOG, log = _unary("log", lambda ctx, g: (g / ctx.inputs[0],))
LOG1P, log1p = _unary("log1p", lambda ctx, g: (g / (ctx.inputs[0] + 1),))
EXPM1, expm1 = _unary("expm1", lambda ctx, g: (g * (ctx.output + 1),))
TANH, tanh = _unary("tanh", lambda ctx, g: (g * (1 - square(ctx.output)),))
SIGMOID, sigmoid = _unary("sigmoid", lambda ctx, g: (g * ctx.output * (1 - ctx.output),))
ERF, erf = _unary("erf", lambda ctx, g: (g * (2 / math.sqrt(math.pi)) * exp(negative(square(ctx.inputs[0]))),))
SIN, sin = _unary("sin", lambda ctx, g: (g * cos(ctx.inputs[0]),))
COS, cos = _unary("cos", lambda ctx, g: (negative(g * sin(ctx.inputs[0])),))
RECIPROCAL, reciprocal = _unary("reciprocal", lambda ctx, g: (negative(g * square(ctx.output)),))
# Piecewise-constant: the gradient is zero almost everywhere, reported as no gradient (as TF does).
FLOOR, floor = _unary("floor", None)
CEIL, ceil = _unary("ceil", None)
ROUND, round = _unary("round", None)

LOGICAL_NOT = register("logical_not", forward=core.logical_not, infer=C.same_spec, kernels=("logical_not",))


def logical_not(x):
    return apply(LOGICAL_NOT, C.cast(x, "bool"))


# ---- binary ---------------------------------------------------------------------------------


def _broadcast_spec(name):
    def infer(x1, x2):
        if x1.dtype == "bool":  # as the eager kernels refuse it (a traced function would fail in its plan)
            raise TypeError(f"{name}: expected a numeric array, received bool")
        return C.broadcast_shapes(name, x1.shape, x2.shape), x1.dtype
    return infer


def _compare_spec(name):
    def infer(x1, x2):
        return C.broadcast_shapes(name, x1.shape, x2.shape), "bool"
    return infer


def _binary(name, grad, float_only=False, compare=False):
    spec = _compare_spec(name) if compare else _broadcast_spec(name)
    op = register(name, forward=getattr(core, name), infer=spec, grad=grad, kernels=(name,))

    def fn(x1, x2):
        # two tensors of one dtype skip the conversion rules: the common case of every model
        if not (x1.__class__ is Tensor and x2.__class__ is Tensor and x1._data.dtype is x2._data.dtype):
            x1, x2 = C.binary_operands(x1, x2)
        if float_only and not is_float_dtype(x1.dtype):
            x1, x2 = C.to_float(x1), C.to_float(x2)
        return apply(op, x1, x2)

    fn.__name__ = name
    return op, fn


def _reduced(ctx, grads):
    """Each input gradient summed back over the axes its input was broadcast along."""
    return tuple(None if g is None or not ctx.needs(i) else S.sum_to(g, ctx.inputs[i])
                 for i, g in enumerate(grads))


ADD, add = _binary("add", lambda ctx, g: _reduced(ctx, (g, g)))
SUBTRACT, subtract = _binary("subtract", lambda ctx, g: _reduced(ctx, (g, negative(g))))
MULTIPLY, multiply = _binary(
    "multiply", lambda ctx, g: _reduced(ctx, (g * ctx.inputs[1] if ctx.needs(0) else None,
                                              g * ctx.inputs[0] if ctx.needs(1) else None)))
DIVIDE, divide = _binary(
    "divide", lambda ctx, g: _reduced(ctx, (g / ctx.inputs[1],
                                            negative(g * ctx.output / ctx.inputs[1]) if ctx.needs(1) else None)),
    float_only=True)


def _power_grad(ctx, g):
    x, y = ctx.inputs
    dx = g * y * power(x, y - 1) if ctx.needs(0) else None
    # d/dy x**y = x**y log x, taken as 0 where x == 0 (the limit for y > 0)
    dy = g * ctx.output * log(where(greater(x, 0), x, 1)) if ctx.needs(1) else None
    return _reduced(ctx, (dx, dy))


POWER, power = _binary("power", _power_grad, float_only=True)
# Ties send the gradient to x1, as TensorFlow does.
MAXIMUM, maximum = _binary(
    "maximum", lambda ctx, g: _reduced(ctx, (where(greater_equal(ctx.inputs[0], ctx.inputs[1]), g, 0),
                                             where(less(ctx.inputs[0], ctx.inputs[1]), g, 0))))
MINIMUM, minimum = _binary(
    "minimum", lambda ctx, g: _reduced(ctx, (where(less_equal(ctx.inputs[0], ctx.inputs[1]), g, 0),
                                             where(greater(ctx.inputs[0], ctx.inputs[1]), g, 0))))
EQUAL, equal = _binary("equal", None, compare=True)
NOT_EQUAL, not_equal = _binary("not_equal", None, compare=True)
LESS, less = _binary("less", None, compare=True)
LESS_EQUAL, less_equal = _binary("less_equal", None, compare=True)
GREATER, greater = _binary("greater", None, compare=True)
GREATER_EQUAL, greater_equal = _binary("greater_equal", None, compare=True)
LOGICAL_AND = register("logical_and", forward=core.logical_and, infer=_compare_spec("logical_and"),
                       kernels=("logical_and",))
LOGICAL_OR = register("logical_or", forward=core.logical_or, infer=_compare_spec("logical_or"),
                      kernels=("logical_or",))


def logical_and(x1, x2):
    return apply(LOGICAL_AND, C.cast(x1, "bool"), C.cast(x2, "bool"))


def logical_or(x1, x2):
    return apply(LOGICAL_OR, C.cast(x1, "bool"), C.cast(x2, "bool"))


def true_divide(x1, x2):
    return divide(x1, x2)


def square_difference(x1, x2):
    return square(subtract(x1, x2))


# ---- where and composites -------------------------------------------------------------------


def _where_spec(condition, x1, x2):
    return C.broadcast_shapes("where", condition.shape, x1.shape, x2.shape), x1.dtype


def _where_grad(ctx, g):
    c, x1, x2 = ctx.inputs
    z = C.zeros((), g.dtype)
    return (None,
            S.sum_to(where(c, g, z), x1) if ctx.needs(1) else None,
            S.sum_to(where(c, z, g), x2) if ctx.needs(2) else None)


WHERE = register("where", forward=core.where, infer=_where_spec, grad=_where_grad, kernels=("where",))


def where(condition, x1, x2):
    """`x1` where `condition` is true, else `x2`, broadcasting all three."""
    x1, x2 = C.binary_operands(x1, x2)
    return apply(WHERE, C.cast(condition, "bool"), x1, x2)


def clip(x, x_min, x_max):
    """Clips `x` to [x_min, x_max] elementwise."""
    return minimum(maximum(x, x_min), x_max)


def reciprocal_no_nan(x):
    x = C.to_float(x)
    return where(equal(x, 0), 0.0, reciprocal(where(equal(x, 0), 1.0, x)))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol * |x2| elementwise, as NumPy: infinities are close only to an
    equal infinity, NaN to nothing (to NaN too when `equal_nan`)."""
    x1, x2 = C.binary_operands(x1, x2)
    # the tolerance test alone would call inf - inf (NaN) not close and any finite x1 close to inf
    within = logical_and(less_equal(abs(x1 - x2), atol + rtol * abs(x2)), less(abs(x2), math.inf))
    out = logical_or(equal(x1, x2), within)
    if equal_nan:
        out = logical_or(out, logical_and(not_equal(x1, x1), not_equal(x2, x2)))
    return out
