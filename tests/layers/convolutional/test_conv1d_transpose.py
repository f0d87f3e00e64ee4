"""Tests of Conv1DTranspose: conformance, the numpy scatter formula, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(filters=4, kernel_size=3, strides=2),
    dict(filters=3, kernel_size=4, strides=3, padding="same", output_padding=2, activation="tanh"),
    dict(filters=3, kernel_size=3, dilation_rate=2, padding="same", data_format="channels_first"),
    dict(filters=2, kernel_size=2, strides=2, output_padding=0, use_bias=False),
]


def _input_shape(kw, steps=4, channels=3, batch=2):
    return (batch, channels, steps) if kw.get("data_format") == "channels_first" else (batch, steps, channels)


@pytest.mark.parametrize("kw", CONFIGS[:3])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.Conv1DTranspose, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.Conv1DTranspose(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=2)


def test_output_shapes():
    assert lk.layers.Conv1DTranspose(2, 3, 2).compute_output_shape((None, 4, 5)) == (None, 9, 2)
    assert lk.layers.Conv1DTranspose(2, 3, 2, padding="same").compute_output_shape((None, 4, 5)) == (None, 8, 2)
    assert lk.layers.Conv1DTranspose(2, 1, 3).compute_output_shape((1, 4, 5)) == (1, 12, 2)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.Conv1DTranspose(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    expected = ref.conv_transpose(x, weights[0], layer.strides, layer.padding, layer.output_padding,
                                  layer.dilation_rate, df)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[1], df)
    np.testing.assert_allclose(out, ref.activation(kw.get("activation"), expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Conv1DTranspose(**kw), keras.layers.Conv1DTranspose, kw, data(_input_shape(kw), seed=3))


def test_weights_shapes():
    layer = lk.layers.Conv1DTranspose(6, 3)
    layer.build((None, 4, 5))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 6, 5)), ("bias", (6,))]


def test_errors():
    with pytest.raises(ValueError, match="`output_padding` must be a non-negative int or a tuple of 1"):
        lk.layers.Conv1DTranspose(2, 3, strides=2, output_padding=(1, 1))
    with pytest.raises(ValueError, match="smaller than the matching stride"):
        lk.layers.Conv1DTranspose(2, 3, output_padding=1)
    with pytest.raises(ValueError, match="Conv1DTranspose 'ct1' expects an input of rank 3"):
        lk.layers.Conv1DTranspose(2, 3, name="ct1")(np.zeros((2, 4), "float32"))
