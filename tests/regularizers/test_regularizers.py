"""layerkit.regularizers: penalties against NumPy formulas, gradients against finite
differences, argument checks, get/serialize, and values and configs against Keras when it is
importable."""
import importlib.util
import os

import numpy as np
import pytest

import layerkit as lk
from layerkit import regularizers as R
from layerkit.testing import check_grad

RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 4))
W_WIDE = RNG.normal(size=(3, 6))


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


def _orthogonal_ref(x, factor, mode):
    m = x if mode == "rows" else x.T
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    p = n @ n.T
    size = m.shape[0]
    off = np.abs(p * (1 - np.eye(size))).sum()
    return factor * 0.5 * off / (size * (size - 1) / 2)


# name -> (regularizer, float64 NumPy reference)
CASES = {
    "L1": (R.L1(0.3), lambda x: 0.3 * np.abs(x).sum()),
    "L1-default": (R.L1(), lambda x: 0.01 * np.abs(x).sum()),
    "L2": (R.L2(0.2), lambda x: 0.2 * np.square(x).sum()),
    "L2-default": (R.L2(), lambda x: 0.01 * np.square(x).sum()),
    "L1L2": (R.L1L2(l1=0.1, l2=0.05), lambda x: 0.1 * np.abs(x).sum() + 0.05 * np.square(x).sum()),
    "L1L2-l1": (R.L1L2(l1=0.1), lambda x: 0.1 * np.abs(x).sum()),
    "L1L2-l2": (R.L1L2(l2=0.1), lambda x: 0.1 * np.square(x).sum()),
    "L1L2-default": (R.L1L2(), lambda x: 0.0),
    "Orthogonal-rows": (R.OrthogonalRegularizer(0.5, "rows"), lambda x: _orthogonal_ref(x, 0.5, "rows")),
    "Orthogonal-columns": (R.OrthogonalRegularizer(0.5, "columns"), lambda x: _orthogonal_ref(x, 0.5, "columns")),
}


