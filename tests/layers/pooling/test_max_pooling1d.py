"""Tests of MaxPooling1D: conformance, the numpy formula, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(),
    dict(pool_size=3, strides=1),
    dict(pool_size=3, strides=2, padding="same", data_format="channels_first"),
]


def _input_shape(kw, steps=7, channels=3, batch=2):
    return (batch, channels, steps) if kw.get("data_format") == "channels_first" else (batch, steps, channels)


@pytest.mark.parametrize("kw", CONFIGS)
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.MaxPooling1D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.MaxPooling1D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.MaxPooling1D(**kw)
    x = data(_input_shape(kw))
    expected = ref.pool(x, layer.pool_size, layer.strides, layer.padding, layer.data_format, "max")
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-6)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.MaxPooling1D(**kw), keras.layers.MaxPooling1D(**kw), data(_input_shape(kw), seed=1))


def test_shapes_and_errors():
    assert lk.layers.MaxPooling1D().compute_output_shape((None, 7, 3)) == (None, 3, 3)
    assert lk.layers.MaxPooling1D().get_config()["strides"] == (2,)
    with pytest.raises(ValueError, match="`pool_size` must be a positive int or a tuple of 1"):
        lk.layers.MaxPooling1D((2, 2))
    with pytest.raises(ValueError, match="MaxPooling1D 'p1' expects an input of rank 3"):
        lk.layers.MaxPooling1D(name="p1")(np.zeros((1, 4, 4, 1), "float32"))
