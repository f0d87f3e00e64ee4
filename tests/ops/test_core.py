"""Conversion, memory sharing, DLPack, casts, Python operators, stop_gradient, symbolic tensors and
constant constructors."""
import itertools
import operator

import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.ops import SymbolicTensor, Tensor
from layerkit.testing import check_op

DTYPES = ("float32", "float64", "int32", "int64", "bool")


# ---- convert_to_tensor ----------------------------------------------------------------------------

CONVERSIONS = [
    # (value, expected dtype, expected shape)
    (1.5, "float32", ()),
    (3, "int32", ()),
    (True, "bool", ()),
    (2**40, "int64", ()),
    ([1.0, 2.0], "float32", (2,)),
    ([[1, 2], [3, 4]], "int32", (2, 2)),
    ([1, 2.5], "float32", (2,)),
    ([True, False], "bool", (2,)),
    ([], "float32", (0,)),
    (np.zeros((2, 3), "float64"), "float64", (2, 3)),
    (np.zeros(3, "float32"), "float32", (3,)),
    (np.zeros(3, "int64"), "int64", (3,)),
    (np.zeros(3, "int32"), "int32", (3,)),
    (np.zeros(3, "float16"), "float32", (3,)),
    (np.zeros(3, "int8"), "int32", (3,)),
    (np.zeros(3, "bool"), "bool", (3,)),
    (np.array(2.5), "float64", ()),
]


@pytest.mark.parametrize("value,dtype,shape", CONVERSIONS, ids=lambda v: type(v).__name__)
def test_convert_to_tensor_infers_dtype(value, dtype, shape):
    t = ops.convert_to_tensor(value)
    assert isinstance(t, Tensor)
    assert t.dtype == dtype and t.shape == shape
    np.testing.assert_array_equal(np.asarray(t), np.asarray(value).astype(dtype))
    assert np.asarray(t).flags.c_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
def test_convert_to_tensor_with_dtype(dtype):
    t = ops.convert_to_tensor([[0, 1.5], [-2, 3]], dtype=dtype)
    assert t.dtype == dtype
    np.testing.assert_array_equal(np.asarray(t), np.array([[0, 1.5], [-2, 3]]).astype(dtype))
    again = ops.convert_to_tensor(t, dtype="float64")  # a tensor is cast when the dtype differs
    assert again.dtype == "float64"
    assert ops.convert_to_tensor(t) is t
    assert ops.convert_to_tensor(t, dtype=dtype) is t


def test_convert_to_tensor_of_non_contiguous_array_is_contiguous():
    a = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = ops.convert_to_tensor(a)
    assert np.asarray(t).flags.c_contiguous
    np.testing.assert_array_equal(np.asarray(t), a)


@pytest.mark.parametrize("value", ["text", [1, "a"], {"a": 1}, np.zeros(2, "complex64")], ids=repr)
def test_convert_to_tensor_rejects_unsupported_values(value):
    with pytest.raises(TypeError):
        ops.convert_to_tensor(value)


def test_symbolic_tensor_passes_through_convert_to_tensor():
    s = SymbolicTensor((None, 3), "float32")
    assert ops.convert_to_tensor(s) is s


# ---- memory sharing and DLPack --------------------------------------------------------------------


def test_asarray_shares_memory_with_tensor():
    t = ops.add(np.ones((3, 4), "float32"), 1.0)
    a, b = np.asarray(t), np.asarray(t)
    assert np.shares_memory(a, b)
    assert np.shares_memory(a, t.numpy())
    assert not t.numpy().flags.writeable  # the view cannot change the tensor
    copy = np.array(t)  # an explicit copy does not share
    assert not np.shares_memory(copy, a)
    assert np.asarray(t, dtype="float64").dtype == np.float64


def test_tensor_from_numpy_array_shares_memory():
    a = np.arange(6, dtype="float32").reshape(2, 3)
    assert np.shares_memory(np.asarray(ops.convert_to_tensor(a)), a)


def test_dlpack_round_trip():
    t = ops.multiply(np.arange(6, dtype="float64").reshape(2, 3), 2.0)
    exported = np.from_dlpack(t)
    np.testing.assert_array_equal(exported, np.arange(6).reshape(2, 3) * 2.0)
    assert exported.dtype == np.float64
    assert np.shares_memory(exported, np.asarray(t))

    a = np.arange(5, dtype="int32")
    imported = lk.from_dlpack(a)
    assert isinstance(imported, Tensor) and imported.dtype == "int32" and imported.shape == (5,)
    assert np.shares_memory(np.asarray(imported), a)
    back = np.from_dlpack(lk.from_dlpack(np.from_dlpack(imported)))
    assert np.shares_memory(back, a)


def test_from_dlpack_of_a_strided_array_copies_to_contiguous():
    a = np.arange(12.0).reshape(3, 4).T
    t = lk.from_dlpack(a)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert np.asarray(t).flags.c_contiguous


# ---- cast -----------------------------------------------------------------------------------------

