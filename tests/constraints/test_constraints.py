"""layerkit.constraints: projections against NumPy formulas, the norms they guarantee,
get/serialize, and values and configs against Keras when it is importable."""
import importlib.util
import os

import numpy as np
import pytest

import layerkit as lk
from layerkit import constraints as K

EPS = 1e-7
RNG = np.random.default_rng(1)
DENSE = RNG.normal(size=(6, 4)) * 2.0
CONV = RNG.normal(size=(3, 3, 2, 5))


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


def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


def _max_norm(w, max_value, axis):
    n = _norms(w, axis)
    return w * (np.clip(n, 0, max_value) / (EPS + n))


def _unit_norm(w, axis):
    return w / (EPS + _norms(w, axis))


def _min_max_norm(w, min_value, max_value, rate, axis):
    n = _norms(w, axis)
    desired = rate * np.clip(n, min_value, max_value) + (1 - rate) * n
    return w * (desired / (EPS + n))


# name -> (constraint, float64 NumPy reference, weight)
CASES = {
    "MaxNorm-default": (K.MaxNorm(), lambda w: _max_norm(w, 2, 0), DENSE),
    "MaxNorm-axis1": (K.MaxNorm(1.5, axis=1), lambda w: _max_norm(w, 1.5, 1), DENSE),
    "MaxNorm-conv": (K.MaxNorm(0.5, axis=[0, 1, 2]), lambda w: _max_norm(w, 0.5, [0, 1, 2]), CONV),
    "NonNeg": (K.NonNeg(), lambda w: np.maximum(w, 0), DENSE),
    "UnitNorm-default": (K.UnitNorm(), lambda w: _unit_norm(w, 0), DENSE),
    "UnitNorm-axis1": (K.UnitNorm(axis=1), lambda w: _unit_norm(w, 1), DENSE),
    "UnitNorm-conv": (K.UnitNorm(axis=[0, 1, 2]), lambda w: _unit_norm(w, [0, 1, 2]), CONV),
    "MinMaxNorm-default": (K.MinMaxNorm(), lambda w: _min_max_norm(w, 0.0, 1.0, 1.0, 0), DENSE),
    "MinMaxNorm-rate": (K.MinMaxNorm(3.0, 4.0, rate=0.5, axis=1), lambda w: _min_max_norm(w, 3.0, 4.0, 0.5, 1), DENSE),
    "MinMaxNorm-conv": (K.MinMaxNorm(0.5, 0.8, axis=[0, 1, 2]), lambda w: _min_max_norm(w, 0.5, 0.8, 1.0, [0, 1, 2]),
                        CONV),
    "Constraint": (K.Constraint(), lambda w: w, DENSE),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_against_numpy(case, dtype):
    c, ref, w = CASES[case]
    out = c(lk.convert_to_tensor(w.astype(dtype)))
    assert out.shape == w.shape and out.dtype == dtype
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(A(out), ref(w), rtol=tol, atol=tol)


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_norm_guarantees(axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    n_max = _norms(A(K.MaxNorm(1.0, axis=axis)(DENSE)), ax)
    assert np.all(n_max <= 1.0 + 1e-6)
    np.testing.assert_allclose(_norms(A(K.UnitNorm(axis=axis)(DENSE)), ax), 1.0, rtol=1e-6)
    n_mm = _norms(A(K.MinMaxNorm(2.0, 2.5, axis=axis)(DENSE)), ax)
    assert np.all(n_mm >= 2.0 - 1e-6) and np.all(n_mm <= 2.5 + 1e-6)


def test_small_norms_are_left_alone_by_max_norm():
    w = DENSE * 1e-3
    np.testing.assert_allclose(A(K.MaxNorm(2.0)(w)), w, rtol=1e-3)


def test_constraints_accept_variables_and_lists():
    v = lk.Variable(DENSE.astype("float32"))
    out = K.UnitNorm()(v)
    assert isinstance(out, lk.Tensor)
    np.testing.assert_allclose(A(out), _unit_norm(DENSE, 0), rtol=1e-5)
    np.testing.assert_array_equal(A(K.NonNeg()([[-1.0, 2.0]])), [[0.0, 2.0]])


def test_non_neg_keeps_integer_dtype():
    out = K.NonNeg()(lk.convert_to_tensor(np.array([-2, 3], dtype="int32")))
    assert out.dtype == "int32"
    np.testing.assert_array_equal(A(out), [0, 3])


# ---- get / serialize ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,cls", [
    ("max_norm", K.MaxNorm), ("MaxNorm", K.MaxNorm), ("non_neg", K.NonNeg), ("NonNeg", K.NonNeg),
    ("unit_norm", K.UnitNorm), ("UnitNorm", K.UnitNorm), ("min_max_norm", K.MinMaxNorm),
    ("MinMaxNorm", K.MinMaxNorm),
])
def test_get_by_name(name, cls):
    assert type(K.get(name)) is cls


def test_get_passes_through():
    c = K.MaxNorm(3)
    assert K.get(c) is c and K.get(None) is None and type(K.get(K.NonNeg)) is K.NonNeg
    fn = lambda w: w  # noqa: E731
    assert K.get(fn) is fn
    assert K.serialize(None) is None


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown constraint 'max_nrom'\. Expected one of: .*max_norm.*min_max_norm"
                                         r".*non_neg.*unit_norm"):
        K.get("max_nrom")
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 2"):
        K.get(2)


@pytest.mark.parametrize("c", [K.MaxNorm(3, axis=[0, 1]), K.NonNeg(), K.UnitNorm(axis=1),
                               K.MinMaxNorm(0.1, 2.0, 0.5, 1)], ids=lambda c: type(c).__name__)
def test_serialize_round_trip(c):
    d = K.serialize(c)
    assert d == {"module": "keras.constraints", "class_name": type(c).__name__, "config": c.get_config(),
                 "registered_name": None}
    for back in (K.deserialize(d), K.get(d)):
        assert type(back) is type(c) and back.get_config() == c.get_config()


# ---- against Keras ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs,w", [
    ("MaxNorm", {}, DENSE), ("MaxNorm", {"max_value": 0.5, "axis": [0, 1, 2]}, CONV),
    ("NonNeg", {}, DENSE), ("UnitNorm", {"axis": 1}, DENSE),
    ("MinMaxNorm", {"min_value": 3.0, "max_value": 4.0, "rate": 0.5, "axis": 1}, DENSE),
    ("MinMaxNorm", {}, CONV),
])
def test_matches_keras(name, kwargs, w):
    keras = _keras()
    ours, theirs = getattr(K, name)(**kwargs), getattr(keras.constraints, name)(**kwargs)
    x = w.astype("float32")
    np.testing.assert_allclose(A(ours(x)), np.asarray(theirs(keras.ops.convert_to_tensor(x))), rtol=1e-5, atol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert K.serialize(ours) == keras.constraints.serialize(theirs)
    assert type(K.deserialize(keras.constraints.serialize(theirs))).__name__ == name
