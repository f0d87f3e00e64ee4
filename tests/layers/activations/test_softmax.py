"""Tests of Softmax: conformance, the formula over one or several axes, masks, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_run_layer_test(axis):
    run_layer_test(lk.layers.Softmax, init_kwargs={"axis": axis}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2), [2]])
def test_matches_numpy(axis):
    x = _data((2, 3, 4))
    np_axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    np.testing.assert_allclose(np.asarray(lk.layers.Softmax(axis=axis)(x)), _np_softmax(x, np_axis), rtol=1e-5,
                               atol=1e-7)


def test_mask_formula():
    x = _data((2, 5))
    mask = np.array([[True, True, False, True, False], [False, True, True, True, True]])
    out = np.asarray(lk.layers.Softmax()(x, mask=lk.ops.convert_to_tensor(mask)))
    want = _np_softmax(np.where(mask, x, -1e9), -1) * mask
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_broadcast_and_float_masks():
    x = _data((2, 3, 4))
    bool_mask = np.array([[[True, False, True, True]]])  # (1, 1, 4), broadcast
    out = np.asarray(lk.layers.Softmax()(x, mask=lk.ops.convert_to_tensor(bool_mask)))
    np.testing.assert_allclose(out, _np_softmax(np.where(bool_mask, x, -1e9), -1) * bool_mask, rtol=1e-5, atol=1e-7)
    float_mask = lk.ops.convert_to_tensor(bool_mask.astype("float32"))
    np.testing.assert_allclose(np.asarray(lk.layers.Softmax()(x, mask=float_mask)), out, rtol=1e-6)


def test_run_layer_test_with_mask():
    mask = lk.ops.convert_to_tensor(np.array([[True, False, True]] * 2))
    run_layer_test(lk.layers.Softmax, input_shape=(2, 3), call_kwargs={"mask": mask}, expected_output_shape=(2, 3))


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_matches_keras(keras_compare, axis):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Softmax(axis=axis), keras.layers.Softmax(axis=axis), _data((2, 3, 4)))


def test_masked_matches_keras():
    keras = pytest.importorskip("keras")
    x = _data((2, 3, 4))
    mask = np.array([[[True, False, True, True], [True] * 4, [False, True, False, False]]] * 2)
    ours = np.asarray(lk.layers.Softmax()(x, mask=lk.ops.convert_to_tensor(mask)))
    theirs = np.asarray(keras.layers.Softmax()(x, mask=mask))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_errors_name_layer():
    with pytest.raises(ValueError, match=r"Softmax '.*'.*axis"):
        lk.layers.Softmax(axis="last")
    with pytest.raises(ValueError, match=r"Softmax 'sm'.*broadcastable.*\(2, 3\).*\(2, 4\)"):
        lk.layers.Softmax(name="sm")(_data((2, 3)), mask=lk.ops.convert_to_tensor(np.ones((2, 4), bool)))
