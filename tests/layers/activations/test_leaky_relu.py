"""Tests of LeakyReLU: conformance, the formula, Keras parity, the deprecated `alpha`, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape=(3, 4), seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    x[np.abs(x) < 0.05] += 0.1  # away from the kink at 0
    return x


def test_run_layer_test():
    run_layer_test(lk.layers.LeakyReLU, init_kwargs={"negative_slope": 0.1}, input_data=_data(),
                   expected_output_shape=(3, 4), expected_num_trainable_weights=0, supports_masking=True)


def test_matches_numpy_with_keras_default_slope():
    x = _data()
    layer = lk.layers.LeakyReLU()
    assert layer.negative_slope == 0.3
    np.testing.assert_allclose(np.asarray(layer(x)), np.where(x > 0, x, 0.3 * x), rtol=1e-6)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.LeakyReLU(), keras.layers.LeakyReLU(), _data())
    keras_compare(lk.layers.LeakyReLU(0.05), keras.layers.LeakyReLU(0.05), _data())


def test_alpha_is_a_deprecated_alias():
    with pytest.warns(UserWarning, match="alpha"):
        layer = lk.layers.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2 and "alpha" not in layer.get_config()


@pytest.mark.parametrize("value", [-0.1, None, "0.1"])
def test_bad_slope(value):
    with pytest.raises((ValueError, TypeError), match="negative_slope"):
        lk.layers.LeakyReLU(value)
