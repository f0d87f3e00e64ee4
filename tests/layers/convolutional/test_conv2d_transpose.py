"""Tests of Conv2DTranspose: conformance, the numpy scatter formula, Keras parity, shapes, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=3, strides=2, padding="same"),
    dict(filters=3, kernel_size=(3, 2), strides=(2, 3), padding="same", output_padding=(1, 2), activation="tanh"),
    dict(filters=3, kernel_size=2, strides=3, output_padding=1, data_format="channels_first"),
    dict(filters=2, kernel_size=3, dilation_rate=2, padding="same", use_bias=False),
    dict(filters=2, kernel_size=1, strides=2),  # "valid" output (n - 1) * s + max(k, s): a trailing zero row
]


def _input_shape(kw, spatial=(3, 4), channels=3, batch=2):
    return (batch, channels) + spatial if kw.get("data_format") == "channels_first" else (batch,) + spatial + (
        channels,)


@pytest.mark.parametrize("kw", CONFIGS[:4])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.Conv2DTranspose, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.Conv2DTranspose(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=2)


def test_output_shapes_follow_keras_rules():
    shape = (None, 3, 4, 5)
    assert lk.layers.Conv2DTranspose(2, 3).compute_output_shape(shape) == (None, 5, 6, 2)
    assert lk.layers.Conv2DTranspose(2, 3, 2, padding="same").compute_output_shape(shape) == (None, 6, 8, 2)
    assert lk.layers.Conv2DTranspose(2, 3, 2, padding="same", output_padding=0).compute_output_shape(shape) == (
        None, 5, 7, 2)
    assert lk.layers.Conv2DTranspose(2, 1, 3).compute_output_shape(shape) == (None, 9, 12, 2)
    assert lk.layers.Conv2DTranspose(2, 3, 2, data_format="channels_first").compute_output_shape(
        (1, 5, 3, None)) == (1, 2, 7, None)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.Conv2DTranspose(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    expected = ref.conv_transpose(x, weights[0], layer.strides, layer.padding, layer.output_padding,
                                  layer.dilation_rate, df)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[1], df)
    np.testing.assert_allclose(out, ref.activation(kw.get("activation"), expected), rtol=1e-5, atol=1e-5)


def test_is_the_gradient_of_conv2d(data):
    # <conv(x, k), y> == <x, conv_transpose(y, k)>: the transpose of the linear map
    layer = lk.layers.Conv2DTranspose(3, 3, strides=2, padding="same", use_bias=False)
    y = data((1, 3, 3, 2))
    out = np.asarray(layer(y))
    x = data(out.shape, seed=1)
    kernel = layer.get_weights()[0]  # (3, 3, filters=3, in=2): as a conv kernel from 3 to 2 channels
    conv = np.asarray(lk.ops.conv(x, kernel, strides=2, padding="same"))
    np.testing.assert_allclose(np.sum(conv * y), np.sum(x * out), rtol=1e-4)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Conv2DTranspose(**kw), keras.layers.Conv2DTranspose, kw, data(_input_shape(kw), seed=2))


def test_weights_shapes():
    layer = lk.layers.Conv2DTranspose(6, (3, 2))
    layer.build((None, 4, 4, 5))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 6, 5)), ("bias", (6,))]


def test_symbolic_unknown_spatial_sizes(data):
    inputs = lk.layers.Input(shape=(None, None, 2))
    layer = lk.layers.Conv2DTranspose(3, 3, strides=2, padding="same")
    outputs = layer(inputs)
    assert outputs.shape == (None, None, None, 3)
    model = lk.models.Model(inputs, outputs)
    x = data((1, 3, 5, 2))
    assert model(x).shape == (1, 6, 10, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(filters=0, kernel_size=3), "`filters` must be a positive int"),
    (dict(filters=2, kernel_size=3, strides=2, output_padding=2), "smaller than the matching stride"),
    (dict(filters=2, kernel_size=3, output_padding=-1), "`output_padding` must be a non-negative int"),
    (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "cannot be combined"),
    (dict(filters=2, kernel_size=3, padding="causal"), "`padding` must be one of"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.Conv2DTranspose(**kwargs)


def test_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match="Conv2DTranspose 'ct' expects an input of rank 4"):
        lk.layers.Conv2DTranspose(2, 3, name="ct")(np.zeros((2, 5, 3), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, data_format="channels_first")
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.Conv2DTranspose.from_config(config)
    back = lk.layers.Conv2DTranspose.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
