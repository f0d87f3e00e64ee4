"""Tests of Subtract: conformance, the numpy formula, broadcasting, the functional form `subtract`, Keras parity."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _numpy(xs):
    return xs[0] - xs[1]


def test_run_layer_test():
    run_layer_test(lk.layers.Subtract, input_shape=[(2, 3, 4)] * 2, expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


def test_run_layer_test_broadcasting():
    run_layer_test(lk.layers.Subtract, input_shape=[(2, 3, 4)] + [(2, 1, 4)] * (2 - 1), expected_output_shape=(2, 3, 4))


def test_matches_numpy():
    xs = [_data((2, 5), seed) for seed in range(2)]
    np.testing.assert_allclose(np.asarray(lk.layers.Subtract()(xs)), _numpy(xs), rtol=1e-6, atol=1e-7)


def test_functional_form():
    xs = [_data((2, 5), seed) for seed in range(2)]
    np.testing.assert_allclose(np.asarray(lk.layers.subtract(xs, name="f")), _numpy(xs), rtol=1e-6, atol=1e-7)
    inputs = [lk.layers.Input((5,)) for _ in range(2)]
    model = lk.models.Model(inputs, lk.layers.subtract(inputs))
    np.testing.assert_allclose(np.asarray(model(xs)), _numpy(xs), rtol=1e-6, atol=1e-7)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    xs = [_data((2, 3, 4), seed) for seed in range(2)]
    keras_compare(lk.layers.Subtract(), keras.layers.Subtract(), xs)
    xs[-1] = xs[-1][:, :1]
    keras_compare(lk.layers.Subtract(), keras.layers.Subtract(), xs)


def test_exactly_two_inputs():
    with pytest.raises(ValueError, match=r"Subtract 's3' should be called on exactly 2 inputs.*3"):
        lk.layers.Subtract(name="s3")([_data((2, 3))] * 3)
    with pytest.raises(ValueError, match=r"Subtract 's1' should be called on exactly 2 inputs"):
        lk.layers.Subtract(name="s1")([_data((2, 3))])
    with pytest.raises(ValueError, match="exactly 2"):
        lk.layers.Subtract().compute_output_shape([(None, 3)] * 3)
