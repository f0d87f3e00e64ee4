"""layerkit.activations: every activation against a float64 NumPy formula and (when Keras is
importable) against keras.activations, gradients against finite differences, symbolic shapes,
and get/serialize/deserialize.

Adding an activation is one line in REFERENCES.
"""
import importlib.util
import math
import os

import numpy as np
import pytest

import layerkit as lk
from layerkit import activations as act
from layerkit.testing import check_grad

_erf = np.vectorize(math.erf, otypes=[np.float64])
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
TOL = {"float32": dict(rtol=2e-6, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-12)}

# Points away from every kink (0, +-0.5, +-1, +-3, 6) so finite differences are valid, plus large
# magnitudes for the stability of the exp/log based activations.
X = np.array([[-7.3, -3.4, -2.2, -1.3, -0.8, -0.3, 0.2, 0.7, 1.2, 2.6, 3.3, 6.8],
              [-25.0, -4.1, -2.9, -1.6, -0.6, -0.1, 0.4, 0.9, 1.7, 2.2, 4.4, 30.0]])


def A(t):
    return np.asarray(t)


def _keras():
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"
    try:
        import keras
    except ImportError as e:  # absent, or installed without a usable backend
        pytest.skip(f"keras is not importable: {e}")
    return keras


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sparsemax(x, axis=-1):
    z = np.moveaxis(x, axis, -1)
    zs = -np.sort(-z, axis=-1)
    cs = np.cumsum(zs, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    support = 1 + k * zs > cs
    size = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, size - 1, axis=-1) - 1) / size
    return np.moveaxis(np.maximum(z - tau, 0.0), -1, axis)


# name -> float64 NumPy reference of the activation with its default arguments
REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "celu": lambda x: np.where(x >= 0, x, np.expm1(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(x)),
    "softplus": _softplus,
    "softsign": lambda x: x / (np.abs(x) + 1),
    "squareplus": lambda x: (x + np.sqrt(x**2 + 4)) / 2,
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x < 1, (x + 1) ** 2 / 4, x)),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),  # exact form: Keras's activation default
    "glu": lambda x: np.split(x, 2, axis=-1)[0] * _sigmoid(np.split(x, 2, axis=-1)[1]),
    "tanh": np.tanh,
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sigmoid": _sigmoid,
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "linear": lambda x: x,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "sparsemax": _sparsemax,
    "threshold": None,  # takes required arguments: tested below
}
DEFAULT_NAMES = [n for n in REFERENCES if REFERENCES[n] is not None]
# Non-differentiable nowhere on X (kinks excluded), and not too flat for finite differences.
GRAD_NAMES = [n for n in DEFAULT_NAMES if n not in ("exponential",)]


def test_every_activation_has_a_reference():
    assert sorted(REFERENCES) == sorted(act.ALL_OBJECTS_DICT)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", DEFAULT_NAMES)
def test_against_numpy(name, dtype):
    x = X if name != "exponential" else np.clip(X, -10, 10)
    out = act.get(name)(lk.convert_to_tensor(x.astype(dtype)))
    assert out.shape == REFERENCES[name](x).shape and out.dtype == dtype
    np.testing.assert_allclose(A(out), REFERENCES[name](x), **TOL[dtype])


