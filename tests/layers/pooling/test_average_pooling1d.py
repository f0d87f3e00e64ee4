"""Tests of AveragePooling1D: conformance, the numpy formula, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(pool_size=2),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=2, strides=1, data_format="channels_first"),
]


def _input_shape(kw, steps=7, channels=3, batch=2):
    return (batch, channels, steps) if kw.get("data_format") == "channels_first" else (batch, steps, channels)


@pytest.mark.parametrize("kw", CONFIGS)
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.AveragePooling1D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.AveragePooling1D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.AveragePooling1D(**kw)
    x = data(_input_shape(kw))
    expected = ref.pool(x, layer.pool_size, layer.strides, layer.padding, layer.data_format, "average")
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.AveragePooling1D(**kw), keras.layers.AveragePooling1D(**kw),
                  data(_input_shape(kw), seed=1))


def test_shapes_and_errors():
    assert lk.layers.AveragePooling1D(3, 2, "same").compute_output_shape((None, 7, 3)) == (None, 4, 3)
    with pytest.raises(ValueError, match="AveragePooling1D 'a1'.*zero or negative size"):
        lk.layers.AveragePooling1D(5, name="a1")(np.zeros((1, 3, 2), "float32"))
    with pytest.raises(ValueError, match="`padding` must be one of"):
        lk.layers.AveragePooling1D(2, padding="full")
