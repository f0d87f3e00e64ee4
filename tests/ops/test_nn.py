"""Neural-network ops against NumPy: activations, softmax family, one_hot and the losses.

Adding an activation is one line in ACTIVATIONS.
"""
import math

import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.testing import check_grad, check_op

FLOATS = ("float32", "float64")
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}

_erf = np.vectorize(math.erf, otypes=[np.float64])
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _hard_sigmoid(x):
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0  # Keras 3: relu6(x + 3) / 6


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _gelu_erf(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


# name -> (layerkit activation, float64 NumPy reference)
ACTIVATIONS = {
    "relu6": (ops.relu6, lambda x: np.clip(x, 0.0, 6.0)),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "leaky_relu_0.05": (lambda x: ops.leaky_relu(x, negative_slope=0.05), lambda x: np.where(x > 0, x, 0.05 * x)),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "elu_0.5": (lambda x: ops.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "selu": (ops.selu, lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(x))),
    "gelu_default": (ops.gelu, _gelu_tanh),
    "gelu_approximate": (lambda x: ops.gelu(x, approximate=True), _gelu_tanh),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), _gelu_erf),
    "hard_sigmoid": (ops.hard_sigmoid, _hard_sigmoid),
    "hard_silu": (ops.hard_silu, lambda x: x * _hard_sigmoid(x)),
    "hard_swish": (ops.hard_swish, lambda x: x * _hard_sigmoid(x)),
    "softplus": (ops.softplus, lambda x: np.logaddexp(0.0, x)),
    "softsign": (ops.softsign, lambda x: x / (1.0 + np.abs(x))),
    "silu": (ops.silu, lambda x: x * _sigmoid(x)),
    "swish": (ops.swish, lambda x: x * _sigmoid(x)),
    "log_sigmoid": (ops.log_sigmoid, lambda x: -np.logaddexp(0.0, -x)),
    "sigmoid": (ops.sigmoid, _sigmoid),
    "tanh": (ops.tanh, np.tanh),
    "relu": (ops.relu, lambda x: np.maximum(x, 0.0)),
}

# Forward points: both sides of every kink (0, +-3, 6), saturation, and extremes.
POINTS = np.array([-100.0, -30.0, -6.5, -3.0, -2.2, -1.0, -0.3, 0.0, 0.4, 1.3, 2.9, 3.0, 4.5, 6.0, 7.5, 30.0, 100.0])
# Gradient points: at least 0.2 away from every kink.
GRAD_POINTS = np.array([[-5.1, -3.4, -2.6, -1.2, -0.45, 0.3], [0.85, 1.7, 2.55, 3.6, 5.2, 6.8]])


def _ref64(ref):
    return lambda x: ref(x.astype(np.float64))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_numpy(name, dtype):
    fn, ref = ACTIVATIONS[name]
    x = np.concatenate([POINTS, np.random.default_rng(0).uniform(-8, 8, 23)]).reshape(5, 8).astype(dtype)
    out = check_op(fn, _ref64(ref), x, **TOL[dtype])
    assert out.dtype == dtype
    assert np.isfinite(np.asarray(out)).all()


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_on_int_input_gives_floatx(name):
    fn, ref = ACTIVATIONS[name]
    x = np.array([-4, -1, 0, 2, 5, 8], "int32")
    out = check_op(fn, _ref64(ref), x, **TOL["float32"])
    assert out.dtype == ("int32" if name == "relu" else "float32")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_grad(name):
    check_grad(ACTIVATIONS[name][0], GRAD_POINTS)


def test_softplus_and_log_sigmoid_are_stable_at_extremes():
    x = np.array([-100.0, 100.0], "float32")
    np.testing.assert_allclose(np.asarray(ops.softplus(x)), [0.0, 100.0], atol=1e-30)
    np.testing.assert_allclose(np.asarray(ops.log_sigmoid(x)), [-100.0, 0.0], atol=1e-30)
    check_grad(ops.softplus, np.array([-100.0, -40.0, 40.0, 100.0]))
    check_grad(ops.log_sigmoid, np.array([-100.0, -40.0, 40.0, 100.0]))


# ---- softmax / log_softmax ------------------------------------------------------------------------


def _np_softmax(x, axis=-1):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


SOFTMAXES = {"softmax": (ops.softmax, _np_softmax), "log_softmax": (ops.log_softmax, _np_log_softmax)}
SOFTMAX_AXES = [-1, 0, 1, 2, -2]


