"""Tests of DepthwiseConv1D: conformance, a per-channel numpy formula, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(kernel_size=3, depth_multiplier=2),
    dict(kernel_size=2, strides=2, padding="same", data_format="channels_first", activation="tanh"),
    dict(kernel_size=3, dilation_rate=2, use_bias=False),
]


def _input_shape(kw, steps=7, channels=3, batch=2):
    return (batch, channels, steps) if kw.get("data_format") == "channels_first" else (batch, steps, channels)


@pytest.mark.parametrize("kw", CONFIGS[:2])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.DepthwiseConv1D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.DepthwiseConv1D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=2)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.DepthwiseConv1D(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    expected = ref.depthwise(x, weights[0], strides=layer.strides, padding=layer.padding,
                             dilation_rate=layer.dilation_rate, data_format=df)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[1], df)
    np.testing.assert_allclose(out, ref.activation(kw.get("activation"), expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.DepthwiseConv1D(**kw), keras.layers.DepthwiseConv1D, kw, data(_input_shape(kw), seed=5))


def test_weights_shapes_and_errors():
    layer = lk.layers.DepthwiseConv1D(3, depth_multiplier=4)
    layer.build((None, 6, 2))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 4)), ("bias", (8,))]
    with pytest.raises(ValueError, match="`padding` must be one of"):
        lk.layers.DepthwiseConv1D(3, padding="causal")
    with pytest.raises(ValueError, match="DepthwiseConv1D 'd1'.*zero or negative size"):
        lk.layers.DepthwiseConv1D(5, name="d1")(np.zeros((1, 3, 2), "float32"))
