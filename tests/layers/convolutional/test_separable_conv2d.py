"""Tests of SeparableConv2D: conformance, depthwise-then-pointwise numpy formula, Keras parity, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=(2, 3), strides=2, padding="same", depth_multiplier=2, activation="relu"),
    dict(filters=2, kernel_size=3, padding="same", dilation_rate=2, data_format="channels_first"),
    dict(filters=3, kernel_size=2, use_bias=False, depthwise_initializer="ones"),
]


def _input_shape(kw, spatial=(5, 6), channels=3, batch=2):
    return (batch, channels) + spatial if kw.get("data_format") == "channels_first" else (batch,) + spatial + (
        channels,)


@pytest.mark.parametrize("kw", CONFIGS[:3])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.SeparableConv2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.SeparableConv2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=3)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.SeparableConv2D(**kw)
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
    keras_compare(lk.layers.SeparableConv2D(**kw), keras.layers.SeparableConv2D, kw, data(_input_shape(kw), seed=6))


def test_weights_follow_keras():
    layer = lk.layers.SeparableConv2D(7, 3, depth_multiplier=2, data_format="channels_first")
    layer.build((None, 5, 8, 8))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("depthwise_kernel", (3, 3, 5, 2)), ("pointwise_kernel", (1, 1, 10, 7)), ("bias", (7,))]


def test_regularizers_reach_both_kernels(data):
    layer = lk.layers.SeparableConv2D(2, 2, depthwise_regularizer="l2", pointwise_regularizer="l1")
    layer(data((1, 3, 3, 2)))
    assert len(layer.losses) == 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(filters=0, kernel_size=3), "`filters` must be a positive int"),
    (dict(filters=2, kernel_size=3, depth_multiplier=-2), "`depth_multiplier` must be a positive int"),
    (dict(filters=2, kernel_size=3, strides=(1, 2), dilation_rate=2), "cannot be combined"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.SeparableConv2D(**kwargs)


def test_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match="SeparableConv2D 'sep' expects an input of rank 4"):
        lk.layers.SeparableConv2D(2, 3, name="sep")(np.zeros((1, 5, 3), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.SeparableConv2D(4, 3, depth_multiplier=2, pointwise_regularizer=lk.regularizers.L1(0.25))
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.SeparableConv2D.from_config(config)
    back = lk.layers.SeparableConv2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
