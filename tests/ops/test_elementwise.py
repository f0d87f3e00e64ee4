"""Elementwise ops against NumPy: values, dtypes, broadcasting, promotion and gradients.

Adding an op is one line in UNARY / BINARY / COMPARISONS (and INT_* when it supports ints).
"""
import math

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import layerkit as lk
from layerkit import ops
from layerkit.ops import SymbolicTensor
from layerkit.testing import check_grad, check_op

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
# float32 compared with a float64 reference; float64 to a few ulps.
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}

_erf = np.vectorize(math.erf, otypes=[np.float64])


# ---- input domains (where each op is defined and, for gradients, smooth) -------------------------

def _real(rng, shape):
    return rng.uniform(-3.0, 3.0, shape)


def _positive(rng, shape):
    return rng.uniform(0.2, 3.0, shape)


def _above_minus_one(rng, shape):
    return rng.uniform(-0.6, 3.0, shape)


def _nonzero(rng, shape):
    """Values at least 0.3 away from 0 (kinks of abs/relu, poles of 1/x)."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 3.0, shape)


def _quarters(rng, shape):
    """Multiples of 1/4: integers, exact halves (rounding ties) and values in between."""
    return rng.integers(-12, 13, shape) / 4.0


def _halves(rng, shape):
    """Multiples of 1/2 so that comparisons meet exact ties."""
    return rng.integers(-4, 5, shape) / 2.0


# name -> (layerkit op, float64 NumPy reference, domain)
UNARY = {
    "negative": (ops.negative, np.negative, _real),
    "abs": (ops.abs, np.abs, _nonzero),
    "sign": (ops.sign, np.sign, _quarters),
    "square": (ops.square, np.square, _real),
    "sqrt": (ops.sqrt, np.sqrt, _positive),
    "rsqrt": (ops.rsqrt, lambda x: 1.0 / np.sqrt(x), _positive),
    "exp": (ops.exp, np.exp, _real),
    "log": (ops.log, np.log, _positive),
    "log1p": (ops.log1p, np.log1p, _above_minus_one),
    "expm1": (ops.expm1, np.expm1, _real),
    "tanh": (ops.tanh, np.tanh, _real),
    "sigmoid": (ops.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)), _real),
    "relu": (ops.relu, lambda x: np.maximum(x, 0.0), _nonzero),
    "erf": (ops.erf, _erf, _real),
    "sin": (ops.sin, np.sin, _real),
    "cos": (ops.cos, np.cos, _real),
    "floor": (ops.floor, np.floor, _quarters),
    "ceil": (ops.ceil, np.ceil, _quarters),
    "round": (ops.round, np.round, _quarters),  # half to even, as NumPy
    "reciprocal": (ops.reciprocal, np.reciprocal, _nonzero),
}
INT_UNARY = ("negative", "abs", "sign", "square", "relu")
# Piecewise constant: no gradient flows.
CONSTANT_UNARY = ("sign", "floor", "ceil", "round")
DIFF_UNARY = [n for n in UNARY if n not in CONSTANT_UNARY]
FLOAT_ONLY_UNARY = [n for n in UNARY if n not in INT_UNARY]

# name -> (layerkit op, NumPy reference, domain of x1, domain of x2)
BINARY = {
    "add": (ops.add, np.add, _real, _real),
    "subtract": (ops.subtract, np.subtract, _real, _real),
    "multiply": (ops.multiply, np.multiply, _real, _real),
    "divide": (ops.divide, np.divide, _real, _nonzero),
    "power": (ops.power, np.power, _positive, _real),
    "maximum": (ops.maximum, np.maximum, _real, _real),
    "minimum": (ops.minimum, np.minimum, _real, _real),
}
INT_BINARY = ("add", "subtract", "multiply", "maximum", "minimum")
COMPARISONS = {
    "equal": (ops.equal, np.equal),
    "not_equal": (ops.not_equal, np.not_equal),
    "less": (ops.less, np.less),
    "less_equal": (ops.less_equal, np.less_equal),
    "greater": (ops.greater, np.greater),
    "greater_equal": (ops.greater_equal, np.greater_equal),
}

SHAPE_PAIRS = [
    ((4, 5), (4, 5)),
    ((3, 1, 4), (2, 1)),
    ((5,), (4, 1)),
    ((2, 1, 3), (1, 4, 1)),
    ((), (3,)),
    ((2, 3), ()),
    ((), ()),
]
EMPTY_PAIRS = [((0, 3), (3,)), ((0, 1), (1, 4)), ((2, 0), (2, 1)), ((0,), ())]


def _rng(*key):
    # crc32, not hash(): string hashes change from process to process, the data must not
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _as(dtype, reference):
    """`reference` run in float64 for float dtypes (the exact answer to compare against)."""
    return lambda *a: reference(*[x.astype(np.float64) if isinstance(x, np.ndarray) else x for x in a])


# ---- unary ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_matches_numpy(name, dtype):
    fn, ref, domain = UNARY[name]
    x = domain(_rng(name), (4, 5)).astype(dtype)
    out = check_op(fn, _as(dtype, ref), x, **TOL[dtype])
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name", INT_UNARY)
def test_unary_on_ints_keeps_dtype(name, dtype):
    fn, ref, _ = UNARY[name]
    x = _rng(name).integers(-5, 6, (4, 5)).astype(dtype)
    out = check_op(fn, ref, x)
    assert out.dtype == dtype


@pytest.mark.parametrize("name", FLOAT_ONLY_UNARY)
def test_float_unary_on_ints_gives_floatx(name):
    fn, ref, _ = UNARY[name]
    x = np.array([[1, 2, 3], [4, 5, 2]], dtype="int32")  # inside every op's domain
    out = check_op(fn, lambda a: ref(a.astype(np.float64)), x, **TOL["float32"])
    assert out.dtype == "float32"


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_on_0d_and_empty(name):
    fn, ref, domain = UNARY[name]
    scalar = np.asarray(domain(_rng(name), ())).astype("float32")
    out = check_op(fn, _as("float32", ref), scalar, **TOL["float32"])
    assert out.shape == ()
    empty = np.zeros((0, 3), "float32")
    out = check_op(fn, ref, empty)
    assert out.shape == (0, 3) and out.dtype == "float32"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_special_values_match_numpy(name, dtype):
    fn, ref, _ = UNARY[name]
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], dtype)  # NaN propagates through every op
    with np.errstate(all="ignore"):
        check_op(fn, _as(dtype, ref), x, **TOL[dtype])


def test_round_is_half_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5], "float32")
    np.testing.assert_array_equal(np.asarray(ops.round(x)), [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 4.0])


@pytest.mark.parametrize("name", DIFF_UNARY)
def test_unary_grad(name):
    fn, _, domain = UNARY[name]
    check_grad(fn, domain(_rng(name, "grad"), (2, 3)))


@pytest.mark.parametrize("name", CONSTANT_UNARY)
def test_piecewise_constant_unary_has_zero_grad(name):
    fn = UNARY[name][0]
    x = lk.convert_to_tensor(np.array([-1.3, 0.4, 2.6]))
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.multiply(fn(x), 3.0))
    g = tape.gradient(y, x, unconnected_gradients="zero")
    np.testing.assert_array_equal(np.asarray(g), np.zeros(3))


# ---- binary ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_matches_numpy(name, dtype, shapes):
    fn, ref, dom1, dom2 = BINARY[name]
    rng = _rng(name, shapes)
    a, b = np.asarray(dom1(rng, shapes[0])).astype(dtype), np.asarray(dom2(rng, shapes[1])).astype(dtype)
    out = check_op(fn, _as(dtype, ref), a, b, **TOL[dtype])
    assert out.dtype == dtype


@pytest.mark.parametrize("shapes", SHAPE_PAIRS[:3], ids=str)
@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name", INT_BINARY)
def test_binary_on_ints_keeps_dtype(name, dtype, shapes):
    fn, ref = BINARY[name][:2]
    rng = _rng(name, shapes)
    a, b = rng.integers(-50, 50, shapes[0]).astype(dtype), rng.integers(-50, 50, shapes[1]).astype(dtype)
    out = check_op(fn, ref, a, b)
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison_matches_numpy(name, dtype):
    fn, ref = COMPARISONS[name]
    rng = _rng(name)
    a, b = (_halves(rng, (3, 1, 4)) * 2).astype(dtype), (_halves(rng, (2, 1)) * 2).astype(dtype)
    out = check_op(fn, ref, a, b)
    assert out.dtype == "bool"
    assert np.asarray(ref(a, b)).any() and not np.asarray(ref(a, b)).all()  # the data exercises both outcomes


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison_with_scalars(name):
    fn, ref = COMPARISONS[name]
    x = np.array([-1.0, 0.5, 2.0], "float32")
    check_op(lambda t: fn(t, 0.5), lambda a: ref(a, 0.5), x)
    check_op(lambda t: fn(0.5, t), lambda a: ref(0.5, a), x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_with_python_scalar_on_either_side(name, dtype):
    fn, ref, dom1, dom2 = BINARY[name]
    rng = _rng(name, "scalar")
    a, b = dom1(rng, (2, 3)).astype(dtype), dom2(rng, (2, 3)).astype(dtype)
    left = check_op(lambda t: fn(1.5, t), _as(dtype, lambda x: ref(1.5, x)), b, **TOL[dtype])
    right = check_op(lambda t: fn(t, 1.5), _as(dtype, lambda x: ref(x, 1.5)), a, **TOL[dtype])
    assert left.dtype == right.dtype == dtype


@pytest.mark.parametrize("shapes", EMPTY_PAIRS, ids=str)
@pytest.mark.parametrize("name", list(BINARY) + list(COMPARISONS))
def test_binary_on_empty_tensors(name, shapes):
    fn, ref = (BINARY.get(name) or COMPARISONS[name])[:2]
    a, b = np.ones(shapes[0], "float32"), np.ones(shapes[1], "float32")
    out = check_op(fn, ref, a, b)
    assert out.shape == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "less"])
def test_incompatible_shapes_raise(name):
    fn = getattr(ops, name)
    with pytest.raises(ValueError, match=name):
        fn(np.ones((2, 3), "float32"), np.ones((4,), "float32"))
    with pytest.raises(ValueError, match=name):
        fn(SymbolicTensor((2, 3)), SymbolicTensor((4,)))


@settings(max_examples=25, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       seed=st.integers(0, 2**32 - 1))
def test_binary_broadcasting_property(shapes, seed):
    rng = np.random.default_rng(seed)
    for name in ("add", "subtract", "divide", "maximum"):
        fn, ref, dom1, dom2 = BINARY[name]
        a = np.asarray(dom1(rng, shapes.input_shapes[0])).astype("float32")
        b = np.asarray(dom2(rng, shapes.input_shapes[1])).astype("float32")
        out = check_op(fn, _as("float32", ref), a, b, **TOL["float32"])
        assert out.shape == shapes.result_shape
    a, b = _halves(rng, shapes.input_shapes[0]), _halves(rng, shapes.input_shapes[1])
    check_op(ops.less_equal, np.less_equal, np.asarray(a), np.asarray(b))


@settings(max_examples=15, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_broadcast_gradients_property(shapes, seed):
    rng = np.random.default_rng(seed)
    s1, s2, s3 = shapes.input_shapes
    a, b = np.asarray(rng.normal(size=s1)), np.asarray(rng.normal(size=s2))
    check_grad(ops.multiply, a, b)
    cond = np.asarray(rng.random(s3) < 0.5)
    check_grad(lambda x, y: ops.where(cond, x, y), a, b)


# ---- binary gradients -----------------------------------------------------------------------------

GRAD_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))]


@pytest.mark.parametrize("shapes", GRAD_SHAPES, ids=str)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_grad(name, shapes):
    fn, _, dom1, dom2 = BINARY[name]
    rng = _rng(name, shapes, "grad")
    check_grad(fn, np.asarray(dom1(rng, shapes[0])), np.asarray(dom2(rng, shapes[1])))


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_grad_with_scalar_operand(name):
    fn, _, dom1, dom2 = BINARY[name]
    rng = _rng(name, "scalar-grad")
    check_grad(lambda t: fn(t, 1.5), dom1(rng, (2, 3)))
    check_grad(lambda t: fn(1.5, t), dom2(rng, (2, 3)))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_special_values_match_numpy(name, dtype):
    fn, ref = BINARY[name][:2]
    vals = np.array([np.nan, np.inf, -np.inf, 0.0, -2.0, 3.0], dtype)
    a, b = np.repeat(vals, len(vals)), np.tile(vals, len(vals))  # every pair: NaN on either side, inf - inf...
    with np.errstate(all="ignore"):
        check_op(fn, ref, a, b)


def test_maximum_minimum_ties_send_gradient_to_first_operand():
    x, y = lk.convert_to_tensor(np.array([1.0, 2.0, 3.0])), lk.convert_to_tensor(np.array([1.0, 5.0, 0.0]))
    for fn, gx, gy in ((ops.maximum, [1, 0, 1], [0, 1, 0]), (ops.minimum, [1, 1, 0], [0, 0, 1])):
        with lk.GradientTape() as tape:
            tape.watch([x, y])
            out = ops.sum(fn(x, y))
        dx, dy = tape.gradient(out, [x, y])
        np.testing.assert_array_equal(np.asarray(dx), gx)
        np.testing.assert_array_equal(np.asarray(dy), gy)


# ---- logical, where, clip, isclose ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["bool", "float32", "int32"])
def test_logical_ops_match_numpy(dtype):
    rng = _rng("logical", dtype)
    a = rng.choice([0.0, 0.5, -2.0], (3, 1, 4)).astype(dtype)
    b = rng.choice([0.0, 1.0], (2, 1)).astype(dtype)
    for fn, ref in ((ops.logical_and, np.logical_and), (ops.logical_or, np.logical_or)):
        assert check_op(fn, ref, a, b).dtype == "bool"
    assert check_op(ops.logical_not, np.logical_not, a).dtype == "bool"
    assert check_op(lambda t: ~(t > 0), lambda x: ~(x > 0), a).dtype == "bool"


@pytest.mark.parametrize("dtype", FLOATS + ("int32",))
def test_where_matches_numpy(dtype):
    rng = _rng("where", dtype)
    cond = rng.random((2, 1)) < 0.5
    cond[0, 0], cond[1, 0] = True, False
    a, b = (rng.normal(size=(2, 3)) * 10).astype(dtype), (rng.normal(size=(3,)) * 10).astype(dtype)
    assert check_op(ops.where, np.where, cond, a, b).dtype == dtype
    # a numeric condition means "nonzero"; Python scalars take the other operand's dtype
    numeric = np.array([0.0, 2.5, -1.0], "float32")
    assert check_op(lambda c, t: ops.where(c, t, 0), lambda c, x: np.where(c, x, 0).astype(dtype),
                    numeric, b).dtype == dtype


def test_where_grad():
    cond = np.array([[True], [False]])
    check_grad(lambda x, y: ops.where(cond, x, y), np.arange(6.0).reshape(2, 3), np.array([1.0, -2.0, 3.0]))


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_clip_matches_numpy(dtype):
    x = (_rng("clip").normal(size=(3, 4)) * 3).astype(dtype)
    out = check_op(lambda t: ops.clip(t, -1, 2), lambda a: np.clip(a, -1, 2), x)
    assert out.dtype == dtype


def test_clip_grad_is_one_inside_and_zero_outside():
    x = np.array([-2.0, -0.7, 0.1, 0.9, 1.6, 3.0])
    check_grad(lambda t: ops.clip(t, -1.0, 1.2), x)
    with lk.GradientTape() as tape:
        t = lk.convert_to_tensor(x)
        tape.watch(t)
        y = ops.sum(ops.clip(t, -1.0, 1.2))
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, t)), [0, 1, 1, 1, 0, 0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_isclose_matches_numpy(dtype):
    x1 = np.array([1.0, 1.0, 100.0, 0.0, 0.0, -3.0, 5.0], dtype)
    x2 = np.array([1.0, 1.5, 100.0001, 1e-9, 1e-6, -3.0002, -5.0], dtype)
    check_op(ops.isclose, np.isclose, x1, x2)
    check_op(lambda a, b: ops.isclose(a, b, rtol=1e-3, atol=1e-5),
             lambda a, b: np.isclose(a, b, rtol=1e-3, atol=1e-5), x1, x2)


def test_isclose_infinities_and_nan_match_numpy():
    inf, nan = np.inf, np.nan
    x1 = np.array([inf, inf, -inf, 1.0, inf, nan, nan, 1.0])
    x2 = np.array([inf, -inf, -inf, inf, 1.0, nan, 1.0, nan])
    check_op(ops.isclose, np.isclose, x1, x2)
    check_op(lambda a, b: ops.isclose(a, b, equal_nan=True), lambda a, b: np.isclose(a, b, equal_nan=True), x1, x2)


# ---- dtype promotion ------------------------------------------------------------------------------

PROMOTION = [
    # (x1, x2, expected dtype): Python scalars are weak; tensors meet in the wider type
    (np.ones(3, "float32"), 2, "float32"),
    (np.ones(3, "float64"), 2.5, "float64"),
    (np.ones(3, "int32"), 2, "int32"),
    (np.ones(3, "int64"), 2, "int64"),
    (3, np.ones(3, "int32"), "int32"),
    (np.ones(3, "int32"), 0.5, "float32"),
    (0.5, np.ones(3, "int64"), "float32"),
    (np.ones(3, "float32"), np.ones(3, "float64"), "float64"),
    (np.ones(3, "int32"), np.ones(3, "float32"), "float32"),
    (np.ones(3, "float32"), np.ones(3, "int32"), "float32"),
    (np.ones(3, "int32"), np.ones(3, "int64"), "int64"),
    (np.ones(3, "int32"), np.ones(3, "float64"), "float64"),
    (np.ones(3, "bool"), np.ones(3, "int32"), "int32"),
    # a Python int meeting a bool tensor gives int32, a Python float floatx (Keras's weak types)
    (np.array([True, False, True]), 2, "int32"),
    (3, np.array([True, False, True]), "int32"),
    (np.array([True, False, True]), 2.5, "float32"),
]


@pytest.mark.parametrize("x1,x2,dtype", PROMOTION, ids=lambda v: getattr(v, "dtype", v))
@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "maximum"])
def test_dtype_promotion(name, x1, x2, dtype):
    fn, ref = BINARY[name][:2]
    out = fn(x1, x2)
    assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out), ref(np.asarray(x1, np.float64), np.asarray(x2, np.float64)))
    sym = [SymbolicTensor(x.shape, x.dtype) if isinstance(x, np.ndarray) else x for x in (x1, x2)]
    assert fn(*sym).dtype == dtype


def test_int_true_division_gives_floatx():
    a, b = np.array([1, 7, -3], "int32"), np.array([2, 2, 4], "int32")
    out = check_op(ops.divide, np.true_divide, a, b)
    assert out.dtype == "float32"


def test_comparison_across_dtypes():
    out = ops.less(np.array([1, 2, 3], "int32"), np.array([1.5, 1.5, 3.5], "float32"))
    assert out.dtype == "bool"
    np.testing.assert_array_equal(np.asarray(out), [True, False, True])


# ---- large arrays (the OpenMP path) ---------------------------------------------------------------

N = 200 * 300  # > 2**15


@pytest.mark.parametrize("name", ["exp", "tanh", "sqrt", "abs", "sigmoid"])
def test_large_unary(name):
    fn, ref, domain = UNARY[name]
    x = domain(_rng(name, "large"), (200, 300)).astype("float32")
    check_op(fn, _as("float32", ref), x, symbolic=False, **TOL["float32"])


@pytest.mark.parametrize("shapes", [((200, 300), (200, 300)), ((200, 300), (300,)), ((200, 1), (1, 300)),
                                    ((1, N), (1,)), ((N,), ())], ids=str)
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "divide"])
def test_large_binary(name, shapes):
    fn, ref, dom1, dom2 = BINARY[name]
    rng = _rng(name, shapes, "large")
    a, b = np.asarray(dom1(rng, shapes[0])), np.asarray(dom2(rng, shapes[1]))
    check_op(fn, ref, a, b, symbolic=False, **TOL["float64"])
    ai = rng.integers(-1000, 1000, shapes[0]).astype("int32")
    if name != "divide":
        check_op(fn, ref, ai, rng.integers(-1000, 1000, shapes[1]).astype("int32"), symbolic=False)


def test_large_where_compare_and_cast():
    rng = _rng("large-where")
    a, b, c = rng.normal(size=(200, 300)), rng.normal(size=(300,)), rng.random((200, 1)) < 0.5
    check_op(ops.where, np.where, c, a, b, symbolic=False)
    check_op(ops.greater, np.greater, a, b, symbolic=False)
    check_op(lambda t: ops.cast(t, "int32"), lambda x: x.astype("int32"), a * 100, symbolic=False)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid"])
def test_float32_transcendentals_are_within_a_few_ulps_on_every_code_path(name, isa_level):
    # float32 exp/tanh/sigmoid are polynomials compiled for baseline x86-64, AVX2 + FMA and
    # AVX-512 (the best the CPU has is taken). Each stays within 3 ulps of float64 numpy over its range,
    # with exact results at the edges: overflow, underflow to 0, signed zeros, NaN, infinities.
    fn, ref, _ = UNARY[name]
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-100, 100, 50_000), rng.uniform(-1, 1, 20_000), rng.uniform(-1e-3, 1e-3, 5_000),
                        [88.7, 88.73, -87.3, -87.34, -103.0, 1e-30, -1e-30, 0.0, -0.0, 20.0, -20.0, 9.0, -9.0,
                         np.inf, -np.inf, np.nan]]).astype("float32")
    with np.errstate(all="ignore"):
        got = np.asarray(fn(x))
        expected = ref(x.astype(np.float64))
        if name == "exp":
            expected = np.where(expected < np.finfo("float32").tiny, 0.0, expected)  # no float32 denormals
        expected32 = expected.astype("float32")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected32))
    finite = np.isfinite(expected32)
    np.testing.assert_array_equal(got[~finite & ~np.isnan(got)], expected32[~finite & ~np.isnan(got)])
    spacing = np.spacing(np.abs(expected32[finite]).astype("float32")).astype(np.float64)
    ulps = np.abs(got[finite].astype(np.float64) - expected[finite]) / np.maximum(spacing, np.finfo("float32").tiny)
    assert ulps.max() <= 3.0, (name, float(ulps.max()), x[finite][np.argmax(ulps)])
    if name == "tanh":  # odd: tanh(-0.0) is -0.0
        np.testing.assert_array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]))