CAST_VALUES = np.array([-2.7, -1.0, -0.5, 0.0, 0.5, 1.0, 3.9, 7.0])


@pytest.mark.parametrize("src,dst", list(itertools.product(DTYPES, DTYPES)))
def test_cast_between_all_dtypes(src, dst):
    x = CAST_VALUES.astype(src)  # float -> int truncates toward zero, nonzero -> True
    out = check_op(lambda t: ops.cast(t, dst), lambda a: a.astype(dst), x)
    assert out.dtype == dst


def test_cast_accepts_numpy_and_python_dtypes():
    x = np.array([1.7, -1.7])
    assert ops.cast(x, np.int32).dtype == "int32"
    assert ops.cast(x, float).dtype == "float32"
    assert ops.cast(x, bool).dtype == "bool"
    assert ops.cast(x, "double").dtype == "float64"
    with pytest.raises(TypeError, match="dtype"):
        ops.cast(x, "complex64")


def test_cast_gradient_between_floats_and_none_to_ints():
    x = ops.convert_to_tensor(np.array([1.5, -2.0, 3.0]))
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ops.sum(ops.multiply(ops.cast(x, "float32"), 3.0))
        z = ops.sum(ops.cast(ops.cast(x, "int32"), "float64"))
    g = tape.gradient(y, x)
    assert g.dtype == "float64"
    np.testing.assert_array_equal(np.asarray(g), [3.0, 3.0, 3.0])
    assert tape.gradient(z, x) is None


# ---- Python operators -----------------------------------------------------------------------------

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])
B = np.array([[2.0, 0.5, -1.5], [1.0, 3.0, 2.0]])

BINARY_OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.eq, operator.ne,
                    operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", BINARY_OPERATORS, ids=lambda f: f.__name__)
def test_binary_operators(op):
    a, b = ops.convert_to_tensor(A), ops.convert_to_tensor(B)
    for out, expected in ((op(a, b), op(A, B)), (op(a, 2.0), op(A, 2.0)), (op(2.0, a), op(2.0, A)),
                          (op(A, b), op(A, B)), (op(a, B), op(A, B))):
        assert isinstance(out, Tensor)
        assert out.dtype == expected.dtype.name
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-15)


def test_power_matmul_unary_and_logical_operators():
    a, b = ops.convert_to_tensor(np.abs(A)), ops.convert_to_tensor(B)
    np.testing.assert_allclose(np.asarray(a ** 2), np.abs(A) ** 2)
    np.testing.assert_allclose(np.asarray(2.0 ** b), 2.0 ** B)
    np.testing.assert_allclose(np.asarray(a ** b), np.abs(A) ** B)
    np.testing.assert_allclose(np.asarray(a @ b.T), np.abs(A) @ B.T)
    np.testing.assert_allclose(np.asarray(np.abs(A) @ b.T), np.abs(A) @ B.T)
    np.testing.assert_array_equal(np.asarray(-b), -B)
    np.testing.assert_array_equal(np.asarray(+b), B)
    np.testing.assert_array_equal(np.asarray(abs(b)), np.abs(B))
    p, q = b > 0, b < 2
    np.testing.assert_array_equal(np.asarray(p & q), (B > 0) & (B < 2))
    np.testing.assert_array_equal(np.asarray(p | q), (B > 0) | (B < 2))
    np.testing.assert_array_equal(np.asarray(~p), ~(B > 0))


def test_int_tensor_operators_keep_int_dtype():
    a = ops.convert_to_tensor(np.array([1, -2, 3], "int32"))
    for out, expected in ((a + 1, [2, -1, 4]), (2 * a, [2, -4, 6]), (1 - a, [0, 3, -2]), (-a, [-1, 2, -3])):
        assert out.dtype == "int32"
        np.testing.assert_array_equal(np.asarray(out), expected)
    assert (a / 2).dtype == "float32"
    assert (a + 0.5).dtype == "float32"


INDEX_KEYS = [0, -1, (1, 2), (slice(None), 1), (Ellipsis, -1), (None, 0), (slice(1, None), slice(None, None, -1)),
              (0, slice(0, 3, 2)), [1, 0, 1]]


@pytest.mark.parametrize("key", INDEX_KEYS, ids=repr)
def test_indexing(key):
    x = np.arange(12.0).reshape(3, 4)
    out = ops.convert_to_tensor(x)[key]
    expected = x[key]
    assert isinstance(out, Tensor) and out.shape == np.shape(expected)
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_tensor_protocols():
    t = ops.convert_to_tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert len(t) == 2 and t.ndim == 2 and t.size == 4
    assert [float(r[1]) for r in t] == [2.0, 4.0]
    assert float(t[1, 0]) == 3.0 and int(ops.convert_to_tensor(7)) == 7
    assert {t: 1}[t] == 1  # hashable though == is elementwise
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    assert bool(t[0, 0] == 1.0)
    assert t.astype("int32").dtype == "int32"
    assert t.reshape(4).shape == (4,) and t.reshape(1, 4).shape == (1, 4)
    np.testing.assert_array_equal(np.asarray(t.T), [[1.0, 3.0], [2.0, 4.0]])


