"""Convolution and pooling ops against independent NumPy loops, their shape rules, float64
gradients, graph mode with unknown sizes, and (where importable) jax.lax and keras.ops.

A new case is one line in CONV_CASES, TRANSPOSE_CASES or POOL_CASES.
"""
import numpy as np
import pytest

from layerkit import ops
from layerkit.backend import core
from layerkit.autodiff import GradientTape, Variable
from layerkit.ops import SymbolicTensor
from layerkit.testing import check_grad, check_op

TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-10)}


def _data(shape, seed=0, dtype="float64"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---- NumPy references (channels_last 2-D; 1-D gets a height of 1, channels_first is moved) -------


def _tup(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _as_2d(x, k, data_format, rank):
    x = np.asarray(x, np.float64)
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    return (x[:, None], np.asarray(k, np.float64)[None]) if rank == 1 else (x, np.asarray(k, np.float64))


def _back(y, data_format, rank):
    y = y[:, 0] if rank == 1 else y
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def _same_pads(n, k, s, d=1):
    total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def np_conv(x, k, strides=1, padding="valid", data_format="channels_last", dilation_rate=1):
    rank = np.ndim(k) - 2
    x, k = _as_2d(x, k, data_format, rank)
    s = (1,) * (2 - rank) + _tup(strides, rank)
    d = (1,) * (2 - rank) + _tup(dilation_rate, rank)
    kh, kw, cin_g, cout = k.shape
    groups, per = x.shape[-1] // cin_g, cout // (x.shape[-1] // cin_g)
    if padding == "same":
        x = np.pad(x, ((0, 0), _same_pads(x.shape[1], kh, s[0], d[0]), _same_pads(x.shape[2], kw, s[1], d[1]),
                       (0, 0)))
    oh, ow = ((x.shape[1 + i] - (kk - 1) * d[i] - 1) // s[i] + 1 for i, kk in enumerate((kh, kw)))
    out = np.zeros((x.shape[0], oh, ow, cout))
    for i, j, a, b, g in np.ndindex(oh, ow, kh, kw, groups):
        patch = x[:, i * s[0] + a * d[0], j * s[1] + b * d[1], g * cin_g:(g + 1) * cin_g]
        out[:, i, j, g * per:(g + 1) * per] += patch @ k[a, b, :, g * per:(g + 1) * per]
    return _back(out, data_format, rank)


def np_conv_transpose(x, k, strides=1, padding="valid", output_padding=None, data_format="channels_last",
                      dilation_rate=1):
    """Scatter every input cell through the kernel, then take Keras's output window."""
    rank = np.ndim(k) - 2
    x, k = _as_2d(x, k, data_format, rank)
    s = (1,) * (2 - rank) + _tup(strides, rank)
    d = (1,) * (2 - rank) + _tup(dilation_rate, rank)
    op = (None,) * 2 if output_padding is None else (0,) * (2 - rank) + _tup(output_padding, rank)
    kh, kw, cout, _ = k.shape
    n, h, w, _ = x.shape
    full = np.zeros((n, (h - 1) * s[0] + (kh - 1) * d[0] + 1, (w - 1) * s[1] + (kw - 1) * d[1] + 1, cout))
    for i, j, a, b in np.ndindex(h, w, kh, kw):
        full[:, i * s[0] + a * d[0], j * s[1] + b * d[1]] += x[:, i, j] @ k[a, b].T
    window = []
    for axis in range(2):
        size, kd, st, p = (h, w)[axis], ((kh, kw)[axis] - 1) * d[axis] + 1, s[axis], op[axis]
        if rank == 1 and axis == 0:
            window.append((0, 1))
        elif padding == "valid":
            window.append((0, (size - 1) * st + kd + (max(kd, st) - kd if p is None else p)))
        else:
            pad_len = st + kd - 2 if p is None else kd + kd % 2 - 2 + p
            window.append((kd - 1 - min(pad_len // 2 + pad_len % 2, kd - 1),
                           size * st if p is None else (size - 1) * st + kd % 2 + p))
    full = np.pad(full, ((0, 0), (0, max(sum(window[0]) - full.shape[1], 0)),
                         (0, max(sum(window[1]) - full.shape[2], 0)), (0, 0)))
    out = full[:, window[0][0]:sum(window[0]), window[1][0]:sum(window[1])]
    return _back(out, data_format, rank)


def np_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last", mode="max"):
    rank = x.ndim - 2
    x, _ = _as_2d(x, np.zeros((1,) * (rank + 2)), data_format, rank)
    p = (1,) * (2 - rank) + _tup(pool_size, rank)
    s = p if strides is None else (1,) * (2 - rank) + _tup(strides, rank)
    pads = [_same_pads(n, pp, ss) if padding == "same" else (0, 0) for n, pp, ss in zip(x.shape[1:3], p, s)]
    oh, ow = ((x.shape[1 + i] + sum(pads[i]) - p[i]) // s[i] + 1 for i in range(2))
    out = np.zeros((x.shape[0], oh, ow, x.shape[-1]))
    for i, j in np.ndindex(oh, ow):
        r0, c0 = i * s[0] - pads[0][0], j * s[1] - pads[1][0]
        cells = x[:, max(r0, 0):min(r0 + p[0], x.shape[1]), max(c0, 0):min(c0 + p[1], x.shape[2])]
        out[:, i, j] = cells.max(axis=(1, 2)) if mode == "max" else cells.mean(axis=(1, 2))  # inside cells only
    return _back(out, data_format, rank)


# ---- cases: (input shape, kernel shape, kwargs) ---------------------------------------------------

CONV_CASES = [
    ((2, 5, 6, 3), (3, 3, 3, 4), dict()),
    ((2, 5, 6, 3), (3, 2, 3, 4), dict(strides=2, padding="same")),
    ((1, 7, 7, 2), (3, 3, 2, 2), dict(strides=(2, 3), padding="valid")),
    ((2, 6, 6, 4), (3, 3, 2, 6), dict(padding="same", dilation_rate=2)),  # groups = 2
    ((1, 6, 5, 4), (2, 2, 1, 4), dict(strides=2, padding="same")),  # groups = 4 (depthwise)
    ((2, 3, 5, 6), (2, 3, 3, 2), dict(data_format="channels_first", padding="same")),
    ((2, 8, 3), (3, 3, 4), dict()),
    ((2, 8, 3), (2, 3, 4), dict(strides=3, padding="same")),
    ((2, 9, 4), (3, 2, 4), dict(dilation_rate=3, padding="same")),  # 1-D, groups = 2
    ((2, 3, 7), (3, 3, 2), dict(data_format="channels_first", strides=2)),
]

TRANSPOSE_CASES = [
    ((2, 3, 4, 3), (3, 3, 4, 3), dict()),
    ((2, 3, 4, 3), (3, 3, 4, 3), dict(strides=2, padding="same")),
    ((1, 3, 3, 2), (3, 2, 2, 2), dict(strides=(2, 3), padding="same", output_padding=(1, 2))),
    ((1, 3, 3, 2), (3, 3, 2, 2), dict(strides=2, padding="valid", output_padding=1)),
    ((1, 3, 3, 2), (1, 1, 2, 2), dict(strides=3)),  # trailing output cells no input reaches
    ((1, 4, 4, 2), (3, 3, 3, 2), dict(padding="same", dilation_rate=2)),
    ((1, 2, 3, 4), (2, 2, 3, 2), dict(strides=2, data_format="channels_first")),
    ((2, 4, 3), (3, 4, 3), dict(strides=2)),
    ((2, 4, 3), (4, 2, 3), dict(strides=3, padding="same", output_padding=0)),
    ((2, 3, 5), (3, 2, 3), dict(strides=2, padding="same", data_format="channels_first")),
]

POOL_CASES = [
    ((2, 5, 6, 3), dict(pool_size=2)),
    ((2, 5, 6, 3), dict(pool_size=(2, 3), strides=1)),
    ((2, 5, 6, 3), dict(pool_size=3, strides=2, padding="same")),
    ((1, 4, 4, 2), dict(pool_size=(3, 2), strides=(1, 2), padding="same")),
    ((2, 3, 5, 6), dict(pool_size=2, strides=1, padding="same", data_format="channels_first")),
    ((2, 7, 3), dict(pool_size=2)),
    ((2, 7, 3), dict(pool_size=3, strides=2, padding="same")),
    ((2, 3, 7), dict(pool_size=2, strides=1, data_format="channels_first")),
]


def _ids(cases):
    return [f"{c[0]}-{c[-1]}" for c in cases]


# ---- forward against NumPy, and the shape rules -------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape, k_shape, kw", CONV_CASES, ids=_ids(CONV_CASES))
def test_conv_matches_numpy(x_shape, k_shape, kw, dtype):
    x, k = _data(x_shape, 1, dtype), _data(k_shape, 2, dtype)
    out = check_op(lambda a, b: ops.conv(a, b, **kw), lambda a, b: np_conv(a, b, **kw), x, k, **TOL[dtype])
    assert out.dtype == dtype


@pytest.mark.parametrize("x_shape, k_shape, kw", TRANSPOSE_CASES, ids=_ids(TRANSPOSE_CASES))
def test_conv_transpose_matches_numpy(x_shape, k_shape, kw):
    x, k = _data(x_shape, 1, "float32"), _data(k_shape, 2, "float32")
    check_op(lambda a, b: ops.conv_transpose(a, b, **kw), lambda a, b: np_conv_transpose(a, b, **kw), x, k,
             **TOL["float32"])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank, kw", [(2, dict()), (2, dict(strides=2, padding="same")),
                                      (1, dict(padding="same", dilation_rate=2)), (1, dict(strides=2))])
def test_depthwise_and_separable_match_numpy(rank, kw, data_format):
    shape = (2, 6, 5, 3)[:rank + 1] + (3,)
    if data_format == "channels_first":
        shape = (shape[0], 3) + shape[1:-1]
    x = _data(shape, 1, "float32")
    dk, pk = _data((3,) * rank + (3, 2), 2, "float32"), _data((1,) * rank + (6, 4), 3, "float32")
    kw = dict(kw, data_format=data_format)

    def np_depthwise(a, b):  # channel c alone with each of its filters: output channel c * m + j
        a_last = np.moveaxis(a, 1, -1) if data_format == "channels_first" else a
        outs = [np_conv(a_last[..., c:c + 1], b[..., c:c + 1, j:j + 1], **{**kw, "data_format": "channels_last"})
                for c in range(3) for j in range(2)]
        y = np.concatenate(outs, axis=-1)
        return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y

    check_op(lambda a, b: ops.depthwise_conv(a, b, **kw), np_depthwise, x, dk, **TOL["float32"])
    check_op(lambda a, b, c: ops.separable_conv(a, b, c, **kw),
             lambda a, b, c: np_conv(np_depthwise(a, b), c, data_format=data_format), x, dk, pk, **TOL["float32"])


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("x_shape, kw", POOL_CASES, ids=_ids(POOL_CASES))
def test_pools_match_numpy(x_shape, kw, mode):
    fn = ops.max_pool if mode == "max" else ops.average_pool
    check_op(lambda a: fn(a, **kw), lambda a: np_pool(a, mode=mode, **kw), _data(x_shape, 1, "float32"),
             **TOL["float32"])


def test_shape_rules_with_unknown_dims():
    def shape(fn, *args, **kw):
        return fn(*args, **kw).shape

    x = SymbolicTensor((None, None, None, 3), "float32")
    k = np.zeros((3, 3, 3, 4), "float32")
    assert shape(ops.conv, x, k, strides=2, padding="same") == (None, None, None, 4)
    assert shape(ops.conv, SymbolicTensor((None, 7, None, 3)), k, strides=2) == (None, 3, None, 4)
    assert shape(ops.conv, SymbolicTensor((None, None, 3)), np.zeros((3, 3, 4), "float32"),
                 padding="same") == (None, None, 4)
    assert shape(ops.conv, SymbolicTensor((None, 3, None, None)), k, padding="same",
                 data_format="channels_first") == (None, 4, None, None)
    assert shape(ops.depthwise_conv, x, np.zeros((3, 3, 3, 2), "float32"), padding="same") == (None, None, None, 6)
    assert shape(ops.conv_transpose, x, np.zeros((3, 3, 5, 3), "float32"), strides=2,
                 padding="same") == (None, None, None, 5)
    assert shape(ops.conv_transpose, SymbolicTensor((None, 4, 3)), np.zeros((3, 5, 3), "float32"),
                 strides=2) == (None, 9, 5)
    assert shape(ops.max_pool, x, 2, padding="same") == (None, None, None, 3)
    assert shape(ops.average_pool, SymbolicTensor((None, 7, 3)), 3, strides=2) == (None, 3, 3)


def test_dtypes():
    assert ops.conv(_data((1, 4, 4, 2)), _data((3, 3, 2, 1))).dtype == "float64"
    assert ops.conv(np.ones((1, 4, 4, 2), "int32"), np.ones((3, 3, 2, 1), "int32")).dtype == "float32"
    assert ops.max_pool(np.ones((1, 4, 4, 1), "int32"), 2).dtype == "float32"


# ---- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, k_shape, kw", [CONV_CASES[i] for i in (1, 3, 5, 8, 9)],
                         ids=_ids([CONV_CASES[i] for i in (1, 3, 5, 8, 9)]))
def test_conv_gradients(x_shape, k_shape, kw):
    check_grad(lambda a, b: ops.conv(a, b, **kw), _data(x_shape, 1), _data(k_shape, 2))


@pytest.mark.parametrize("x_shape, k_shape, kw", [TRANSPOSE_CASES[i] for i in (1, 2, 4, 6, 8)],
                         ids=_ids([TRANSPOSE_CASES[i] for i in (1, 2, 4, 6, 8)]))
def test_conv_transpose_gradients(x_shape, k_shape, kw):
    check_grad(lambda a, b: ops.conv_transpose(a, b, **kw), _data(x_shape, 1), _data(k_shape, 2))


def test_depthwise_and_separable_gradients():
    x, dk, pk = _data((1, 4, 5, 3), 1), _data((3, 3, 3, 2), 2), _data((1, 1, 6, 2), 3)
    check_grad(lambda a, b: ops.depthwise_conv(a, b, strides=2, padding="same"), x, dk)
    check_grad(lambda a, b, c: ops.separable_conv(a, b, c, padding="same"), x, dk, pk)


@pytest.mark.parametrize("fn", [ops.max_pool, ops.average_pool])
@pytest.mark.parametrize("x_shape, kw", [POOL_CASES[i] for i in (2, 3, 4, 6)],
                         ids=_ids([POOL_CASES[i] for i in (2, 3, 4, 6)]))
def test_pool_gradients(fn, x_shape, kw):
    # distinct values keep max pooling away from ties, where it is not differentiable
    x = np.random.default_rng(0).permutation(np.prod(x_shape)).reshape(x_shape).astype("float64") / 10
    check_grad(lambda a: fn(a, **kw), x)


def test_second_order_gradient_of_conv():
    """d/dw of |d(sum(conv(x, w) * c))/dx|^2: the backward primitives are differentiable too."""
    x, w = _data((1, 4, 4, 2), 1), _data((3, 3, 2, 2), 2)
    c = ops.convert_to_tensor(_data((1, 2, 2, 2), 3))

    def grad_norm(xx, ww):
        with GradientTape() as tape:
            tape.watch(xx)
            y = ops.sum(ops.conv(xx, ww, strides=2, padding="same") * c)
        g = tape.gradient(y, xx)
        return g * g

    check_grad(grad_norm, x, w)


# ---- graph mode: "same" pads and backward shapes resolved at run time ---------------------------


def test_traced_with_unknown_sizes_matches_eager():
    from layerkit.graph import TensorSpec, function

    w = Variable(_data((3, 3, 2, 4), 5))
    up = ops.convert_to_tensor(_data((3, 3, 5, 4), 6))

    def step(x, cot):
        with GradientTape() as tape:
            tape.watch(x)
            y = ops.conv(x, w, strides=2, padding="same")
            y = ops.max_pool(y, 2, padding="same")
            y = ops.average_pool(y, 3, strides=2, padding="same")
            y = ops.conv_transpose(y, up, strides=2, padding="same")
        gx, gw = tape.gradient(y, [x, w], output_gradients=cot)
        return y, gx, gw

    traced = function(step, input_signature=[TensorSpec((None, None, None, 2), "float64"),
                                             TensorSpec((None, None, None, 5), "float64")])
    for i, shape in enumerate([(2, 7, 6, 2), (1, 12, 9, 2)]):
        x = ops.convert_to_tensor(_data(shape, 10 + i))
        cot = ops.convert_to_tensor(_data(step(x, None)[0].shape, 20 + i))
        for a, b in zip(traced(x, cot), step(x, cot)):
            assert a.shape == b.shape
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-10)


# ---- against jax.lax and keras.ops --------------------------------------------------------------


@pytest.mark.parametrize("x_shape, k_shape, kw", [c for c in CONV_CASES if len(c[0]) == 4],
                         ids=_ids([c for c in CONV_CASES if len(c[0]) == 4]))
def test_conv_matches_jax_lax(x_shape, k_shape, kw):
    lax = pytest.importorskip("jax.lax")
    x, k = _data(x_shape, 1, "float32"), _data(k_shape, 2, "float32")
    layout = ("NCHW", "HWIO", "NCHW") if kw.get("data_format") == "channels_first" else ("NHWC", "HWIO", "NHWC")
    s, d = _tup(kw.get("strides", 1), 2), _tup(kw.get("dilation_rate", 1), 2)
    cin = x_shape[1] if layout[0] == "NCHW" else x_shape[-1]
    ref = lax.conv_general_dilated(x, k, s, kw.get("padding", "valid").upper(), rhs_dilation=d,
                                   dimension_numbers=layout, feature_group_count=cin // k_shape[2])
    np.testing.assert_allclose(np.asarray(ops.conv(x, k, **kw)), np.asarray(ref), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape, k_shape, kw", TRANSPOSE_CASES, ids=_ids(TRANSPOSE_CASES))
def test_conv_transpose_matches_keras_ops(x_shape, k_shape, kw):
    keras = pytest.importorskip("keras")
    x, k = _data(x_shape, 1, "float32"), _data(k_shape, 2, "float32")
    np.testing.assert_allclose(np.asarray(ops.conv_transpose(x, k, **kw)),
                               np.asarray(keras.ops.conv_transpose(x, k, **kw)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape, kw", POOL_CASES, ids=_ids(POOL_CASES))
def test_pools_match_keras_ops(x_shape, kw):
    keras = pytest.importorskip("keras")
    x = _data(x_shape, 1, "float32")
    kw = dict(kw, strides=kw.get("strides", kw["pool_size"]))  # keras.ops on JAX wants explicit 1-D strides
    for ours, theirs in ((ops.max_pool, keras.ops.max_pool), (ops.average_pool, keras.ops.average_pool)):
        np.testing.assert_allclose(np.asarray(ours(x, **kw)), np.asarray(theirs(x, **kw)), rtol=1e-5, atol=1e-6)


def test_conv_and_depthwise_match_keras_ops():
    keras = pytest.importorskip("keras")
    for x_shape, k_shape, kw in CONV_CASES:
        x, k = _data(x_shape, 1, "float32"), _data(k_shape, 2, "float32")
        np.testing.assert_allclose(np.asarray(ops.conv(x, k, **kw)), np.asarray(keras.ops.conv(x, k, **kw)),
                                   rtol=1e-5, atol=1e-5)
    x, dk = _data((2, 6, 5, 3), 1, "float32"), _data((3, 3, 3, 2), 2, "float32")
    np.testing.assert_allclose(np.asarray(ops.depthwise_conv(x, dk, 2, "same")),
                               np.asarray(keras.ops.depthwise_conv(x, dk, 2, "same")), rtol=1e-5, atol=1e-5)


# ---- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4)), padding="full"), "`padding` must be"),
    (lambda: ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4)), strides=0), "`strides` must be a positive"),
    (lambda: ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4)), strides=(1, 2, 3)), "tuple of 2"),
    (lambda: ops.conv(np.zeros((1, 5, 5, 5)), np.zeros((3, 3, 3, 4))), "input has 5 channels"),
    (lambda: ops.conv(np.zeros((1, 2, 5, 3)), np.zeros((3, 3, 3, 4))), "larger than the padded input"),
    (lambda: ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4)), data_format="NHWC"), "`data_format`"),
    (lambda: ops.conv(np.zeros((1, 5, 5, 5, 3)), np.zeros((3, 3, 3, 4))), "expected an input of rank"),
    (lambda: ops.conv_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 3)), output_padding=-1),
     "`output_padding` must be a non-negative"),
    (lambda: ops.conv_transpose(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 2, 3))), "input has 2 channels"),
    (lambda: ops.max_pool(np.zeros((1, 1, 4, 1)), 2), "larger than the input"),
    (lambda: ops.average_pool(np.zeros((1, 4, 4, 1)), (2, 2, 2)), "`pool_size`"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- the direct convolution (SIMD builds; rows of at least 16 output columns) -----------------------
def _conv_reference(x, w, strides, pads, dilation):
    """float64 cross-correlation by explicit sums over the window (NHWC, HWIO, one group)."""
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (pads[0], pads[1]), (pads[2], pads[3]), (0, 0)))
    oh = (h + pads[0] + pads[1] - dilation[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[2] + pads[3] - dilation[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, oh, ow, o))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dilation[0]:i * dilation[0] + strides[0] * (oh - 1) + 1:strides[0],
                       j * dilation[1]:j * dilation[1] + strides[1] * (ow - 1) + 1:strides[1], :]
            out += patch @ w[i, j].astype(np.float64)
    return out