@pytest.mark.parametrize("name", GRAD_NAMES)
def test_gradient(name):
    x = np.clip(X, -5, 5)  # finite differences of exp-based functions want moderate inputs
    check_grad(act.get(name), x, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", DEFAULT_NAMES)
def test_symbolic_shape_and_dtype(name):
    out = act.get(name)(lk.SymbolicTensor((None, 12), "float32"))
    assert isinstance(out, lk.SymbolicTensor)
    assert out.shape == ((None, 6) if name == "glu" else (None, 12)) and out.dtype == "float32"


# ---- arguments ----------------------------------------------------------------------------------------------


def _relu_ref(x, negative_slope=0.0, max_value=None, threshold=0.0):
    # Keras 3's ReLU.static_call, in NumPy
    y = np.where(x > threshold, x, 0.0) if threshold != 0 else np.maximum(x, 0)
    if max_value is not None:
        y = np.minimum(y, max_value)
    if negative_slope != 0:
        y = y - negative_slope * np.maximum(threshold - x, 0)
    return y


RELU_ARGS = [
    dict(), dict(negative_slope=0.1), dict(max_value=6), dict(max_value=2.5), dict(threshold=1.0),
    dict(threshold=-0.5), dict(negative_slope=0.5, max_value=5.0, threshold=1.0),
    dict(negative_slope=0.1, threshold=-0.5), dict(negative_slope=0.2, max_value=2.0),
]


@pytest.mark.parametrize("kwargs", RELU_ARGS, ids=str)
def test_relu_arguments(kwargs):
    np.testing.assert_allclose(A(act.relu(X, **kwargs)), _relu_ref(X, **kwargs), rtol=1e-12)


def test_relu_keras_docstring_example():
    x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
    np.testing.assert_allclose(A(act.relu(x, negative_slope=0.5, max_value=5.0, threshold=1.0)),
                               [-5.5, -3.0, -0.5, 5.0, 5.0])


@pytest.mark.parametrize("name,kwargs,ref", [
    ("leaky_relu", dict(negative_slope=0.05), lambda x: np.where(x > 0, x, 0.05 * x)),
    ("elu", dict(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    ("celu", dict(alpha=2.0), lambda x: np.where(x >= 0, x, 2.0 * np.expm1(x / 2.0))),
    ("squareplus", dict(b=1), lambda x: (x + np.sqrt(x**2 + 1)) / 2),
    ("soft_shrink", dict(threshold=1.0), lambda x: np.where(x > 1, x - 1, np.where(x < -1, x + 1, 0.0))),
    ("hard_shrink", dict(threshold=2.0), lambda x: np.where(np.abs(x) > 2, x, 0.0)),
    ("threshold", dict(threshold=0.5, default_value=-3.0), lambda x: np.where(x > 0.5, x, -3.0)),
    ("softmax", dict(axis=0), lambda x: _softmax(x, axis=0)),
    ("softmax", dict(axis=(0, 1)), lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()),
    ("log_softmax", dict(axis=0), lambda x: np.log(_softmax(x, axis=0))),
    ("sparsemax", dict(axis=0), lambda x: _sparsemax(x, axis=0)),
    ("glu", dict(axis=0), lambda x: x[:1] * _sigmoid(x[1:])),
    ("gelu", dict(approximate=True),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
])
def test_arguments(name, kwargs, ref):
    np.testing.assert_allclose(A(getattr(act, name)(X, **kwargs)), ref(X), rtol=1e-12, atol=1e-14)


def test_gelu_default_is_exact_unlike_ops_gelu():
    x = lk.convert_to_tensor(np.array([1.5]))
    exact = 0.5 * 1.5 * (1 + math.erf(1.5 / math.sqrt(2)))
    assert float(A(act.gelu(x))[0]) == pytest.approx(exact, rel=1e-12)
    assert float(A(lk.ops.gelu(x))[0]) != pytest.approx(exact, rel=1e-6)


def test_sparsemax_is_a_sparse_distribution():
    x = np.random.default_rng(3).normal(size=(50, 10)) * 3
    x[0] = 1.0  # all tied: uniform
    x[1, :3] = 5.0  # three tied winners
    y = A(act.sparsemax(x))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(y >= 0) and np.mean(y == 0) > 0.3
    np.testing.assert_allclose(y[0], 0.1)
    np.testing.assert_allclose(y[1, :3], 1 / 3)
    np.testing.assert_allclose(y, _sparsemax(x), atol=1e-12)


def test_glu_needs_an_even_axis():
    with pytest.raises(ValueError, match=r"glu: the size of `axis` must be divisible by 2, received x.shape=\(2, 3\)"):
        act.glu(np.ones((2, 3)))


def test_linear_returns_its_input():
    x = lk.convert_to_tensor(X)
    assert act.linear(x) is x


# ---- get / serialize / deserialize ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(act.ALL_OBJECTS_DICT))
def test_get_by_name(name):
    assert act.get(name) is act.ALL_OBJECTS_DICT[name] is getattr(act, name)


def test_aliases():
    assert act.get("swish") is act.silu and act.get("hard_swish") is act.hard_silu


def test_get_none_callable_and_dict():
    assert act.get(None) is act.linear
    fn = lambda x: x * 2  # noqa: E731
    assert act.get(fn) is fn
    assert act.get({"module": "keras.activations", "class_name": "function", "config": "relu",
                    "registered_name": "function"}) is act.relu


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation function 'rleu'\. Expected one of: .*gelu.*relu.*"
                                         r"softmax.*swish"):
        act.get("rleu")


@pytest.mark.parametrize("identifier", [3, 1.5, ["relu"]])
def test_uninterpretable_identifier(identifier):
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        act.get(identifier)


@pytest.mark.parametrize("name", sorted(act.ALL_OBJECTS_DICT))
def test_serialize_builtin_gives_its_name(name):
    fn = act.get(name)
    s = act.serialize(fn)
    assert s == {"swish": "silu", "hard_swish": "hard_silu"}.get(name, name)
    assert act.deserialize(s) is fn


def test_serialize_custom_function():
    def double(x):
        return x * 2

    d = act.serialize(double)
    assert d == {"module": "builtins", "class_name": "function", "config": "double", "registered_name": "function"}
    assert act.deserialize(d, custom_objects={"double": double}) is double
    with pytest.raises(ValueError, match="Unknown activation function 'double'"):
        act.deserialize(d)
    with pytest.raises(ValueError, match="cannot serialize a lambda"):
        act.serialize(lambda x: x)


# ---- against Keras --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in DEFAULT_NAMES if n != "sparsemax"])
def test_matches_keras(name):
    keras = _keras()
    x = np.clip(X, -10, 10).astype("float32")
    theirs = np.asarray(getattr(keras.activations, name)(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(A(act.get(name)(x)), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", RELU_ARGS, ids=str)
def test_relu_arguments_match_keras(kwargs):
    keras = _keras()
    x = X.astype("float32")
    np.testing.assert_allclose(A(act.relu(x, **kwargs)), np.asarray(keras.activations.relu(x, **kwargs)), rtol=1e-6)


def test_sparsemax_matches_keras_where_the_support_is_one_element():
    # Keras 3.15's sparsemax computes tau from the sum of the cumulative sums over the support,
    # which is right only when the support has one element (its outputs do not sum to 1
    # otherwise); layerkit follows Martins & Astudillo (2016). Compare where they must agree.
    keras = _keras()
    x = np.array([[5.0, 0.1, -1.0, 2.0], [0.0, 3.0, 1.5, -2.0]], dtype="float32")
    np.testing.assert_allclose(A(act.sparsemax(x)), np.asarray(keras.activations.sparsemax(x)), atol=1e-6)


def test_names_and_serialization_match_keras():
    keras = _keras()
    from keras.src.activations import ALL_OBJECTS_DICT as KERAS_NAMES

    assert sorted(KERAS_NAMES) == sorted(act.ALL_OBJECTS_DICT)
    for name in KERAS_NAMES:
        assert act.serialize(act.get(name)) == keras.activations.serialize(keras.activations.get(name))
