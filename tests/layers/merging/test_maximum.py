"""Tests of Maximum: conformance, the numpy formula, broadcasting, the functional form `maximum`, Keras parity."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _numpy(xs):
    return np.maximum.reduce(xs)


def test_run_layer_test():
    run_layer_test(lk.layers.Maximum, input_shape=[(2, 3, 4)] * 3, expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


def test_run_layer_test_broadcasting():
    run_layer_test(lk.layers.Maximum, input_shape=[(2, 3, 4)] + [(2, 1, 4)] * (3 - 1), expected_output_shape=(2, 3, 4))


def test_matches_numpy():
    xs = [_data((2, 5), seed) for seed in range(3)]
    np.testing.assert_allclose(np.asarray(lk.layers.Maximum()(xs)), _numpy(xs), rtol=1e-6, atol=1e-7)


def test_functional_form():
    xs = [_data((2, 5), seed) for seed in range(3)]
    np.testing.assert_allclose(np.asarray(lk.layers.maximum(xs, name="f")), _numpy(xs), rtol=1e-6, atol=1e-7)
    inputs = [lk.layers.Input((5,)) for _ in range(3)]
    model = lk.models.Model(inputs, lk.layers.maximum(inputs))
    np.testing.assert_allclose(np.asarray(model(xs)), _numpy(xs), rtol=1e-6, atol=1e-7)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    xs = [_data((2, 3, 4), seed) for seed in range(3)]
    keras_compare(lk.layers.Maximum(), keras.layers.Maximum(), xs)
    xs[-1] = xs[-1][:, :1]
    keras_compare(lk.layers.Maximum(), keras.layers.Maximum(), xs)


def test_masked_entries_do_not_take_part():
    a = np.array([[[-2.0], [0.0]]], "float32")  # step 1 masked
    b = np.array([[[-5.0], [-1.0]]], "float32")
    out = lk.layers.Maximum()([lk.layers.Masking()(a), lk.layers.Masking()(b)])
    np.testing.assert_array_equal(np.asarray(out), [[[-2.0], [-1.0]]])  # not max(0, -1) = 0
