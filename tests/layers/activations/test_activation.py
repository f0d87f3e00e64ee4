"""Tests of Activation: conformance, numpy formulas, Keras parity, config, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("name", ["relu", "tanh", "softmax", "gelu"])
def test_run_layer_test(name):
    run_layer_test(lk.layers.Activation, init_kwargs={"activation": name}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0, supports_masking=True)


def test_matches_numpy():
    x = _data((3, 4))
    np.testing.assert_allclose(np.asarray(lk.layers.Activation("sigmoid")(x)), 1 / (1 + np.exp(-x)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(lk.layers.Activation(None)(x)), x)


def test_callable_activation():
    def double(x):
        return x * 2

    layer = lk.layers.Activation(double)
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 2), "float32"))), [[2.0, 2.0]])
    assert layer.get_config()["activation"]["config"] == "double"


@pytest.mark.parametrize("name", ["relu", "softmax", "silu", "elu", "linear"])
def test_matches_keras(keras_compare, name):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Activation(name), keras.layers.Activation(name), _data((2, 5)))
    assert lk.layers.Activation(name).get_config()["activation"] == keras.layers.Activation(name).get_config()[
        "activation"]


def test_unknown_activation():
    with pytest.raises(ValueError, match="nope"):
        lk.layers.Activation("nope")


def test_mask_passes_through():
    x = lk.layers.Masking()(lk.ops.convert_to_tensor(np.array([[[1.0], [0.0]]], "float32")))
    out = lk.layers.Activation("relu")(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, False]])
