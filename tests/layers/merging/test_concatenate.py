"""Tests of Concatenate: conformance, numpy concatenation, the functional form, masks, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("axis,shapes,expected", [(-1, [(2, 3, 4), (2, 3, 2)], (2, 3, 6)),
                                                  (1, [(2, 3, 4), (2, 1, 4), (2, 2, 4)], (2, 6, 4))])
def test_run_layer_test(axis, shapes, expected):
    run_layer_test(lk.layers.Concatenate, init_kwargs={"axis": axis}, input_shape=shapes,
                   expected_output_shape=expected, expected_num_trainable_weights=0, supports_masking=True)


def test_matches_numpy_and_functional_form():
    xs = [_data((2, 3), 0), _data((2, 5), 1)]
    np.testing.assert_array_equal(np.asarray(lk.layers.Concatenate()(xs)), np.concatenate(xs, -1))
    np.testing.assert_array_equal(np.asarray(lk.layers.concatenate(xs, axis=1)), np.concatenate(xs, 1))
    inputs = [lk.layers.Input((3,)), lk.layers.Input((5,))]
    out = lk.layers.concatenate(inputs)
    assert out.shape == (None, 8)
    np.testing.assert_array_equal(np.asarray(lk.models.Model(inputs, out)(xs)), np.concatenate(xs, -1))


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_matches_keras(keras_compare, axis):
    keras = pytest.importorskip("keras")
    shapes = {-1: [(2, 3, 4), (2, 3, 1)], 1: [(2, 3, 4), (2, 2, 4)], 2: [(2, 3, 4), (2, 3, 5)]}[axis]
    xs = [_data(s, i) for i, s in enumerate(shapes)]
    keras_compare(lk.layers.Concatenate(axis=axis), keras.layers.Concatenate(axis=axis), xs)


def test_compute_output_shape():
    layer = lk.layers.Concatenate(axis=1)
    assert layer.compute_output_shape([(None, 3, 4), (None, 2, 4)]) == (None, 5, 4)
    assert layer.compute_output_shape([(None, None, 4), (None, 2, 4)]) == (None, None, 4)


def _masked(x):
    return lk.layers.Masking()(x)


@pytest.mark.parametrize("axis", [-1, 1])
def test_mask_rule(axis):
    x1, x2 = _data((2, 3, 2), 0), _data((2, 3, 2), 1)
    x1[0, 1] = 0.0
    x2[1, 2] = 0.0
    m1, m2 = np.any(x1 != 0, -1), np.any(x2 != 0, -1)
    out = lk.layers.Concatenate(axis=axis)([_masked(x1), _masked(x2)])
    want = (m1 | m2) if axis == -1 else np.concatenate([m1, m2], 1)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), want)
    half = lk.layers.Concatenate(axis=axis)([_masked(x1), lk.ops.convert_to_tensor(x2)])
    want = np.ones_like(m1) if axis == -1 else np.concatenate([m1, np.ones_like(m2)], 1)
    np.testing.assert_array_equal(np.asarray(half._keras_mask), want)


@pytest.mark.parametrize("axis", [-1, 1])
def test_mask_rule_matches_keras(axis):
    keras = pytest.importorskip("keras")
    x1, x2 = _data((2, 3, 2), 0), _data((2, 3, 2), 1)
    x1[0, 1] = 0.0
    m1 = np.any(x1 != 0, -1)
    ours = lk.layers.Concatenate(axis=axis)([_masked(x1), lk.ops.convert_to_tensor(x2)])
    theirs = keras.layers.Concatenate(axis=axis).compute_mask([x1, x2], [m1, None])
    np.testing.assert_array_equal(np.asarray(ours._keras_mask), np.asarray(theirs))


def test_errors_name_layer():
    with pytest.raises(ValueError, match=r"Concatenate 'c1' requires inputs with matching shapes.*\(2, 3\).*\(3, 4\)"):
        lk.layers.Concatenate(axis=-1, name="c1")([_data((2, 3)), _data((3, 4))])
    with pytest.raises(ValueError, match=r"Concatenate 'c2' requires inputs of the same rank"):
        lk.layers.Concatenate(name="c2")([_data((2, 3)), _data((2, 3, 1))])
    with pytest.raises(ValueError, match=r"Concatenate 'c3'.*axis.*out of range"):
        lk.layers.Concatenate(axis=3, name="c3")([_data((2, 3)), _data((2, 3))])
    with pytest.raises(ValueError, match=r"Concatenate '.*'.*axis"):
        lk.layers.Concatenate(axis="last")
    with pytest.raises(ValueError, match=r"Concatenate 'c4' should be called on a list"):
        lk.layers.Concatenate(name="c4")(_data((2, 3)))