@pytest.mark.parametrize("axis", SOFTMAX_AXES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_matches_numpy(name, dtype, axis):
    fn, ref = SOFTMAXES[name]
    x = (np.random.default_rng(1).normal(size=(2, 3, 4)) * 3).astype(dtype)
    out = check_op(fn, ref, x, axis=axis, **TOL[dtype])
    assert out.dtype == dtype


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_huge_logits_are_stable(name, dtype, axis):
    fn, ref = SOFTMAXES[name]
    x = np.array([[1000.0, 0.0, -1000.0], [1e4, 1e4, -1e4], [-5e3, -5e3 - 1.0, -5e3 - 2.0]], dtype)
    x = x if axis == -1 else x.T.copy()
    out = check_op(fn, ref, x, axis=axis, **TOL[dtype])
    assert np.isfinite(np.asarray(out)).all()


def test_softmax_of_int_input_and_of_a_scalar():
    check_op(ops.softmax, _np_softmax, np.array([[1, 2, 3]], "int32"))
    with pytest.raises(ValueError, match="softmax"):
        ops.softmax(np.float32(1.0))


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_grad(name, axis):
    x = np.random.default_rng(2).normal(size=(2, 3, 4))
    check_grad(lambda t: SOFTMAXES[name][0](t, axis=axis), x)


# ---- one_hot --------------------------------------------------------------------------------------


def _np_one_hot(x, num_classes, axis=-1):
    x = np.asarray(x)
    out = (x[..., None] == np.arange(num_classes)).astype(np.float32)  # out of range: all zeros
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_one_hot_matches_numpy(dtype, axis):
    x = np.array([[0, 2, 1], [3, -1, 2]], dtype)  # 3 and -1 are out of range: zero rows
    out = check_op(lambda t: ops.one_hot(t, 3, axis=axis), lambda a: _np_one_hot(a, 3, axis), x)
    assert out.dtype == "float32"
    assert out.shape == np.moveaxis(np.zeros((2, 3, 3)), -1, axis).shape


def test_one_hot_out_of_range_gives_zero_rows_and_dtype_argument():
    out = ops.one_hot(np.array([0, 4, -1, 2], "int32"), 3, dtype="int32")
    assert out.dtype == "int32"
    np.testing.assert_array_equal(np.asarray(out), [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(np.asarray(ops.one_hot(np.array([1, 0]), 2, axis=0)), [[0, 1], [1, 0]])


# ---- sparse softmax cross-entropy -----------------------------------------------------------------


def _np_sparse_xent(labels, logits):
    logits = logits.astype(np.float64)
    m = logits.max(-1, keepdims=True)
    lse = (np.log(np.exp(logits - m).sum(-1, keepdims=True)) + m)[..., 0]
    return lse - np.take_along_axis(logits, labels[..., None].astype(np.int64), -1)[..., 0]


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (1, 1)], ids=str)
@pytest.mark.parametrize("label_dtype", ["int32", "int64"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_sparse_softmax_cross_entropy_matches_numpy(dtype, label_dtype, shape):
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=shape) * 3).astype(dtype)
    labels = rng.integers(0, shape[-1], shape[:-1]).astype(label_dtype)
    out = check_op(ops.sparse_softmax_cross_entropy, _np_sparse_xent, labels, logits, **TOL[dtype])
    assert out.dtype == dtype and out.shape == shape[:-1]


@pytest.mark.parametrize("dtype", FLOATS)
def test_sparse_softmax_cross_entropy_huge_logits(dtype):
    logits = np.array([[1000.0, 0.0, -1000.0], [1e4, -1e4, 1e4], [-3e3, -3e3, -3e3]], dtype)
    labels = np.array([1, 2, 0], "int32")
    out = check_op(ops.sparse_softmax_cross_entropy, _np_sparse_xent, labels, logits, **TOL[dtype])
    np.testing.assert_allclose(np.asarray(out), [1000.0, math.log(2), math.log(3)], rtol=1e-6)


def test_sparse_softmax_cross_entropy_errors():
    logits = np.zeros((3, 4), "float32")
    with pytest.raises(ValueError, match="label 4"):
        ops.sparse_softmax_cross_entropy(np.array([0, 4, 1], "int32"), logits)
    with pytest.raises(ValueError, match="label -1"):
        ops.sparse_softmax_cross_entropy(np.array([0, 1, -1], "int64"), logits)
    with pytest.raises(ValueError, match="shape"):
        ops.sparse_softmax_cross_entropy(np.array([0, 1], "int32"), logits)
    with pytest.raises(ValueError, match="shape"):
        ops.sparse_softmax_cross_entropy(np.array([[0], [1], [2]], "int32"), logits)
    with pytest.raises(TypeError, match="labels"):
        ops.sparse_softmax_cross_entropy(np.array([0.0, 1.0, 2.0], "float32"), logits)


@pytest.mark.parametrize("shape", [(3, 4), (2, 2, 3)], ids=str)
def test_sparse_softmax_cross_entropy_grad(shape):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, shape[-1], shape[:-1]).astype("int32")
    check_grad(lambda t: ops.sparse_softmax_cross_entropy(labels, t), rng.normal(size=shape))


# ---- categorical losses ---------------------------------------------------------------------------

EPS = 1e-7


def _np_probs(output, from_logits, axis=-1):
    if from_logits:
        return _np_softmax(output, axis)
    output = output.astype(np.float64)
    return np.clip(output / output.sum(axis=axis, keepdims=True), EPS, 1 - EPS)


