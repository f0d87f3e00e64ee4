"""matmul, dot, tensordot and einsum against NumPy: values in float32/float64, shape rules,
errors, and gradients for every broadcasting pattern."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.testing import check_grad, check_op

RNG = np.random.default_rng(7)


def rand(*shape, dtype="float64"):
    return RNG.normal(size=shape).astype(dtype)


# float32 products of a few terms of size ~1: relative error ~1e-6 per term
TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-12, atol=1e-12)}

# ---- matmul -----------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((4,), (4,)),              # vector . vector -> scalar
    ((4,), (4, 3)),            # vector @ matrix
    ((3, 4), (4,)),            # matrix @ vector
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4, 5)),       # shared weight: one tall GEMM
    ((2, 2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),       # shared left operand
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (1, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast to (2, 5)
    ((2, 2, 3, 4), (2, 1, 4, 2)),
    ((3, 1, 2, 3), (1, 2, 3, 2)),
    ((0, 3, 4), (4, 5)),
    ((3, 0), (0, 2)),          # empty contraction: zeros
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_matches_numpy(sa, sb, dtype):
    out = check_op(ops.matmul, np.matmul, rand(*sa, dtype=dtype), rand(*sb, dtype=dtype), **TOL[dtype])
    assert out.dtype == dtype


@pytest.mark.parametrize("sa,sb", [s for s in MATMUL_SHAPES if 0 not in s[0] + s[1]])
def test_matmul_gradient(sa, sb):
    check_grad(ops.matmul, rand(*sa), rand(*sb))


def test_matmul_operator():
    a, b = rand(2, 3), rand(3, 2)
    np.testing.assert_allclose(np.asarray(lk.convert_to_tensor(a) @ lk.convert_to_tensor(b)), a @ b, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(a @ lk.convert_to_tensor(b)), a @ b, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_large(dtype):
    a, b = rand(300, 200, dtype=dtype), rand(200, 100, dtype=dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    out = np.asarray(ops.matmul(a, b))
    assert out.dtype == dtype
    # sums of 200 products of unit normals: |error| ~ sqrt(200) * eps * |terms|
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


def test_matmul_large_batched():
    a, b = rand(4, 64, 96, dtype="float32"), rand(96, 80, dtype="float32")
    np.testing.assert_allclose(np.asarray(ops.matmul(a, b)), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    c = rand(4, 96, 80, dtype="float32")
    np.testing.assert_allclose(np.asarray(ops.matmul(a, c)), a.astype(np.float64) @ c, rtol=1e-4, atol=1e-4)


def test_matmul_mixed_float_int_promotes():
    a, b = rand(2, 3, dtype="float32"), np.arange(6, dtype="int32").reshape(3, 2)
    out = ops.matmul(a, b)
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out), a @ b, rtol=1e-6)


@pytest.mark.parametrize("da,db", [("int32", "int32"), ("int64", "int64"), ("int32", "int64"), ("bool", "bool")])
def test_matmul_int_inputs_raise_type_error(da, db):
    a, b = np.ones((2, 2), da), np.ones((2, 2), db)
    with pytest.raises(TypeError, match="matmul"):
        ops.matmul(a, b)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((3,), (4, 2)), ((2, 3), (4,)),
                                   ((2, 2, 3), (2, 4, 5))])
def test_matmul_inner_dim_mismatch_names_both_shapes(sa, sb):
    with pytest.raises(ValueError) as e:
        ops.matmul(rand(*sa), rand(*sb))
    msg = str(e.value)
    assert "matmul" in msg
    for s in (sa, sb):
        assert str(s) in msg, f"{s} not named in: {msg}"
    with pytest.raises(ValueError):
        ops.matmul(lk.SymbolicTensor(sa), lk.SymbolicTensor(sb))


def test_matmul_batch_mismatch_raises():
    with pytest.raises(ValueError, match="matmul"):
        ops.matmul(rand(2, 3, 4), rand(3, 4, 5))
    with pytest.raises(ValueError, match="matmul"):
        ops.matmul(lk.SymbolicTensor((2, 3, 4)), lk.SymbolicTensor((3, 4, 5)))


def test_matmul_scalar_operand_raises():
    with pytest.raises(ValueError, match="1-D"):
        ops.matmul(np.float64(2.0), rand(2, 2))


@pytest.mark.parametrize("sa,sb,expected", [
    ((None, 3, 4), (4, 5), (None, 3, 5)),
    ((None, 4), (4, 5), (None, 5)),
    ((None, 2, 3, 4), (4, 5), (None, 2, 3, 5)),
    ((2, None, 4), (2, 4, 5), (2, None, 5)),
    ((None, 3, 4), (None, 4, 5), (None, 3, 5)),
])
def test_matmul_shape_rule_unknown_dims(sa, sb, expected):
    out = ops.matmul(lk.SymbolicTensor(sa), lk.SymbolicTensor(sb))
    assert out.shape == expected and out.dtype == "float32"


def test_matmul_second_operand_shared_weight_gradient_float32():
    # the shared-weight path (one tall GEMM for the weight gradient) in float32
    x, w = rand(3, 4, 5, dtype="float32"), rand(5, 2, dtype="float32")
    tx, tw = lk.convert_to_tensor(x), lk.convert_to_tensor(w)
    with lk.GradientTape() as tape:
        tape.watch([tx, tw])
        y = ops.sum(ops.matmul(tx, tw) ** 2)
    gx, gw = tape.gradient(y, [tx, tw])
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    z = x64 @ w64
    np.testing.assert_allclose(np.asarray(gx), 2 * z @ w64.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(gw), np.einsum("bmk,bmn->kn", x64, 2 * z), rtol=1e-4, atol=1e-4)
    assert gx.dtype == gw.dtype == "float32"


# ---- dot, tensordot ------------------------------------------------------------------------------------

DOT_SHAPES = [((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3, 4), (4,)),
              ((2, 3, 4), (4, 2)), ((2, 3, 4), (5, 4, 2)), ((3,), (2, 3, 4)), ((), (2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sa,sb", DOT_SHAPES)
def test_dot(sa, sb, dtype):
    check_op(ops.dot, np.dot, rand(*sa, dtype=dtype), rand(*sb, dtype=dtype), **TOL[dtype])


@pytest.mark.parametrize("sa,sb", [((2, 3), (3,)), ((2, 3, 2), (3, 2, 2)), ((), (2, 3)), ((3,), (2, 3, 2))])
def test_dot_gradient(sa, sb):
    check_grad(ops.dot, rand(*sa), rand(*sb))


TENSORDOTS = [
    ((2, 3, 4), (3, 4, 2), 2),
    ((2, 3, 4), (4, 2), 1),
    ((2, 3), (4, 2), 0),            # outer product
    ((2, 3, 4), (4, 3, 2), ([1, 2], [1, 0])),
    ((2, 3, 4), (4, 3, 2), ([2, 1], [0, 1])),
    ((2, 3, 4), (2, 5), (0, 0)),
    ((2, 3, 4), (3, 2), ([-2], [0])),
    ((3,), (3,), 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sa,sb,axes", TENSORDOTS)
def test_tensordot(sa, sb, axes, dtype):
    check_op(lambda a, b: ops.tensordot(a, b, axes=axes), lambda a, b: np.tensordot(a, b, axes=axes),
             rand(*sa, dtype=dtype), rand(*sb, dtype=dtype), **TOL[dtype])


@pytest.mark.parametrize("sa,sb,axes", [t for t in TENSORDOTS if np.prod(t[0]) * np.prod(t[1]) <= 600])
def test_tensordot_gradient(sa, sb, axes):
    check_grad(lambda a, b: ops.tensordot(a, b, axes=axes), rand(*sa), rand(*sb))


def test_tensordot_mismatch_raises():
    with pytest.raises(ValueError, match="tensordot"):
        ops.tensordot(rand(2, 3), rand(4, 2), axes=([1], [0]))


# ---- einsum ---------------------------------------------------------------------------------------------

EINSUMS = [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("bij,bjk->bik", (2, 2, 3), (2, 3, 2)),
    ("ij->ji", (2, 3)),
    ("ij->", (2, 3)),
    ("ij->j", (2, 3)),
    ("i,i->", (4,), (4,)),
    ("i,j->ij", (2,), (3,)),
    ("bhqd,bhkd->bhqk", (1, 2, 3, 2), (1, 2, 2, 2)),
    ("ij,kj->ik", (2, 3), (4, 3)),
    ("ij,jk", (2, 3), (3, 4)),           # implicit output: the letters used once, sorted
    ("ba,ac", (2, 3), (3, 2)),
    ("ij,jk->ki", (2, 3), (3, 4)),
    ("ij,ij->i", (2, 3), (2, 3)),
    ("bij,jk->bik", (2, 2, 3), (3, 2)),
    ("ijk->kij", (2, 3, 2)),
    ("ab,cd->", (2, 2), (2, 3)),          # letters summed away before the product
    ("ij,jk,kl->il", (2, 3), (3, 2), (2, 2)),
    ("i j , j k -> i k", (2, 3), (3, 2)),  # spaces are ignored
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", EINSUMS, ids=lambda c: c[0])
def test_einsum(case, dtype):
    subscripts, *shapes = case
    arrays = [rand(*s, dtype=dtype) for s in shapes]
    check_op(lambda *xs: ops.einsum(subscripts, *xs), lambda *xs: np.einsum(subscripts, *xs), *arrays,
             **TOL[dtype])


@pytest.mark.parametrize("case", EINSUMS, ids=lambda c: c[0])
def test_einsum_gradient(case):
    subscripts, *shapes = case
    check_grad(lambda *xs: ops.einsum(subscripts, *xs), *[rand(*s) for s in shapes])


@pytest.mark.parametrize("subscripts,shapes", [
    ("ii->i", [(3, 3)]),          # diagonal: not supported
    ("...ij,jk->ik", [(2, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 3)]),      # one operand short
    ("ijk,jk->ik", [(2, 3), (3, 2)]),  # rank mismatch
    ("ij->ik", [(2, 3)]),         # output letter not in the inputs
    ("ij->jj", [(2, 3)]),         # repeated output letter
])
def test_einsum_invalid_raises(subscripts, shapes):
    with pytest.raises(ValueError, match="einsum"):
        ops.einsum(subscripts, *[rand(*s) for s in shapes])


@pytest.mark.parametrize("subscripts,sa,sb,expected", [
    ("bhqd,bhkd->bhqk", (None, 2, 3, 4), (None, 2, 5, 4), (None, 2, 3, 5)),
    ("bij,jk->bik", (None, 3, 4), (4, 2), (None, 3, 2)),
    ("bi,bi->b", (None, 3), (None, 3), (None,)),
])
def test_einsum_shape_rule_unknown_batch(subscripts, sa, sb, expected):
    out = ops.einsum(subscripts, lk.SymbolicTensor(sa), lk.SymbolicTensor(sb))
    assert out.shape == expected


# ---- the matmul primitive (2-D/3-D operands, transposes folded into the GEMM) -----------------------------

RAW_CASES = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (1, 4, 5)),
    ((0, 3, 4), (4, 5)),       # empty batches stay empty
    ((3, 4), (0, 4, 5)),
    ((0, 3, 4), (1, 4, 5)),
    ((1, 3, 4), (0, 4, 5)),
    ((0, 3, 4), (0, 4, 5)),
]


def _t(a, flag):
    return np.swapaxes(a, -1, -2).copy() if flag else a


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("sa,sb", RAW_CASES)
def test_matmul_primitive(sa, sb, ta, tb):
    from layerkit.ops.linalg import matmul_raw

    a, b = rand(*sa), rand(*sb)
    out = matmul_raw(lk.convert_to_tensor(_t(a, ta)), lk.convert_to_tensor(_t(b, tb)), ta, tb)
    assert out.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(np.asarray(out), np.matmul(a, b), rtol=1e-12, atol=1e-12)
    spec = matmul_raw(lk.SymbolicTensor(_t(a, ta).shape, "float64"), lk.SymbolicTensor(_t(b, tb).shape, "float64"),
                      ta, tb)
    assert spec.shape == out.shape and spec.dtype == "float64"
    if 0 not in sa + sb:
        check_grad(lambda x, y: matmul_raw(x, y, ta, tb), _t(a, ta), _t(b, tb))


# GEMMs above ~2 MFLOP are split over the threads: along M when M >= N, else along N, in tiles of
# whole 16-row/column blocks (ragged last tile included), or along K when K is at least 4x the
# longer side of the result (partial products added by rows); batches that share out evenly run
# whole products per thread. Every path, with 1 and 2 threads, against float64 numpy.
PARALLEL_CASES = [
    ((301, 200), (200, 90)),      # rows split, ragged
    ((40, 200), (200, 333)),      # columns split, ragged
    ((4, 96, 130), (4, 130, 120)),  # even batch: one product per thread
    ((3, 96, 130), (3, 130, 120)),  # odd batch: each product split
    ((5, 64, 130), (130, 120)),    # batched A, shared B: one tall GEMM
    ((130, 64), (3, 64, 300)),     # shared A, batched B
    ((37, 1501), (1501, 61)),      # K split, odd K and ragged sides
    ((3, 40, 4001), (3, 4001, 9)),  # odd batch: each product split along K
]


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    n = lk.config.get_num_threads()
    lk.config.set_num_threads(request.param)
    yield request.param
    lk.config.set_num_threads(n)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("sa,sb", PARALLEL_CASES)
def test_parallel_gemm_tiles_cover_the_product_exactly(sa, sb, ta, tb, threads):
    from layerkit.ops.linalg import matmul_raw

    a, b = rand(*sa, dtype="float32"), rand(*sb, dtype="float32")
    out = np.asarray(matmul_raw(lk.convert_to_tensor(_t(a, ta)), lk.convert_to_tensor(_t(b, tb)), ta, tb))
    np.testing.assert_allclose(out, np.matmul(a.astype(np.float64), b), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m,n,k", [(301, 90, 200), (40, 333, 200), (45, 70, 2001)])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_parallel_linear_epilogue_applies_bias_and_activation_to_every_tile(m, n, k, activation, threads):
    from layerkit.backend import core
    from layerkit.graph.fusion import UNARY

    x, w, bias = rand(m, k, dtype="float32"), rand(k, n, dtype="float32"), rand(n, dtype="float32")
    got = core.linear(x, w, bias, False, UNARY[activation] - core.FUSED_UNARY_BASE)
    pre = x.astype(np.float64) @ w + bias
    expected = np.tanh(pre) if activation == "tanh" else np.maximum(pre, 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
