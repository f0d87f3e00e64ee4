"""Layout ops (reshape, transpose, broadcast, slicing, joins, padding, gathers) against NumPy:
values, the shape rule (check_op's symbolic path) and gradients."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.testing import check_grad, check_op

RNG = np.random.default_rng(1234)


def rand(*shape, dtype="float64"):
    if np.dtype(dtype).kind == "i":
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.normal(size=shape).astype(dtype)


# Pure data movement: every dtype must come through bit-exact.
DTYPES = ["float32", "float64", "int32"]

# ---- reshape, expand_dims, squeeze ---------------------------------------------------------------

RESHAPES = [
    ((2, 3, 4), (24,)),
    ((2, 3, 4), (4, -1)),
    ((2, 3, 4), (-1,)),
    ((2, 3, 4), (2, -1, 2)),
    ((6,), (1, 6, 1)),
    ((1,), ()),
    ((), (1, 1)),
    ((0, 3), (3, 0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,newshape", RESHAPES)
def test_reshape_matches_numpy(shape, newshape, dtype):
    check_op(lambda x: ops.reshape(x, newshape), lambda x: np.reshape(x, newshape), rand(*shape, dtype=dtype))


def test_reshape_method_and_int_newshape():
    x = rand(2, 3)
    np.testing.assert_array_equal(np.asarray(lk.convert_to_tensor(x).reshape(3, 2)), x.reshape(3, 2))
    np.testing.assert_array_equal(np.asarray(lk.convert_to_tensor(x).reshape((6,))), x.reshape(6))
    np.testing.assert_array_equal(np.asarray(ops.reshape(x, 6)), x.reshape(6))


@pytest.mark.parametrize("newshape,fragments", [
    ((5, 5), ["(2, 3, 4)", "24", "(5, 5)", "25"]),
    ((5, -1), ["(2, 3, 4)", "24", "(5, -1)"]),
    ((-1, -1), ["-1"]),
    ((-2, 12), ["-2"]),
])
def test_reshape_errors_name_sizes(newshape, fragments):
    x = lk.convert_to_tensor(rand(2, 3, 4))
    with pytest.raises(ValueError) as e:
        ops.reshape(x, newshape)
    for f in fragments:
        assert f in str(e.value)
    with pytest.raises(ValueError):  # the shape rule rejects it too
        ops.reshape(lk.SymbolicTensor((2, 3, 4)), newshape)


@pytest.mark.parametrize("shape,axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3),
                                         ((2, 3), (0, 3)), ((), 0), ((4,), (-1, 0))])
def test_expand_dims(shape, axis):
    check_op(lambda x: ops.expand_dims(x, axis), lambda x: np.expand_dims(x, axis), rand(*shape))


def test_expand_dims_out_of_range():
    with pytest.raises(ValueError):
        ops.expand_dims(rand(2, 3), 3)


@pytest.mark.parametrize("shape,axis", [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1), ((1, 3, 1), (0, 2)),
                                         ((1, 1), None), ((3,), None)])
def test_squeeze(shape, axis):
    check_op(lambda x: ops.squeeze(x, axis), lambda x: np.squeeze(x, axis), rand(*shape))


def test_squeeze_non_unit_axis_raises():
    with pytest.raises(ValueError, match=r"axis 1 .*\(1, 3, 1\).*3"):
        ops.squeeze(rand(1, 3, 1), 1)


@pytest.mark.parametrize("fn,shape", [
    (lambda x: ops.reshape(x, (3, 4)), (2, 6)),
    (lambda x: ops.reshape(x, (-1,)), (2, 3, 2)),
    (lambda x: ops.expand_dims(x, 1), (2, 3)),
    (lambda x: ops.squeeze(x, 1), (3, 1, 2)),
    (lambda x: ops.ravel(x), (2, 3)),
])
def test_reshape_family_gradients(fn, shape):
    check_grad(fn, rand(*shape))


# ---- transpose, moveaxis, swapaxes ------------------------------------------------------------------

TRANSPOSES = [
    ((3, 4), None),
    ((2, 3, 4), None),
    ((2, 3, 4), (1, 0, 2)),
    ((2, 3, 4), (2, 0, 1)),
    ((2, 3, 4), (-1, 0, 1)),
    ((2, 3, 4, 5), (0, 2, 3, 1)),
    ((2, 3, 4, 5), (3, 1, 0, 2)),
    ((2, 3, 4, 5), None),
    ((1, 3), None),
    ((3,), None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axes", TRANSPOSES)
def test_transpose(shape, axes, dtype):
    check_op(lambda x: ops.transpose(x, axes), lambda x: np.transpose(x, axes), rand(*shape, dtype=dtype))


def test_transpose_property():
    x = rand(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(lk.convert_to_tensor(x).T), x.T)


@pytest.mark.parametrize("axes", [(0, 1), (0, 0, 1), (0, 1, 2, 3), (0, 3, 1)])
def test_transpose_invalid_axes(axes):
    with pytest.raises(ValueError):
        ops.transpose(rand(2, 3, 4), axes)


@pytest.mark.parametrize("shape,axes", [((2, 3, 4), (2, 0, 1)), ((2, 1, 3, 2), (0, 3, 1, 2)), ((3, 4), None)])
def test_transpose_gradient(shape, axes):
    check_grad(lambda x: ops.transpose(x, axes), rand(*shape))


@pytest.mark.parametrize("src,dst", [(0, 2), (2, 0), (-1, 1), (1, -1), (3, 0), ((0, 1), (2, 3)), ((0, 1), (-1, 0)),
                                     ([3, 0], [0, 3]), ((2,), (0,)), ((0, 2, 3), (3, 0, 1)), ((0, 1), (2, 0)),
                                     ((3, 1), (1, 0))])
def test_moveaxis(src, dst):
    check_op(lambda x: ops.moveaxis(x, src, dst), lambda x: np.moveaxis(x, src, dst), rand(2, 3, 4, 5))


@pytest.mark.parametrize("src,dst", [((0, 0), (1, 2)), ((0, 1), (1,)), ((0, 1), (2, 2)), (4, 0), (0, -5)])
def test_moveaxis_invalid(src, dst):
    with pytest.raises(ValueError, match="moveaxis"):
        ops.moveaxis(rand(2, 3, 4, 5), src, dst)


@pytest.mark.parametrize("a,b", [(0, 1), (0, 2), (-1, 0), (1, 1)])
def test_swapaxes(a, b):
    check_op(lambda x: ops.swapaxes(x, a, b), lambda x: np.swapaxes(x, a, b), rand(2, 3, 4))


def test_moveaxis_swapaxes_gradients():
    check_grad(lambda x: ops.moveaxis(x, 0, -1), rand(2, 3, 4))
    check_grad(lambda x: ops.moveaxis(x, (0, 1), (2, 0)), rand(2, 3, 4))
    check_grad(lambda x: ops.swapaxes(x, 0, 2), rand(2, 3, 4))


# ---- broadcast_to ----------------------------------------------------------------------------------

BROADCASTS = [((3,), (2, 3)), ((1,), (4,)), ((2, 1), (2, 5)), ((1, 3, 1), (4, 3, 2)), ((), (2, 3)),
              ((2, 3), (2, 3)), ((1, 1), (2, 1, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,target", BROADCASTS)
def test_broadcast_to(shape, target, dtype):
    check_op(lambda x: ops.broadcast_to(x, target), lambda x: np.broadcast_to(x, target), rand(*shape, dtype=dtype))


@pytest.mark.parametrize("shape,target", [((2, 3), (3,)), ((2, 3), (2, 4)), ((3,), (3, 2))])
def test_broadcast_to_incompatible(shape, target):
    with pytest.raises(ValueError, match="broadcast_to"):
        ops.broadcast_to(rand(*shape), target)


@pytest.mark.parametrize("shape,target", [((3,), (2, 3)), ((2, 1), (2, 4)), ((1, 3, 1), (2, 3, 2)), ((), (3,))])
def test_broadcast_to_gradient_sums(shape, target):
    check_grad(lambda x: ops.broadcast_to(x, target), rand(*shape))


# ---- concatenate, stack, split ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes,axis", [
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 2)], 1),
    ([(2, 3), (2, 2)], -1),
    ([(2, 3, 1), (2, 3, 2)], -1),
    ([(1, 3, 2), (1, 3, 2)], 1),
    ([(0, 3), (2, 3)], 0),
    ([(3,)], 0),
])
def test_concatenate(shapes, axis, dtype):
    arrays = [rand(*s, dtype=dtype) for s in shapes]
    check_op(lambda *xs: ops.concatenate(list(xs), axis=axis),
             lambda *xs: np.concatenate(xs, axis=axis), *arrays)


@pytest.mark.parametrize("d1,d2,expected", [
    ("int32", "float32", "float32"),
    ("float32", "float64", "float64"),
    ("int32", "int64", "int64"),
    ("float64", "int32", "float64"),
])
def test_concatenate_mixed_dtypes_promote(d1, d2, expected):
    a, b = rand(2, 2, dtype=d1), rand(1, 2, dtype=d2)
    out = ops.concatenate([a, b], axis=0)
    assert out.dtype == expected
    np.testing.assert_array_equal(np.asarray(out), np.concatenate([a, b]).astype(expected))
    spec = ops.concatenate([lk.SymbolicTensor(a.shape, d1), lk.SymbolicTensor(b.shape, d2)], axis=0)
    assert spec.dtype == expected and spec.shape == (3, 2)


def test_concatenate_errors():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        ops.concatenate([rand(2, 3), rand(2, 4)], axis=0)
    with pytest.raises(ValueError):
        ops.concatenate([rand(2, 3), rand(2, 3, 1)], axis=0)
    with pytest.raises(ValueError):
        ops.concatenate([], axis=0)
    with pytest.raises(ValueError):
        ops.concatenate([rand(2, 3), rand(2, 3)], axis=2)


def test_concatenate_gradient():
    check_grad(lambda a, b, c: ops.concatenate([a, b, c], axis=1), rand(2, 1), rand(2, 3), rand(2, 2))
    check_grad(lambda a, b: ops.concatenate([a, b], axis=0), rand(1, 3), rand(2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,n,axis", [((2, 3), 2, 0), ((2, 3), 3, 1), ((2, 3), 2, 2), ((2, 3), 2, -1),
                                          ((), 3, 0), ((4,), 1, 0)])
def test_stack(shape, n, axis, dtype):
    arrays = [rand(*shape, dtype=dtype) for _ in range(n)]
    check_op(lambda *xs: ops.stack(list(xs), axis=axis), lambda *xs: np.stack(xs, axis=axis), *arrays)


def test_stack_errors_and_gradient():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        ops.stack([rand(2, 3), rand(3, 2)])
    with pytest.raises(ValueError):
        ops.stack([])
    check_grad(lambda a, b: ops.stack([a, b], axis=1), rand(2, 3), rand(2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,sections,axis", [
    ((6, 2), 3, 0),
    ((2, 6), 2, 1),
    ((2, 6), 1, -1),
    ((2, 6), [1, 4], 1),
    ((2, 6), [2], -1),
    ((5, 2), [0, 2, 2, 5], 0),
    ((5, 2), [3, 1], 0),  # decreasing indices give an empty middle piece, as numpy
])
def test_split(shape, sections, axis, dtype):
    check_op(lambda x: ops.split(x, sections, axis=axis), lambda x: np.split(x, sections, axis=axis),
             rand(*shape, dtype=dtype))
    assert len(ops.split(rand(*shape), sections, axis=axis)) == len(np.split(rand(*shape), sections, axis=axis))


@pytest.mark.parametrize("sections", [4, 0, -2])
def test_split_unequal_sections_raise(sections):
    with pytest.raises(ValueError, match="split"):
        ops.split(rand(2, 6), sections, axis=1)


def test_split_gradient():
    # pieces reassembled in another order, and a piece that is dropped (its gradient is zero)
    check_grad(lambda x: ops.concatenate(ops.split(x, [1, 3], axis=1)[::-1], axis=1), rand(2, 5))
    check_grad(lambda x: ops.split(x, 3, axis=0)[1], rand(6, 2))


# ---- tile, repeat, pad ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,reps", [((2, 3), (2, 1)), ((2, 3), (1, 3)), ((2, 3), 2), ((2, 3), (2, 1, 2)),
                                         ((3,), (2, 2)), ((2, 1, 2), (1, 3, 1)), ((2, 3), (0, 1)), ((), 3)])
def test_tile(shape, reps, dtype):
    check_op(lambda x: ops.tile(x, reps), lambda x: np.tile(x, reps), rand(*shape, dtype=dtype))


@pytest.mark.parametrize("shape,reps", [((2, 3), (2, 2)), ((3,), (2, 2)), ((2, 1, 2), (1, 3, 1))])
def test_tile_gradient(shape, reps):
    check_grad(lambda x: ops.tile(x, reps), rand(*shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,repeats,axis", [
    ((2, 3), 2, 0),
    ((2, 3), 3, 1),
    ((2, 3), 2, -1),
    ((2, 3), 2, None),
    ((2, 3), [1, 3], 0),
    ((2, 3), [0, 2, 1], 1),
    ((2, 3), [1, 0, 2, 1, 1, 3], None),
    ((2, 3, 2), [2, 1], -1),
    ((4,), 0, 0),
])
def test_repeat(shape, repeats, axis, dtype):
    check_op(lambda x: ops.repeat(x, repeats, axis=axis), lambda x: np.repeat(x, repeats, axis=axis),
             rand(*shape, dtype=dtype))


@pytest.mark.parametrize("repeats,axis", [(2, 0), (2, 1), (2, None), ([2, 0, 3], 1), ([1, 2, 0, 0, 3, 1], None)])
def test_repeat_gradient(repeats, axis):
    check_grad(lambda x: ops.repeat(x, repeats, axis=axis), rand(2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,pad_width", [
    ((2, 3), 1),
    ((2, 3), 0),
    ((2, 3), (1, 2)),
    ((2, 3), [(0, 1), (2, 0)]),
    ((2, 3, 2), [(1, 1), (0, 0), (2, 1)]),
    ((3,), [(2, 0)]),
    ((2, 3), ((1, 0),)),
])
def test_pad(shape, pad_width, dtype):
    x = rand(*shape, dtype=dtype)
    check_op(lambda a: ops.pad(a, pad_width), lambda a: np.pad(a, pad_width), x)
    check_op(lambda a: ops.pad(a, pad_width, constant_values=7),
             lambda a: np.pad(a, pad_width, constant_values=7), x)


def test_pad_errors():
    with pytest.raises(ValueError, match="mode"):
        ops.pad(rand(2, 3), 1, mode="reflect")
    with pytest.raises(ValueError):
        ops.pad(rand(2, 3), -1)
    with pytest.raises(ValueError):
        ops.pad(rand(2, 3), [(1, 1), (1, 1), (1, 1)])


@pytest.mark.parametrize("pad_width", [1, (2, 0), [(0, 1), (2, 1)]])
def test_pad_gradient(pad_width):
    check_grad(lambda x: ops.pad(x, pad_width, constant_values=3.0), rand(2, 3))


# ---- take, take_along_axis ----------------------------------------------------------------------------

TAKES = [
    ((3, 4), [2, 0, -1], None),
    ((3, 4), [[0, 11], [-12, 5]], None),
    ((3, 4), [2, 0, 2], 0),
    ((3, 4), [-1, -3], 0),
    ((3, 4), [3, 1], 1),
    ((3, 4), [[0, -1], [2, 2]], 1),
    ((2, 3, 4), [1, -1, 0], -1),
    ((2, 3, 4), [[2], [0]], 1),
    ((2, 3, 4), 1, 1),
    ((2, 3, 4), [], 0),
]


@pytest.mark.parametrize("idx_dtype", ["int32", "int64"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,indices,axis", TAKES)
def test_take(shape, indices, axis, dtype, idx_dtype):
    check_op(lambda x, i: ops.take(x, i, axis=axis), lambda x, i: np.take(x, i, axis=axis),
             rand(*shape, dtype=dtype), np.array(indices, dtype=idx_dtype))


@pytest.mark.parametrize("indices,axis", [([3], 0), ([-4], 0), ([0, 4], 1), ([12], None), ([-13], None)])
def test_take_out_of_range_raises(indices, axis):
    with pytest.raises(ValueError, match="out of bounds"):
        ops.take(rand(3, 4), np.array(indices), axis=axis)


def test_take_rejects_float_indices():
    with pytest.raises(TypeError):
        ops.take(rand(3, 4), np.array([0.0, 1.0]), axis=0)


@pytest.mark.parametrize("indices,axis", [
    ([0, 0, 2, 0], 1),       # overlapping indices: the gradients of the copies add up
    ([[1, 1], [-1, 0]], 0),
    ([5, 5, -1, 0, 5], None),
    ([2, -2], -1),
])
def test_take_gradient_scatter_adds(indices, axis):
    check_grad(lambda x: ops.take(x, np.array(indices), axis=axis), rand(3, 4))


def test_take_gradient_counts_duplicates():
    x = lk.convert_to_tensor(np.zeros(4))
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.take(x, np.array([1, 1, 1, 3, -1])))
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x)), [0.0, 3.0, 0.0, 2.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,indices,axis", [
    ((3, 4), [[0, 1, 2, 0]], 0),
    ((3, 4), [[3], [0], [-1]], 1),
    ((3, 4), [[0, 0, 3], [1, 2, 2], [3, 3, 3]], -1),
    ((2, 3, 4), [[[0, 1, 2, 0]], [[2, 2, 1, 1]]], 1),
    ((2, 3, 4), [[[0, -1]]], 2),         # indices broadcast against x's other axes
    ((3, 4), [11, 0, 5, 5], None),
])
def test_take_along_axis(shape, indices, axis, dtype):
    check_op(lambda x, i: ops.take_along_axis(x, i, axis=axis),
             lambda x, i: np.take_along_axis(x, i, axis=axis), rand(*shape, dtype=dtype), np.array(indices))


def test_take_along_axis_errors():
    with pytest.raises(ValueError, match="rank"):
        ops.take_along_axis(rand(3, 4), np.array([0, 1]), axis=1)
    with pytest.raises(ValueError, match="out of bounds"):
        ops.take_along_axis(rand(3, 4), np.array([[4]]), axis=1)


@pytest.mark.parametrize("shape,indices,axis", [
    ((3, 4), [[0, 0, 3], [1, 2, 2], [3, 3, 3]], 1),
    ((3, 4), [[0, 1, 2, 0], [2, 2, 2, 2]], 0),
    ((2, 3, 2), [[[0, -1]]], 2),
])
def test_take_along_axis_gradient(shape, indices, axis):
    check_grad(lambda x: ops.take_along_axis(x, np.array(indices), axis=axis), rand(*shape))


# ---- getitem ---------------------------------------------------------------------------------------

KEYS = [
    1,
    -1,
    (0, 2),
    (-1, -2, -3),
    slice(1, None),
    slice(None, None, 2),
    slice(None, None, -1),
    (slice(None), slice(3, 0, -2)),
    (slice(-1, None, -2), 1, slice(None, None, -1)),
    (slice(5, 10),),
    None,
    (None, 0, None),
    Ellipsis,
    (Ellipsis, 1),
    (0, Ellipsis, None),
    (slice(None), None, Ellipsis, slice(1, 3)),
    (Ellipsis, None),
    (),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_basic(key, dtype):
    check_op(lambda x: x[key], lambda x: x[key], rand(3, 4, 5, dtype=dtype))


@pytest.mark.parametrize("key", [[2, 0, 2], np.array([[1, -1], [0, 0]]), np.array([-3], dtype="int32")],
                         ids=["list", "array2d", "int32"])
def test_getitem_int_arrays_take_first_axis(key):
    x = rand(3, 4)
    np.testing.assert_array_equal(np.asarray(lk.convert_to_tensor(x)[key]), x[np.asarray(key)])
    np.testing.assert_array_equal(np.asarray(ops.getitem(x, lk.convert_to_tensor(np.asarray(key)))),
                                  x[np.asarray(key)])


@pytest.mark.parametrize("key", [np.array([True, False, True]), [True, False, True],
                                 lk.convert_to_tensor(np.array([True, False, True]))],
                         ids=["ndarray", "list", "tensor"])
def test_getitem_bool_mask_raises_type_error(key):
    with pytest.raises(TypeError, match="boolean"):
        ops.getitem(rand(3, 4), key)


@pytest.mark.parametrize("key", [3, (0, 4), -4, (0, 0, 0)])
def test_getitem_out_of_range_or_too_many(key):
    with pytest.raises(IndexError):
        ops.getitem(rand(3, 4), key)


@pytest.mark.parametrize("key", [1.5, "a", (0, [1, 2])])
def test_getitem_unsupported_key(key):
    with pytest.raises(TypeError):
        ops.getitem(rand(3, 4), key)


@pytest.mark.parametrize("key", [
    1, (1, 2), (-1, -1), slice(None, None, -1), (slice(None), slice(3, 0, -2)), (None, Ellipsis, 0),
    (slice(0, 2), None, slice(1, None, 2)), [2, 0, 2],
], ids=repr)
def test_getitem_gradient(key):
    check_grad(lambda x: x[key], rand(3, 4))


def test_getitem_scalar_result_is_0d_tensor():
    out = lk.convert_to_tensor(rand(3, 4))[1, 2]
    assert out.shape == () and isinstance(np.asarray(out), np.ndarray)
    assert out._data.__class__ is np.ndarray  # a numpy scalar would not be a buffer kernels can write


# ---- shape rules with unknown dimensions ------------------------------------------------------------------

SYMBOLIC = [
    (lambda x: ops.reshape(x, (-1, 12)), (None, 3, 4), (None, 12)),
    (lambda x: ops.transpose(x, (2, 0, 1)), (None, 3, 4), (4, None, 3)),
    (lambda x: ops.expand_dims(x, -1), (None, 3, 4), (None, 3, 4, 1)),
    (lambda x: ops.squeeze(x, 1), (None, 1, 4), (None, 4)),
    (lambda x: ops.concatenate([x, x], axis=1), (None, 3, 4), (None, 6, 4)),
    (lambda x: ops.concatenate([x, x], axis=0), (None, 3, 4), (None, 3, 4)),
    (lambda x: ops.stack([x, x], axis=1), (None, 3, 4), (None, 2, 3, 4)),
    (lambda x: ops.split(x, [1], axis=1)[1], (None, 3, 4), (None, 2, 4)),
    (lambda x: x[:, 1:, None, ::-2], (None, 3, 4), (None, 2, 1, 2)),
    (lambda x: x[-1], (None, 3, 4), (3, 4)),
    (lambda x: ops.pad(x, 1), (None, 3, 4), (None, 5, 6)),
    (lambda x: ops.take(x, lk.SymbolicTensor((5,), "int32"), axis=2), (None, 3, 4), (None, 3, 5)),
    (lambda x: ops.take_along_axis(x, lk.SymbolicTensor((None, 1, 4), "int32"), axis=1), (None, 3, 4),
     (None, 1, 4)),
]


@pytest.mark.parametrize("fn,shape,expected", SYMBOLIC)
def test_shape_rules_with_unknown_dims(fn, shape, expected):
    out = fn(lk.SymbolicTensor(shape, "float32"))
    assert isinstance(out, lk.SymbolicTensor)
    assert out.shape == expected and out.dtype == "float32"


# ---- variables: results never alias the variable's buffer ------------------------------------------------

VARIABLE_VIEWS = [
    lambda v: ops.reshape(v, (3, 1)),
    lambda v: ops.reshape(v, (1, 3)),        # no-op reshape
    lambda v: ops.transpose(v),              # size-1 axes moved: numpy's view is contiguous
    lambda v: ops.transpose(v, (0, 1)),
    lambda v: ops.moveaxis(v, 0, 1),
    lambda v: ops.expand_dims(v, 0),
    lambda v: ops.squeeze(v),
    lambda v: ops.broadcast_to(v, (1, 3)),
    lambda v: ops.concatenate([v]),
    lambda v: ops.tile(v, 1),
    lambda v: v[0],
    lambda v: v[:],
    lambda v: v[0, 1],
]


@pytest.mark.parametrize("fn", VARIABLE_VIEWS)
def test_layout_results_of_a_variable_survive_assign(fn):
    v = lk.Variable(np.array([[1.0, 2.0, 3.0]]))
    with lk.GradientTape() as tape:
        y = fn(v)
        loss = ops.sum(y)
    assert tape.gradient(loss, v) is not None  # still connected to the variable
    assert not isinstance(y, lk.Variable)
    before = np.array(np.asarray(y))
    v.assign(np.zeros((1, 3)))
    np.testing.assert_array_equal(np.asarray(y), before)
