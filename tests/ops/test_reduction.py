"""Reductions against NumPy: every axis form, keepdims, dtypes, gradients and errors.

Adding a reduction is one line in REDUCTIONS (and DIFFERENTIABLE when it has a gradient).
"""
import warnings

import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.testing import check_grad, check_op

DTYPES = ("float32", "float64", "int32")
TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-12, atol=1e-12),
       "int32": dict(rtol=1e-5, atol=1e-5)}  # int inputs of mean/var/... give float32


def _np_logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x, np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = -inf for all -inf rows
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))


def _same(dtype):
    return dtype


def _float(dtype):
    return dtype if dtype.startswith("float") else "float32"


def _bool(dtype):
    return "bool"


# name -> (layerkit op, NumPy reference, output dtype for an input dtype)
REDUCTIONS = {
    "sum": (ops.sum, np.sum, _same),
    "prod": (ops.prod, np.prod, _same),
    "max": (ops.max, np.max, _same),
    "min": (ops.min, np.min, _same),
    "mean": (ops.mean, np.mean, _float),
    "var": (ops.var, np.var, _float),
    "std": (ops.std, np.std, _float),
    "logsumexp": (ops.logsumexp, _np_logsumexp, _float),
    "any": (ops.any, np.any, _bool),
    "all": (ops.all, np.all, _bool),
}
DIFFERENTIABLE = ("sum", "prod", "max", "min", "mean", "var", "std", "logsumexp")
AXES = [None, 0, 1, 2, -1, -3, (0, 2), (-1, 0), (0, 1, 2), ()]
ARG_OPS = {"argmax": (ops.argmax, np.argmax), "argmin": (ops.argmin, np.argmin)}


def _data(name, dtype, shape=(2, 3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if name in ("any", "all", "count_nonzero"):
        # zeros, non-integers (0.5 must count as true) and whole rows without zeros
        vals = [0, 1, -2, 3] if dtype == "int32" else [0.0, 0.5, -0.25, 2.0]
        return rng.choice(vals, shape, p=[0.15, 0.3, 0.3, 0.25]).astype(dtype)
    if dtype == "int32":
        lo = -2 if name == "prod" else -9
        return rng.integers(lo, -lo + 1, shape).astype(dtype)
    if name == "prod":
        return (rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape)).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def _reference(ref, dtype):
    def run(a, **kw):
        return ref(a.astype(np.float64) if dtype.startswith("float") else a.astype(np.int64), **kw)
    return run


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_matches_numpy(name, dtype, axis, keepdims):
    fn, ref, out_dtype = REDUCTIONS[name]
    x = _data(name, dtype)
    out = check_op(fn, _reference(ref, dtype), x, axis=axis, keepdims=keepdims, **TOL[dtype])
    assert out.dtype == out_dtype(dtype)


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_of_bool(name):
    fn, ref, _ = REDUCTIONS[name]
    x = np.array([[True, False, True], [True, True, True]])
    check_op(fn, lambda a, **kw: ref(a.astype(np.int64), **kw), x, axis=1, **TOL["float32"])
    check_op(fn, lambda a, **kw: ref(a.astype(np.int64), **kw), x, **TOL["float32"])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -3], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ARG_OPS))
def test_argmax_argmin_match_numpy(name, dtype, axis, keepdims):
    fn, ref = ARG_OPS[name]
    x = np.random.default_rng(1).integers(-2, 3, (2, 3, 4)).astype(dtype)  # ties: first index wins
    out = check_op(fn, ref, x, axis=axis, keepdims=keepdims)
    assert out.dtype == "int32"


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), ()], ids=str)
@pytest.mark.parametrize("dtype", DTYPES + ("bool",))
def test_count_nonzero_matches_numpy(dtype, axis):
    x = _data("count_nonzero", "float32").astype(dtype)
    out = check_op(ops.count_nonzero, np.count_nonzero, x, axis=axis)
    assert out.dtype == "int32"


