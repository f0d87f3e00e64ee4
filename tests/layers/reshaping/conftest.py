"""Shared helpers of the reshaping layer tests: the comparison of a weightless layer with the
real Keras layer, and test data."""
import numpy as np
import pytest


def compare_with_keras(lk_layer, k_layer, inputs, rtol=1e-5, atol=1e-6):
    """Calls both (weightless) layers on numpy `inputs`: same outputs, same `get_config()` keys
    in Keras's order and values. Returns both outputs."""
    ours, theirs = np.asarray(lk_layer(inputs)), np.asarray(k_layer(inputs))
    assert ours.shape == theirs.shape, f"output shape {ours.shape} != Keras's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    ours_config, theirs_config = lk_layer.get_config(), k_layer.get_config()
    assert list(ours_config) == list(theirs_config), f"config keys {list(ours_config)} != {list(theirs_config)}"
    for key in list(theirs_config)[3:]:  # after name, trainable, dtype
        assert ours_config[key] == theirs_config[key], key
    assert lk_layer.weights == [] and k_layer.weights == []
    return ours, theirs


@pytest.fixture
def keras_compare():
    return compare_with_keras


@pytest.fixture
def data():
    return lambda shape, seed=0: np.random.default_rng(seed).standard_normal(shape).astype("float32")
