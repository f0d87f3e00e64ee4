"""Tests of SeparableConv1D: conformance, depthwise-then-pointwise numpy formula, Keras parity."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(filters=4, kernel_size=3, depth_multiplier=2),
    dict(filters=3, kernel_size=2, strides=2, padding="same", data_format="channels_first", activation="tanh"),
    dict(filters=2, kernel_size=3, dilation_rate=2, use_bias=False),
]


def _input_shape(kw, steps=7, channels=3, batch=2):
    return (batch, channels, steps) if kw.get("data_format") == "channels_first" else (batch, steps, channels)


@pytest.mark.parametrize("kw", CONFIGS[:2])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.SeparableConv1D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.SeparableConv1D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=3)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.SeparableConv1D(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    depthwise = ref.depthwise(x, weights[0], strides=layer.strides, padding=layer.padding,
                              dilation_rate=layer.dilation_rate, data_format=df)
    expected = ref.conv(depthwise, weights[1], data_format=df)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[2], df)
    np.testing.assert_allclose(out, ref.activation(kw.get("activation"), expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.SeparableConv1D(**kw), keras.layers.SeparableConv1D, kw, data(_input_shape(kw), seed=7))


def test_weights_shapes_and_errors():
    layer = lk.layers.SeparableConv1D(5, 3, depth_multiplier=2)
    layer.build((None, 6, 4))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("depthwise_kernel", (3, 4, 2)), ("pointwise_kernel", (1, 8, 5)), ("bias", (5,))]
    with pytest.raises(ValueError, match="`padding` must be one of"):
        lk.layers.SeparableConv1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="SeparableConv1D 's1' expects an input of rank 3"):
        lk.layers.SeparableConv1D(2, 3, name="s1")(np.zeros((1, 5, 5, 3), "float32"))
