"""Tests of DepthwiseConv2D: conformance, a per-channel numpy formula, Keras parity, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(kernel_size=3),
    dict(kernel_size=(2, 3), strides=2, padding="same", depth_multiplier=2, activation="relu"),
    dict(kernel_size=3, padding="same", dilation_rate=2, data_format="channels_first", bias_initializer="ones"),
    dict(kernel_size=2, depth_multiplier=3, use_bias=False),
]


def _input_shape(kw, spatial=(5, 6), channels=3, batch=2):
    return (batch, channels) + spatial if kw.get("data_format") == "channels_first" else (batch,) + spatial + (
        channels,)


@pytest.mark.parametrize("kw", CONFIGS[:3])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.DepthwiseConv2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.DepthwiseConv2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=2)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_per_channel_numpy_formula(kw, ref, data):
    layer = lk.layers.DepthwiseConv2D(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    kernel, m = weights[0], layer.depth_multiplier
    x_last = np.moveaxis(x, 1, -1) if df == "channels_first" else x
    # channel c alone, through each of its m filters, gives output channel c * m + j
    per_channel = [ref.conv(x_last[..., c:c + 1], kernel[:, :, c:c + 1, j:j + 1], layer.strides, layer.padding,
                            layer.dilation_rate) for c in range(x_last.shape[-1]) for j in range(m)]
    expected = np.concatenate(per_channel, axis=-1)
    if df == "channels_first":
        expected = np.moveaxis(expected, -1, 1)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[1], df)
    np.testing.assert_allclose(out, ref.activation(kw.get("activation"), expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.DepthwiseConv2D(**kw), keras.layers.DepthwiseConv2D, kw, data(_input_shape(kw), seed=4))


def test_weights_follow_keras_3():
    layer = lk.layers.DepthwiseConv2D((3, 2), depth_multiplier=2)
    layer.build((None, 6, 6, 5))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 5, 2)), ("bias", (10,))]
    assert layer.compute_output_shape((None, 6, 6, 5)) == (None, 4, 5, 10)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel_size=3, depth_multiplier=0), "`depth_multiplier` must be a positive int"),
    (dict(kernel_size=(3, 0)), "`kernel_size`"),
    (dict(kernel_size=3, strides=2, dilation_rate=2), "cannot be combined"),
    (dict(kernel_size=3, padding="causal"), "`padding` must be one of"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.DepthwiseConv2D(**kwargs)


def test_input_errors_name_the_layer():
    layer = lk.layers.DepthwiseConv2D(3, name="dw")
    with pytest.raises(ValueError, match="DepthwiseConv2D 'dw' expects an input of rank 4"):
        layer(np.zeros((1, 5, 3), "float32"))
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="DepthwiseConv2D 'dw' expects the last input axis to be 3"):
        layer(np.zeros((1, 5, 5, 2), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.DepthwiseConv2D.from_config(config)
    back = lk.layers.DepthwiseConv2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