@pytest.mark.parametrize("xs,ws,strides,pads,dilation", [
    ((2, 9, 37, 3), (3, 3, 3, 32), (1, 1), (1, 1, 1, 1), (1, 1)),    # a first layer, ragged pixel blocks
    ((2, 6, 40, 5), (2, 4, 5, 8), (1, 2), (0, 1, 2, 1), (1, 1)),     # asymmetric pads, column stride
    ((1, 8, 40, 16), (3, 3, 16, 64), (2, 1), (1, 1, 1, 1), (1, 2)),  # dilated, row stride
    ((1, 5, 18, 4), (1, 1, 4, 16), (1, 1), (0, 0, 0, 0), (1, 1)),    # pointwise
    ((1, 4, 16, 64), (3, 3, 64, 64), (1, 1), (0, 2, 0, 2), (1, 1)),  # 576 values per output
])
@pytest.mark.parametrize("bias,activation", [(False, -1), (True, -1), (True, "relu"), (True, "tanh")])
def test_the_direct_convolution_equals_explicit_sums(xs, ws, strides, pads, dilation, bias, activation, isa_level):
    from layerkit.graph.fusion import UNARY

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs).astype("float32"), rng.standard_normal(ws).astype("float32")
    b = rng.standard_normal(ws[-1]).astype("float32")
    act = -1 if activation == -1 else UNARY[activation] - core.FUSED_UNARY_BASE
    expected = _conv_reference(x, w, strides, pads, dilation) + (b if bias else 0)
    expected = {-1: lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh}[activation](expected)
    direct = core._conv_takes_direct(xs, ws, strides, pads, dilation, 1)[0]
    got = (core.conv2d_bias(x, w, b, strides, pads, dilation, 1, act) if bias
           else core.conv2d(x, w, strides, pads, dilation, 1))
    if isa_level == 0:
        assert not direct  # the baseline build has no direct loop
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.sqrt(np.prod(ws[:3])))