@pytest.mark.parametrize("x", [W, W_WIDE], ids=["tall", "wide"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_value_against_numpy(case, x, dtype):
    reg, ref = CASES[case]
    out = reg(lk.convert_to_tensor(x.astype(dtype)))
    assert isinstance(out, lk.Tensor)
    assert out.shape == () and out.dtype == dtype
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(A(out), ref(x), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", [c for c in CASES if c != "L1L2-default"])
def test_gradient(case):
    reg, _ = CASES[case]
    check_grad(lambda w: reg(w), W)


def test_gradient_of_l2_is_two_l2_w():
    w = lk.Variable(W)
    with lk.GradientTape() as tape:
        loss = R.L2(0.25)(w)
    np.testing.assert_allclose(A(tape.gradient(loss, w)), 0.5 * W, rtol=1e-12)


def test_orthogonal_matrix_has_zero_penalty():
    q, _ = np.linalg.qr(RNG.normal(size=(6, 6)))
    assert float(A(R.OrthogonalRegularizer(1.0, "rows")(q))) == pytest.approx(0.0, abs=1e-12)
    assert float(A(R.OrthogonalRegularizer(1.0, "columns")(q))) == pytest.approx(0.0, abs=1e-12)
    same = np.ones((3, 4))  # every pair of rows parallel: the mean |cos| over pairs is 1
    assert float(A(R.OrthogonalRegularizer(0.7, "rows")(same))) == pytest.approx(0.7)


def test_orthogonal_single_row_is_zero_not_nan():
    assert float(A(R.OrthogonalRegularizer(1.0, "rows")(np.ones((1, 4))))) == 0.0


def test_orthogonal_needs_rank_two():
    with pytest.raises(ValueError, match=r"OrthogonalRegularizer: inputs must have rank 2, .*\(2, 3, 4\)"):
        R.OrthogonalRegularizer()(np.ones((2, 3, 4)))


def test_int_input_is_penalized_as_float():
    out = R.L1(0.5)(lk.convert_to_tensor(np.array([1, -2, 3], dtype="int32")))
    assert out.dtype == "float32" and float(A(out)) == 3.0


def test_base_regularizer_gives_zero():
    assert float(A(R.Regularizer()(W))) == 0.0
    with pytest.raises(NotImplementedError, match="Regularizer does not implement get_config"):
        R.Regularizer().get_config()


@pytest.mark.parametrize("make,match", [
    (lambda: R.L1(-0.1), r"L1: argument `l1` must be a non-negative finite float, received l1=-0.1"),
    (lambda: R.L2(float("nan")), r"L2: argument `l2` .*received l2=nan"),
    (lambda: R.L1L2(l1=float("inf")), r"L1L2: argument `l1` .*received l1=inf"),
    (lambda: R.L1L2(l2="0.1"), r"L1L2: argument `l2` .*received l2='0.1'"),
    (lambda: R.OrthogonalRegularizer(factor=-1), r"OrthogonalRegularizer: argument `factor`"),
    (lambda: R.OrthogonalRegularizer(mode="diag"), r"OrthogonalRegularizer: argument `mode` must be one of "
                                                   r"'rows', 'columns', received mode='diag'"),
])
def test_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_none_factors_are_defaults():
    assert R.L1(None).l1 == 0.01 and R.L2(None).l2 == 0.01
    assert R.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


# ---- get / serialize ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,cls", [
    ("l1", R.L1), ("L1", R.L1), ("l2", R.L2), ("L2", R.L2), ("l1_l2", R.L1L2), ("l1l2", R.L1L2), ("L1L2", R.L1L2),
    ("orthogonal_regularizer", R.OrthogonalRegularizer), ("OrthogonalRegularizer", R.OrthogonalRegularizer),
])
def test_get_by_name(name, cls):
    assert type(R.get(name)) is cls


def test_get_passes_through():
    reg = R.L2(0.5)
    assert R.get(reg) is reg
    assert R.get(None) is None
    assert type(R.get(R.L1)) is R.L1

    def fn(w):
        return lk.ops.sum(w)

    assert R.get(fn) is fn
    assert R.serialize(None) is None


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'\. Expected one of: .*l1, l1_l2.*l2.*"
                                         r"orthogonal_regularizer"):
        R.get("l3")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: 0.1"):
        R.get(0.1)


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.2), R.OrthogonalRegularizer(0.4, "columns")],
                         ids=lambda r: type(r).__name__)
def test_serialize_round_trip(reg):
    d = R.serialize(reg)
    assert d == {"module": "keras.regularizers", "class_name": type(reg).__name__, "config": reg.get_config(),
                 "registered_name": None}
    for back in (R.deserialize(d), R.get(d), R.get({"class_name": d["class_name"], "config": d["config"]})):
        assert type(back) is type(reg) and back.get_config() == reg.get_config()
        np.testing.assert_allclose(A(back(W)), A(reg(W)))


# ---- against Keras ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs", [
    ("L1", {"l1": 0.3}), ("L2", {"l2": 0.2}), ("L1L2", {"l1": 0.1, "l2": 0.05}), ("L1L2", {}),
    ("OrthogonalRegularizer", {"factor": 0.5, "mode": "rows"}),
    ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"}),
])
def test_matches_keras(name, kwargs):
    keras = _keras()
    ours = getattr(R, name)(**kwargs)
    theirs = getattr(keras.regularizers, name)(**kwargs)
    x = W.astype("float32")
    np.testing.assert_allclose(A(ours(x)), np.asarray(theirs(keras.ops.convert_to_tensor(x))), rtol=1e-5, atol=1e-7)
    # Keras keeps some factors as float32 tensors, so its configs hold 0.30000001192...
    kc, oc = theirs.get_config(), ours.get_config()
    assert kc.keys() == oc.keys()
    for k in kc:
        assert oc[k] == (pytest.approx(kc[k], rel=1e-6) if isinstance(kc[k], float) else kc[k])
    assert type(keras.regularizers.deserialize(R.serialize(ours))).__name__ == name
    assert type(R.deserialize(keras.regularizers.serialize(theirs))).__name__ == name
