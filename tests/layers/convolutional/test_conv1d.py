"""Tests of Conv1D: conformance, the numpy formula (with causal padding), Keras parity, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=2, strides=2, padding="same", activation="relu"),
    dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2),
    dict(filters=4, kernel_size=3, groups=2, data_format="channels_first", bias_initializer="ones"),
    dict(filters=2, kernel_size=1, use_bias=False, padding="CAUSAL"),
]


def _input_shape(kw, steps=7, channels=4, batch=2):
    return (batch, channels, steps) if kw.get("data_format") == "channels_first" else (batch, steps, channels)


@pytest.mark.parametrize("kw", CONFIGS[:4])
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.Conv1D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.Conv1D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=2)


def test_output_shapes():
    assert lk.layers.Conv1D(3, 3).compute_output_shape((2, 7, 4)) == (2, 5, 3)
    assert lk.layers.Conv1D(3, 3, padding="causal", dilation_rate=3).compute_output_shape((2, 7, 4)) == (2, 7, 3)
    assert lk.layers.Conv1D(3, 2, strides=3, padding="same").compute_output_shape((None, 7, 4)) == (None, 3, 3)
    assert lk.layers.Conv1D(3, 2, data_format="channels_first").compute_output_shape((2, 4, 7)) == (2, 3, 6)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.Conv1D(**kw)
    x = data(_input_shape(kw))
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    df = layer.data_format
    padding = layer.padding
    if padding == "causal":  # zeros before the sequence: output[t] sees input[:t + 1]
        left = layer.dilation_rate[0] * (layer.kernel_size[0] - 1)
        x = np.pad(x, ((0, 0), (left, 0), (0, 0)) if df == "channels_last" else ((0, 0), (0, 0), (left, 0)))
        padding = "valid"
    expected = ref.conv(x, weights[0], layer.strides, padding, layer.dilation_rate, df)
    if layer.use_bias:
        expected = ref.add_bias(expected, weights[1], df)
    np.testing.assert_allclose(out, ref.activation(kw.get("activation"), expected), rtol=1e-5, atol=1e-5)


def test_causal_output_ignores_the_future(data):
    layer = lk.layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = data((1, 8, 3))
    future = x.copy()
    future[:, 5:] += 10.0
    a, b = np.asarray(layer(x)), np.asarray(layer(future))
    np.testing.assert_allclose(a[:, :5], b[:, :5], rtol=1e-6)
    assert not np.allclose(a[:, 5:], b[:, 5:])


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Conv1D(**kw), keras.layers.Conv1D, kw, data(_input_shape(kw), seed=1))


def test_weights_shapes():
    layer = lk.layers.Conv1D(6, 3, groups=2)
    layer.build((None, 10, 4))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 6)), ("bias", (6,))]


@pytest.mark.parametrize("kwargs, match", [
    (dict(filters=-1, kernel_size=3), "`filters` must be a positive int"),
    (dict(filters=2, kernel_size=(3, 3)), "`kernel_size` must be a positive int or a tuple of 1"),
    (dict(filters=2, kernel_size=3, padding="full"), "`padding` must be one of"),
    (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "cannot be combined"),
    (dict(filters=3, kernel_size=3, groups=2), "divisible by `groups`"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.Conv1D(**kwargs)


def test_input_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Conv1D 'c1' expects an input of rank 3, but received an input of "
                                         r"shape \(2, 3, 4, 5\)"):
        lk.layers.Conv1D(2, 3, name="c1")(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match="Conv1D 'c2'.*zero or negative size"):
        lk.layers.Conv1D(2, 5, name="c2")(np.zeros((1, 4, 2), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Conv1D(4, 3, padding="causal", dilation_rate=2)
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.Conv1D.from_config(config)
    back = lk.layers.Conv1D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
