"""Tests of AveragePooling2D: conformance, the numpy formula ("same" borders average the cells
inside only), Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(pool_size=2),
    dict(pool_size=(2, 3), strides=1),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(3, 2), strides=(2, 1), padding="same", data_format="channels_first"),
]


def _input_shape(kw, spatial=(5, 6), channels=3, batch=2):
    return (batch, channels) + spatial if kw.get("data_format") == "channels_first" else (batch,) + spatial + (
        channels,)


@pytest.mark.parametrize("kw", CONFIGS)
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.AveragePooling2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.AveragePooling2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.AveragePooling2D(**kw)
    x = data(_input_shape(kw))
    expected = ref.pool(x, layer.pool_size, layer.strides, layer.padding, layer.data_format, "average")
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_same_padding_border_averages_inside_cells_only():
    x = np.ones((1, 3, 3, 1), "float32")
    np.testing.assert_allclose(np.asarray(lk.layers.AveragePooling2D(2, padding="same")(x)), np.ones((1, 2, 2, 1)))


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.AveragePooling2D(**kw), keras.layers.AveragePooling2D(**kw),
                  data(_input_shape(kw), seed=1))


def test_pool_size_is_required_and_errors():
    with pytest.raises(TypeError):
        lk.layers.AveragePooling2D()
    with pytest.raises(ValueError, match="`strides`"):
        lk.layers.AveragePooling2D(2, strides=-1)
    with pytest.raises(ValueError, match="AveragePooling2D 'ap' expects an input of rank 4"):
        lk.layers.AveragePooling2D(2, name="ap")(np.zeros((1, 4, 4), "float32"))
    assert lk.layers.AvgPool2D is lk.layers.AveragePooling2D