def test_operators_on_symbolic_tensors_build_symbolic_tensors():
    s = SymbolicTensor((None, 3), "float32")
    for out, dtype in ((s + 1, "float32"), (s * s, "float32"), (s > 0, "bool"), (-s, "float32"), (s ** 2, "float32")):
        assert isinstance(out, SymbolicTensor) and out.shape == (None, 3) and out.dtype == dtype
    assert (s @ SymbolicTensor((3, 5))).shape == (None, 5)
    assert s[0].shape == (3,)


# ---- stop_gradient --------------------------------------------------------------------------------


def test_stop_gradient_blocks_gradients():
    x = ops.convert_to_tensor(np.array([1.0, -2.0, 3.0]))
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        stopped = ops.stop_gradient(x)
        y = ops.sum(ops.multiply(stopped, x))  # d/dx = stopped, not 2x
        z = ops.sum(ops.square(stopped))
    np.testing.assert_array_equal(np.asarray(stopped), np.asarray(x))
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x)), [1.0, -2.0, 3.0])
    assert tape.gradient(z, x) is None
    np.testing.assert_array_equal(np.asarray(tape.gradient(z, x, unconnected_gradients="zero")), [0.0, 0.0, 0.0])


def test_stop_gradient_of_variable_does_not_follow_assign():
    v = lk.Variable(np.array([1.0, 2.0]))
    s = ops.stop_gradient(v)
    v.assign(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(np.asarray(s), [1.0, 2.0])


# ---- symbolic tensors -----------------------------------------------------------------------------


def test_symbolic_tensor_cannot_become_numpy():
    s = SymbolicTensor((2, 3), "float32")
    with pytest.raises(TypeError, match="symbolic tensor.*no data"):
        np.asarray(s)
    with pytest.raises(TypeError, match="symbolic tensor"):
        np.array(s)
    with pytest.raises(TypeError, match="symbolic tensor"):
        bool(s)


# ---- constants ------------------------------------------------------------------------------------

CONSTANTS = [
    (lambda: ops.zeros((2, 3)), np.zeros((2, 3), "float32")),
    (lambda: ops.zeros(4, dtype="int32"), np.zeros(4, "int32")),
    (lambda: ops.ones((3,)), np.ones(3, "float32")),
    (lambda: ops.ones((2, 2), "bool"), np.ones((2, 2), "bool")),
    (lambda: ops.full((2, 2), 7), np.full((2, 2), 7, "float32")),
    (lambda: ops.full((3,), 2, dtype="int64"), np.full(3, 2, "int64")),
    (lambda: ops.zeros_like(np.ones((2, 3), "int64")), np.zeros((2, 3), "int64")),
    (lambda: ops.ones_like(np.ones(2, "float64")), np.ones(2, "float64")),
    (lambda: ops.full_like(np.ones(3, "int32"), 5), np.full(3, 5, "int32")),
    (lambda: ops.full_like(np.ones(3, "int32"), 5, dtype="float32"), np.full(3, 5, "float32")),
    (lambda: ops.arange(5), np.arange(5, dtype="int32")),
    (lambda: ops.arange(1, 8, 3), np.array([1, 4, 7], "int32")),
    (lambda: ops.arange(5, 0, -2), np.array([5, 3, 1], "int32")),
    (lambda: ops.arange(0, 1, 0.25), np.array([0, 0.25, 0.5, 0.75], "float32")),
    (lambda: ops.arange(3, dtype="float64"), np.arange(3, dtype="float64")),
    (lambda: ops.eye(3), np.eye(3, dtype="float32")),
    (lambda: ops.eye(2, 4, k=1, dtype="int32"), np.eye(2, 4, 1, dtype="int32")),
    (lambda: ops.linspace(0, 1, 5), np.linspace(0, 1, 5, dtype="float32")),
    (lambda: ops.linspace(-1, 1, 4, endpoint=False, dtype="float64"), np.array([-1, -0.5, 0, 0.5])),
]


@pytest.mark.parametrize("make,expected", CONSTANTS, ids=[str(i) for i in range(len(CONSTANTS))])
def test_constant_constructors(make, expected):
    out = make()
    assert isinstance(out, Tensor)
    assert out.dtype == expected.dtype.name and out.shape == expected.shape
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_shape_helpers():
    x = np.zeros((2, 3, 4))
    assert ops.shape(x) == (2, 3, 4) and ops.ndim(x) == 3 and ops.size(x) == 24
    assert ops.broadcast_shapes("add", (3, 1, 4), (2, 1)) == (3, 2, 4)
    assert ops.broadcast_shapes("add", (None, 1), (4,)) == (None, 4)
    with pytest.raises(ValueError, match="add"):
        ops.broadcast_shapes("add", (2, 3), (4,))
