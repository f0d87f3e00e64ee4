"""Tests of Identity: conformance, pass-through of values, nested inputs and masks, Keras parity."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def test_run_layer_test():
    run_layer_test(lk.layers.Identity, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


def test_returns_inputs_unchanged():
    x = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    np.testing.assert_array_equal(np.asarray(lk.layers.Identity()(x)), x)


def test_nested_inputs():
    a, b = lk.ops.ones((2, 3)), lk.ops.zeros((2, 1))
    out = lk.layers.Identity()([a, b])
    assert [tuple(o.shape) for o in out] == [(2, 3), (2, 1)]
    assert lk.layers.Identity().compute_output_shape((None, 4)) == (None, 4)


def test_mask_passes_through():
    x = lk.layers.Masking()(lk.ops.convert_to_tensor(np.array([[[1.0], [0.0]]], "float32")))
    out = lk.layers.Identity()(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, False]])


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Identity(), keras.layers.Identity(), np.ones((2, 3), "float32"))