def _filter_grad_reference(x, g, ws, strides, pads, dilation):
    """float64 dw[kh, kw, c, o] = sum over n, oh, ow of x_padded[n, window(kh, kw), c] * g[n, oh, ow, o]."""
    kh, kw, _, _ = ws
    xp = np.pad(x.astype(np.float64), ((0, 0), (pads[0], pads[1]), (pads[2], pads[3]), (0, 0)))
    oh, ow = g.shape[1:3]
    dw = np.zeros(ws)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dilation[0]:i * dilation[0] + strides[0] * (oh - 1) + 1:strides[0],
                       j * dilation[1]:j * dilation[1] + strides[1] * (ow - 1) + 1:strides[1], :]
            dw[i, j] = np.einsum("nhwc,nhwo->co", patch, g.astype(np.float64))
    return dw


@pytest.mark.parametrize("xs,ws,strides,pads,dilation", [
    ((3, 9, 11, 3), (3, 3, 3, 32), (1, 1), (1, 1, 1, 1), (1, 1)),   # a first RGB layer
    ((2, 10, 13, 2), (2, 4, 2, 64), (2, 1), (0, 1, 2, 1), (1, 2)),  # strides, asymmetric pads, dilation
    ((2, 7, 8, 4), (5, 5, 4, 16), (1, 3), (2, 2, 2, 2), (1, 1)),    # RGBA, kernel wider than some rows
    ((1, 6, 6, 3), (3, 3, 3, 8), (2, 2), (0, 0, 0, 0), (1, 1)),
])
def test_the_direct_filter_gradient_equals_explicit_sums(xs, ws, strides, pads, dilation, isa_level):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xs).astype("float32")
    y_shape = core.conv2d(x, rng.standard_normal(ws).astype("float32"), strides, pads, dilation, 1).shape
    g = rng.standard_normal(y_shape).astype("float32")
    direct = core._conv_takes_direct(xs, ws, strides, pads, dilation, 1)[1]
    got = core.conv2d_backprop_filter(x, g, ws, strides, pads, dilation, 1)
    assert direct == (isa_level > 0)  # every geometry here has a direct loop on the SIMD levels
    expected = _filter_grad_reference(x, g, ws, strides, pads, dilation)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.sqrt(np.prod(y_shape[:3])))
