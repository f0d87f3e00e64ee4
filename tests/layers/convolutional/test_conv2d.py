"""Tests of Conv2D: conformance, the numpy formula, Keras parity, shapes, regularizers, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=(2, 3), strides=2, padding="same", activation="relu"),
    dict(filters=4, kernel_size=3, padding="same", dilation_rate=2, groups=2),
    dict(filters=2, kernel_size=2, strides=(1, 2), data_format="channels_first", bias_initializer="ones"),
    dict(filters=3, kernel_size=1, use_bias=False, activation="tanh"),
]


def _input_shape(kw, spatial=(5, 6), channels=4, batch=2):
    if kw.get("data_format") == "channels_first":
        return (batch, channels) + spatial
    return (batch,) + spatial + (channels,)


@pytest.mark.parametrize("kw", CONFIGS[:4])
def test_run_layer_test(kw):
    layer = lk.layers.Conv2D(**kw)
    shape = _input_shape(kw)
    run_layer_test(lk.layers.Conv2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=layer.compute_output_shape(shape),
                   expected_num_trainable_weights=2 if kw.get("use_bias", True) else 1,
                   expected_num_non_trainable_weights=0)


def test_run_layer_test_shapes_and_no_bias():
    run_layer_test(lk.layers.Conv2D, init_kwargs=dict(filters=3, kernel_size=(3, 2), strides=2, use_bias=False),
                   input_shape=(2, 7, 5, 2), expected_output_shape=(2, 3, 2, 3), expected_num_trainable_weights=1)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.Conv2D(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    expected = ref.conv(x, weights[0], layer.strides, layer.padding, layer.dilation_rate, df)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[1], df)
    expected = ref.activation(kw.get("activation"), expected)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_kernel_and_bias_shapes_follow_keras():
    layer = lk.layers.Conv2D(6, (3, 2), groups=3)
    layer.build((None, 8, 8, 9))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 3, 6)), ("bias", (6,))]
    first = lk.layers.Conv2D(6, (3, 2), data_format="channels_first")
    first.build((None, 9, 8, 8))
    assert first.kernel.shape == (3, 2, 9, 6)  # the same for either data format


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    x = data(_input_shape(kw), seed=1)
    keras_compare(lk.layers.Conv2D(**kw), keras.layers.Conv2D, kw, x)


def test_config_matches_keras_values():
    keras = pytest.importorskip("keras")
    kw = dict(filters=4, kernel_size=3, strides=2, padding="SAME", dilation_rate=1, activation="relu",
              kernel_regularizer="l2", activity_regularizer="l1")
    ours, theirs = lk.layers.Conv2D(**kw).get_config(), keras.layers.Conv2D(**kw).get_config()
    assert list(ours) == list(theirs)
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                "activation", "use_bias"):
        assert ours[key] == theirs[key], key


def test_config_round_trip_from_json_lists():
    config = lk.layers.Conv2D(4, (3, 2), strides=(2, 1)).get_config()
    config.update(kernel_size=[3, 2], strides=[2, 1], dilation_rate=[1, 1], name="from_json")  # as JSON gives them
    layer = lk.layers.Conv2D.from_config(config)
    assert layer.kernel_size == (3, 2) and layer.strides == (2, 1)
    assert layer(np.zeros((1, 6, 6, 2), "float32")).shape == (1, 2, 5, 4)


def test_symbolic_unknown_spatial_sizes_and_functional_model():
    inputs = lk.layers.Input(shape=(None, None, 3))
    layer = lk.layers.Conv2D(4, 3, strides=2, padding="same")
    outputs = layer(inputs)
    assert outputs.shape == (None, None, None, 4)
    assert layer.compute_output_shape((None, None, 7, 3)) == (None, None, 4, 4)
    model = lk.models.Model(inputs, outputs)
    for shape in ((1, 5, 7, 3), (2, 8, 4, 3)):
        x = np.random.default_rng(0).standard_normal(shape).astype("float32")
        np.testing.assert_allclose(np.asarray(model(x)), np.asarray(layer(x)), rtol=1e-6)


def test_regularizers_add_losses(data):
    layer = lk.layers.Conv2D(2, 2, kernel_regularizer=lk.regularizers.L2(0.1), bias_regularizer="l1",
                             bias_initializer="ones")
    layer(data((1, 3, 3, 2)))
    kernel, bias = layer.get_weights()
    values = sorted(float(np.asarray(v)) for v in layer.losses)
    np.testing.assert_allclose(values, sorted([0.1 * np.sum(kernel ** 2), 0.01 * np.sum(np.abs(bias))]), rtol=1e-5)


def test_float64_layer_computes_in_float64(data):
    layer = lk.layers.Conv2D(2, 2, dtype="float64")
    out = layer(data((1, 3, 3, 2)).astype("float64"))
    assert out.dtype == "float64" and layer.kernel.dtype == "float64"


@pytest.mark.parametrize("kwargs, match", [
    (dict(filters=0, kernel_size=3), "`filters` must be a positive int"),
    (dict(filters=2.5, kernel_size=3), "`filters` must be a positive int"),
    (dict(filters=4, kernel_size=0), "`kernel_size`"),
    (dict(filters=4, kernel_size=(3, 3, 3)), "`kernel_size` must be a positive int or a tuple of 2"),
    (dict(filters=4, kernel_size=3, strides=0), "`strides`"),
    (dict(filters=4, kernel_size=3, strides=2, dilation_rate=2), "cannot be combined"),
    (dict(filters=4, kernel_size=3, groups=3), "divisible by `groups`"),
    (dict(filters=4, kernel_size=3, padding="causal"), "`padding` must be one of"),
    (dict(filters=4, kernel_size=3, data_format="NHWC"), "`data_format`"),
    (dict(filters=4, kernel_size=3, lora_rank=2), "LoRA"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.Conv2D(**kwargs)


def test_wrong_rank_names_the_layer():
    layer = lk.layers.Conv2D(2, 3, name="the_conv")
    with pytest.raises(ValueError, match=r"Conv2D 'the_conv' expects an input of rank 4, but received an input of "
                                         r"shape \(2, 5\)"):
        layer(np.zeros((2, 5), "float32"))


def test_channels_must_match_after_build_and_divide_groups():
    layer = lk.layers.Conv2D(2, 3, name="c")
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="Conv2D 'c' expects the last input axis to be 3"):
        layer(np.zeros((1, 5, 5, 4), "float32"))
    with pytest.raises(ValueError, match="divisible by groups=2"):
        lk.layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))


def test_kernel_larger_than_input_is_reported_at_build():
    with pytest.raises(ValueError, match=r"Conv2D .* zero or negative size.*input of shape \(1, 2, 5, 3\)"):
        lk.layers.Conv2D(2, 3)(np.zeros((1, 2, 5, 3), "float32"))


def test_unknown_channels_cannot_build():
    with pytest.raises(ValueError, match="channel axis of the input must be known"):
        lk.layers.Conv2D(2, 3).build((None, 5, 5, None))


def test_default_names_match_keras():
    assert lk.layers.Conv2D(2, 3).name.startswith("conv2d")
    assert lk.layers.Conv2D(2, 3).name != lk.layers.Conv2D(2, 3).name


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", kernel_regularizer="l2")
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.Conv2D.from_config(config)
    back = lk.layers.Conv2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
