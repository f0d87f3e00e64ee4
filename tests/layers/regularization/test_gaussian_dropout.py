"""Tests of GaussianDropout: conformance, inference identity, noise statistics, Keras parity, errors."""
import math

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def test_run_layer_test():
    run_layer_test(lk.layers.GaussianDropout, init_kwargs={"rate": 0.3, "seed": 1}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0, supports_masking=True)


def test_inference_identity_and_training_statistics():
    x = np.random.default_rng(0).uniform(1, 2, (200, 100)).astype("float32")
    layer = lk.layers.GaussianDropout(0.2, seed=4)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    factor = np.asarray(layer(x, training=True)) / x
    assert abs(factor.mean() - 1) < 0.01
    assert abs(factor.std() - math.sqrt(0.2 / 0.8)) < 0.01


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.GaussianDropout(0.3, seed=2), keras.layers.GaussianDropout(0.3, seed=2),
                  np.ones((2, 3), "float32"))


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.1"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match=r"GaussianDropout '.*'.*rate"):
        lk.layers.GaussianDropout(rate)
