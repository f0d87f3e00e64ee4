"""Variable: construction, in-place assignment, dtype casting, attributes, and that nothing taken
from a variable (numpy copies, op results) changes when it is assigned later."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops

# ---- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("value,dtype,expected_dtype", [
    (np.array([1.0, 2.0], dtype=np.float64), None, "float64"),
    (np.array([1.0, 2.0], dtype=np.float32), None, "float32"),
    ([1.0, 2.0], None, "float32"),           # Python floats: floatx
    (3.0, None, "float32"),
    ([1, 2, 3], None, "int32"),
    ([1, 2, 3], "float64", "float64"),
    (np.ones((2, 2), dtype=np.float64), "float32", "float32"),
])
def test_construct_from_value(value, dtype, expected_dtype):
    v = lk.Variable(value, dtype=dtype)
    assert v.dtype == expected_dtype
    assert v.shape == np.shape(value)
    np.testing.assert_array_equal(np.asarray(v), np.asarray(value).astype(expected_dtype))


def test_construct_from_tensor_and_variable():
    t = lk.convert_to_tensor(np.array([1.0, 2.0]))
    v = lk.Variable(t)
    w = lk.Variable(v)
    w.assign([5.0, 6.0])
    np.testing.assert_array_equal(np.asarray(v), [1.0, 2.0])  # w owns its own buffer
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])


def test_construct_copies_the_initial_array():
    a = np.zeros(3)
    v = lk.Variable(a)
    a[:] = 7.0
    np.testing.assert_array_equal(np.asarray(v), np.zeros(3))
    v.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a, np.full(3, 7.0))


def test_construct_from_callable_initializer():
    seen = {}

    def init(shape, dtype):
        seen["args"] = (shape, dtype)
        return np.arange(np.prod(shape), dtype=dtype).reshape(shape)

    v = lk.Variable(init, shape=[2, 3], dtype="float64")
    assert seen["args"] == ((2, 3), "float64")
    assert v.shape == (2, 3) and v.dtype == "float64"
    np.testing.assert_array_equal(np.asarray(v), np.arange(6.0).reshape(2, 3))


def test_callable_initializer_default_dtype_is_floatx():
    v = lk.Variable(lambda shape, dtype: np.ones(shape, dtype), shape=(4,))
    assert v.dtype == "float32" and v.shape == (4,)


def test_callable_initializer_returning_a_tensor():
    v = lk.Variable(lambda shape, dtype: lk.ops.zeros(shape, dtype), shape=(2,), dtype="float64")
    np.testing.assert_array_equal(np.asarray(v), [0.0, 0.0])


def test_callable_initializer_needs_shape():
    with pytest.raises(ValueError, match="shape"):
        lk.Variable(lambda shape, dtype: np.ones(shape, dtype))


def test_initial_value_shape_mismatch_names_the_variable():
    with pytest.raises(ValueError, match="'kernel'"):
        lk.Variable(np.ones((2, 3)), shape=(3, 2), name="kernel")
    with pytest.raises(ValueError, match="kernel"):
        lk.Variable(lambda shape, dtype: np.ones((1,), dtype), shape=(3,), name="kernel")


def test_attributes():
    v = lk.Variable(np.zeros((2, 3)), trainable=False, name="bias")
    assert v.name == "bias" and v.path == "bias"
    assert v.trainable is False
    assert v.shape == (2, 3) and v.dtype == "float64" and v.ndim == 2 and v.size == 6
    assert isinstance(v, lk.Tensor)
    assert lk.Variable(1.0).trainable is True


def test_unnamed_variables_get_unique_names():
    names = {lk.Variable(0.0).name for _ in range(5)}
    assert len(names) == 5


# ---- assignment ----------------------------------------------------------------------------------


def test_assign_is_in_place():
    v = lk.Variable(np.zeros((2, 3)))
    buf = v._data
    out = v.assign(np.ones((2, 3)))
    assert out is v
    assert v._data is buf
    np.testing.assert_array_equal(np.asarray(v), np.ones((2, 3)))
    v.assign_add(np.full((2, 3), 2.0))
    assert v._data is buf
    np.testing.assert_array_equal(np.asarray(v), np.full((2, 3), 3.0))
    v.assign_sub(lk.convert_to_tensor(np.full((2, 3), 0.5)))
    assert v._data is buf
    np.testing.assert_array_equal(np.asarray(v), np.full((2, 3), 2.5))


def test_assign_accepts_tensors_variables_and_lists():
    v = lk.Variable(np.zeros(2))
    v.assign(lk.convert_to_tensor(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(np.asarray(v), [1.0, 2.0])
    v.assign(lk.Variable(np.array([3.0, 4.0])))
    np.testing.assert_array_equal(np.asarray(v), [3.0, 4.0])
    v.assign([5, 6])
    np.testing.assert_array_equal(np.asarray(v), [5.0, 6.0])


def test_assign_scalar_variable():
    v = lk.Variable(1.0)
    v.assign(4.0)
    v.assign_add(0.5)
    assert float(v) == 4.5


@pytest.mark.parametrize("method,shape", [(m, s) for m in ("assign", "assign_add", "assign_sub")
                                          for s in [(3, 2), (2,), (2, 3, 1)]] + [("assign", ())])
def test_assign_shape_mismatch_names_the_variable(method, shape):
    v = lk.Variable(np.zeros((2, 3)), name="kernel")
    with pytest.raises(ValueError) as e:
        getattr(v, method)(np.ones(shape))
    msg = str(e.value)
    assert "'kernel'" in msg and method in msg and "(2, 3)" in msg and str(shape) in msg
    np.testing.assert_array_equal(np.asarray(v), np.zeros((2, 3)))  # unchanged


@pytest.mark.parametrize("compiled", [False, True])
def test_assign_add_and_sub_broadcast_and_cast_the_result_as_keras_does(compiled):
    # Keras: assign_add(d) is assign(self + d): d broadcasts, and the result is cast (1 - 0.6 -> 0)
    v, n = lk.Variable(np.zeros((2, 3), "float32")), lk.Variable(np.array([1, 7], "int32"))

    def update():
        v.assign_add(1.5)
        v.assign_sub(np.array([0.5, 0.0, -1.0], "float32"))
        n.assign_add(np.array([-0.6, 0.6], "float32"))
    (lk.function(update) if compiled else update)()
    np.testing.assert_array_equal(v.numpy(), [[1.0, 1.5, 2.5]] * 2)
    np.testing.assert_array_equal(n.numpy(), [0, 7])


@pytest.mark.parametrize("var_dtype,value,expected", [
    ("float32", np.array([1.5, 2.25], dtype=np.float64), np.array([1.5, 2.25], dtype=np.float32)),
    ("float64", np.array([1, 2], dtype=np.int32), np.array([1.0, 2.0])),
    ("int32", [1.7, -2.7], np.array([1, -2], dtype=np.int32)),   # truncation toward zero
    ("int64", np.array([3.9, -0.5]), np.array([3, 0], dtype=np.int64)),
])
def test_assign_casts_to_the_variable_dtype(var_dtype, value, expected):
    v = lk.Variable(np.zeros(2), dtype=var_dtype)
    v.assign(value)
    assert v.dtype == var_dtype
    got = np.asarray(v)
    assert got.dtype == np.dtype(var_dtype)
    np.testing.assert_array_equal(got, expected)


def test_assign_add_casts_delta():
    v = lk.Variable(np.array([1, 2], dtype=np.int32))
    v.assign_add(np.array([0.9, 1.9]))
    assert v.dtype == "int32"
    np.testing.assert_array_equal(np.asarray(v), [1, 3])


# ---- values taken from a variable do not change when it is assigned ------------------------------------


def test_np_asarray_gives_a_copy():
    v = lk.Variable(np.array([1.0, 2.0]))
    a = np.asarray(v)
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(a, [1.0, 2.0])
    a[0] = 100.0  # and writing to the copy does not change the variable
    np.testing.assert_array_equal(np.asarray(v), [5.0, 6.0])


def test_numpy_and_value_are_snapshots():
    v = lk.Variable(np.array([1.0, 2.0]))
    n, val = v.numpy(), v.value
    assert type(val) is lk.Tensor
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(n, [1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(val), [1.0, 2.0])


def test_np_asarray_with_dtype():
    v = lk.Variable(np.array([1.5, 2.5]))
    np.testing.assert_array_equal(np.asarray(v, dtype=np.float32), np.array([1.5, 2.5], np.float32))


VIEWS = [
    ("reshape", lambda v: ops.reshape(v, (3, 2))),
    ("reshape_same", lambda v: ops.reshape(v, (2, 3))),
    ("ravel", ops.ravel),
    ("expand_dims", lambda v: ops.expand_dims(v, 0)),
    ("getitem_row", lambda v: v[1]),
    ("getitem_slice", lambda v: v[:, 1:]),
    ("getitem_scalar", lambda v: v[0, 0]),
    ("transpose", ops.transpose),
    ("stop_gradient", ops.stop_gradient),
    ("add_zero", lambda v: v + 0.0),
]


@pytest.mark.parametrize("name,fn", VIEWS, ids=[n for n, _ in VIEWS])
def test_op_results_taken_before_an_assign_keep_old_values(name, fn):
    init = np.arange(6.0).reshape(2, 3)
    v = lk.Variable(init)
    y = fn(v)
    before = np.array(y._data, copy=True)
    assert not np.shares_memory(y._data, v._data)
    v.assign(np.full((2, 3), -1.0))
    np.testing.assert_array_equal(np.asarray(y), before)
    v.assign_add(np.ones((2, 3)))
    np.testing.assert_array_equal(np.asarray(y), before)


def test_variable_in_ops_and_operators():
    v = lk.Variable(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(np.asarray(v * 2.0 + v), [3.0, 6.0])
    np.testing.assert_array_equal(np.asarray(ops.sum(v)), 3.0)
    assert type(v * 1.0) is lk.Tensor


def test_repr_names_the_variable():
    r = repr(lk.Variable(np.zeros(2), name="gamma"))
    assert "gamma" in r and "float64" in r