def _np_sparse_cce(target, output, from_logits=False):
    target = target.reshape(output.shape[:-1]).astype(np.int64)
    p = _np_probs(output, from_logits)
    return -np.log(np.take_along_axis(p, target[..., None], -1)[..., 0])


def _np_cce(target, output, from_logits=False, axis=-1):
    return -np.sum(target.astype(np.float64) * np.log(_np_probs(output, from_logits, axis)), axis=axis)


def _np_bce(target, output, from_logits=False):
    target, output = target.astype(np.float64), output.astype(np.float64)
    if from_logits:
        return np.maximum(output, 0) - output * target + np.log1p(np.exp(-np.abs(output)))
    output = np.clip(output, EPS, 1 - EPS)
    return -(target * np.log(output) + (1 - target) * np.log(1 - output))


def _outputs(from_logits, shape, seed=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) * 2 if from_logits else rng.uniform(0.05, 1.0, shape)


@pytest.mark.parametrize("target_shape", [(4,), (4, 1)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_matches_numpy(from_logits, dtype, target_shape):
    output = _outputs(from_logits, (4, 5)).astype(dtype)
    target = np.array([0, 4, 2, 2]).reshape(target_shape).astype("int32")
    out = check_op(lambda t, o: ops.sparse_categorical_crossentropy(t, o, from_logits=from_logits),
                   lambda t, o: _np_sparse_cce(t, o, from_logits), target, output, **TOL[dtype])
    assert out.dtype == dtype and out.shape == (4,)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_grad(from_logits):
    target = np.array([0, 4, 2], "int32")
    check_grad(lambda o: ops.sparse_categorical_crossentropy(target, o, from_logits=from_logits),
               _outputs(from_logits, (3, 5)))


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_crossentropy_matches_numpy(from_logits, dtype, axis):
    rng = np.random.default_rng(6)
    target = rng.dirichlet(np.ones(4), 3)  # soft labels, classes on the last axis
    target = target if axis == -1 else target.T.copy()
    output = _outputs(from_logits, target.shape).astype(dtype)
    out = check_op(lambda t, o: ops.categorical_crossentropy(t, o, from_logits=from_logits, axis=axis),
                   lambda t, o: _np_cce(t, o, from_logits, axis), target.astype(dtype), output, **TOL[dtype])
    assert out.dtype == dtype


@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_crossentropy_grad(from_logits):
    target = np.random.default_rng(7).dirichlet(np.ones(4), 3)
    check_grad(lambda t, o: ops.categorical_crossentropy(t, o, from_logits=from_logits),
               target, _outputs(from_logits, (3, 4)))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_matches_numpy(from_logits, dtype):
    rng = np.random.default_rng(8)
    target = np.concatenate([rng.integers(0, 2, 6), rng.uniform(0, 1, 6)]).reshape(3, 4).astype(dtype)
    output = (rng.normal(size=(3, 4)) * 3 if from_logits else rng.uniform(0.02, 0.98, (3, 4))).astype(dtype)
    out = check_op(lambda t, o: ops.binary_crossentropy(t, o, from_logits=from_logits),
                   lambda t, o: _np_bce(t, o, from_logits), target, output, **TOL[dtype])
    assert out.dtype == dtype and out.shape == (3, 4)


def test_binary_crossentropy_extremes():
    # logits: stable for any magnitude; probabilities: clipped to [eps, 1 - eps]
    logits = np.array([100.0, -100.0, 100.0, -100.0], "float32")
    target = np.array([0.0, 1.0, 1.0, 0.0], "float32")
    check_op(lambda t, o: ops.binary_crossentropy(t, o, from_logits=True),
             lambda t, o: _np_bce(t, o, True), target, logits, atol=1e-5)
    probs = np.array([1.0, 0.0, 1.0, 0.0])
    check_op(ops.binary_crossentropy, _np_bce, target.astype("float64"), probs, **TOL["float64"])
    # float32 cannot hold 1 - 1e-7 exactly, so only finiteness is portable there
    assert np.isfinite(np.asarray(ops.binary_crossentropy(target, probs.astype("float32")))).all()


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_grad(from_logits):
    rng = np.random.default_rng(9)
    output = rng.normal(size=(2, 3)) * 2 if from_logits else rng.uniform(0.05, 0.95, (2, 3))
    check_grad(lambda t, o: ops.binary_crossentropy(t, o, from_logits=from_logits), rng.uniform(0, 1, (2, 3)), output)


def test_loss_gradients_flow_through_a_tape_end_to_end():
    # d/dlogits mean(sparse xent) = (softmax - onehot) / n
    logits = lk.convert_to_tensor(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]))
    labels = np.array([0, 2], "int32")
    with lk.GradientTape() as tape:
        tape.watch(logits)
        loss = ops.mean(ops.sparse_softmax_cross_entropy(labels, logits))
    expected = (_np_softmax(np.asarray(logits)) - np.eye(3)[labels]) / 2
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, logits)), expected, rtol=1e-12)
