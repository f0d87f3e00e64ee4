"""Tests of GaussianNoise: conformance, inference identity, noise statistics, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def test_run_layer_test():
    run_layer_test(lk.layers.GaussianNoise, init_kwargs={"stddev": 0.1, "seed": 1}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0, supports_masking=True)


def test_inference_identity_and_training_statistics():
    x = np.random.default_rng(0).standard_normal((200, 100)).astype("float32")
    layer = lk.layers.GaussianNoise(0.2, seed=4)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    noise = np.asarray(layer(x, training=True)) - x
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.2) < 0.01
    assert not np.array_equal(noise, np.asarray(layer(x, training=True)) - x)


def test_functional_model_follows_training():
    inp = lk.layers.Input((10,))
    model = lk.models.Model(inp, lk.layers.GaussianNoise(0.5)(inp))
    x = np.ones((4, 10), "float32")
    np.testing.assert_array_equal(np.asarray(model(x)), x)
    assert not np.array_equal(np.asarray(model(x, training=True)), x)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    x = np.ones((2, 3), "float32")
    keras_compare(lk.layers.GaussianNoise(0.3, seed=2), keras.layers.GaussianNoise(0.3, seed=2), x)


@pytest.mark.parametrize("stddev", [-0.1, 1.5, "0.1"])
def test_bad_stddev(stddev):
    with pytest.raises(ValueError, match=r"GaussianNoise '.*'.*stddev"):
        lk.layers.GaussianNoise(stddev)