def test_nan_propagates_through_max_min_and_argmax():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], "float32")
    for fn, ref in ((ops.max, np.max), (ops.min, np.min), (ops.argmax, np.argmax), (ops.argmin, np.argmin)):
        check_op(fn, ref, x, axis=1)


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0, -np.inf], [-1000.0, -1001.0, -1002.0], [-np.inf, -np.inf, -np.inf]], "float32")
    out = check_op(ops.logsumexp, _np_logsumexp, x, axis=1)
    assert np.isneginf(np.asarray(out)[2])


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "any", "all"])
def test_reductions_of_empty_axes_give_the_identity(name):
    fn, ref, _ = REDUCTIONS[name]
    x = np.zeros((0, 3), "float32")
    for axis in (None, 0):
        with warnings.catch_warnings():  # NumPy warns about the mean of nothing (NaN)
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = ref(x, axis=axis)
        np.testing.assert_array_equal(np.asarray(fn(x, axis=axis)), expected)
    assert fn(x, axis=1).shape == (0,)


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_extreme_of_empty_axis_raises(name):
    fn = getattr(ops, name)
    with pytest.raises(ValueError, match=name):
        fn(np.zeros((2, 0), "float32"), axis=1)
    with pytest.raises(ValueError, match=name):
        fn(np.zeros((0,), "float32"))
    # reducing a non-empty axis of a tensor with an empty one is fine
    assert fn(np.zeros((0, 3), "float32"), axis=1).shape == (0,)


ALL_NAMES = list(REDUCTIONS) + list(ARG_OPS) + ["count_nonzero"]


BAD_AXES = [(name, axis) for name in ALL_NAMES for axis in (3, -4, (0, 7)) if name not in ARG_OPS or axis != (0, 7)]


@pytest.mark.parametrize("name,axis", BAD_AXES, ids=str)
def test_axis_out_of_range_names_op_and_axis(name, axis):
    bad = axis[1] if isinstance(axis, tuple) else axis
    with pytest.raises(ValueError) as info:
        getattr(ops, name)(np.ones((2, 3, 4), "float32"), axis=axis)
    msg = str(info.value)
    assert msg.startswith(name + ":") and str(bad) in msg, msg


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if n not in ARG_OPS])
def test_repeated_axis_raises(name):
    with pytest.raises(ValueError, match=f"{name}: repeated axis"):
        getattr(ops, name)(np.ones((2, 3), "float32"), axis=(1, -1))


# ---- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_reduction_grad(name, axis, keepdims):
    fn = REDUCTIONS[name][0]
    x = _data(name, "float64", shape=(2, 3, 3), seed=3)  # continuous values: no ties for max/min
    check_grad(lambda t: fn(t, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
def test_prod_grad_with_zeros(axis):
    # row 0 has no zero, row 1 one zero, row 2 two zeros
    x = np.array([[1.5, -2.0, 0.5, 3.0], [2.0, 0.0, -1.5, 0.5], [0.0, 1.2, 0.0, 2.0]])
    check_grad(lambda t: ops.prod(t, axis=axis), x)
    t = lk.convert_to_tensor(x)
    with lk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.prod(t, axis=1))
    expected = [[-3.0, 2.25, -9.0, -1.5], [0, -1.5, 0, 0], [0, 0, 0, 0]]
    np.testing.assert_allclose(np.asarray(tape.gradient(y, t)), expected)


@pytest.mark.parametrize("name,axis,expected", [
    ("max", 1, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]),
    ("max", None, [[0, 0.5, 0.5], [0, 0, 0]]),
    ("min", 1, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]),
    ("min", 0, [[1, 0, 0], [0, 1, 1]]),
])
def test_extreme_grad_split_equally_among_ties(name, axis, expected):
    t = lk.convert_to_tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    with lk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(getattr(ops, name)(t, axis=axis))
    np.testing.assert_allclose(np.asarray(tape.gradient(y, t)), expected)


# ---- large arrays (the OpenMP path) ---------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
@pytest.mark.parametrize("name", ["sum", "max", "min", "mean", "prod"])
def test_large_reduction(name, axis):
    fn, ref, _ = REDUCTIONS[name]
    rng = np.random.default_rng(7)
    x = rng.uniform(0.999, 1.001, (300, 200)) if name == "prod" else rng.normal(size=(300, 200))
    check_op(fn, ref, x, axis=axis, symbolic=False, rtol=1e-10, atol=1e-10)
    shift = 0.0 if name == "prod" else 3.0  # a float32 sum without cancellation
    check_op(fn, _reference(ref, "float32"), (x + shift).astype("float32"), axis=axis, symbolic=False, rtol=1e-5)
    if name != "mean":
        xi = rng.integers(-3, 4, (300, 200)).astype("int32")
        check_op(fn, ref, np.clip(xi, 1, 1) if name == "prod" else xi, axis=axis, symbolic=False)


@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
def test_large_argmax(axis):
    x = np.random.default_rng(8).normal(size=(300, 200))
    check_op(ops.argmax, np.argmax, x, axis=axis, symbolic=False)
    check_op(ops.argmin, np.argmin, x, axis=axis, symbolic=False)
