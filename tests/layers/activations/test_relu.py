"""Tests of ReLU: conformance, the piecewise formula, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

SETTINGS = [{}, {"max_value": 1.0}, {"negative_slope": 0.2}, {"threshold": 0.5},
            {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.3}]


def _data(shape=(3, 4), seed=0):
    # away from the kinks at 0, threshold and max_value, where central differences are not valid
    x = np.random.default_rng(seed).uniform(-3, 3, shape).astype("float32")
    for kink in (0.0, 0.3, 0.5, 1.0, 2.0):
        x[np.abs(x - kink) < 0.05] += 0.1
    return x


def _numpy_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x >= threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        y = np.minimum(y, max_value)
    return y


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_run_layer_test(kwargs):
    run_layer_test(lk.layers.ReLU, init_kwargs=kwargs, input_data=_data(), expected_output_shape=(3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_matches_numpy(kwargs):
    x = _data()
    np.testing.assert_allclose(np.asarray(lk.layers.ReLU(**kwargs)(x)), _numpy_relu(x, **kwargs), rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_matches_keras(keras_compare, kwargs):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.ReLU(**kwargs), keras.layers.ReLU(**kwargs), _data())


@pytest.mark.parametrize("arg,value", [("max_value", -1.0), ("negative_slope", -0.1), ("negative_slope", None),
                                       ("threshold", -1.0), ("threshold", None), ("max_value", "6")])
def test_bad_arguments(arg, value):
    with pytest.raises(ValueError, match=rf"ReLU '.*'.*{arg}"):
        lk.layers.ReLU(**{arg: value})
