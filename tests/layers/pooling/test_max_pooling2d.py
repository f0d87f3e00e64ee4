"""Tests of MaxPooling2D: conformance, the numpy formula, Keras parity, shapes, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(),
    dict(pool_size=(2, 3), strides=1),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(3, 2), strides=(1, 2), padding="same", data_format="channels_first"),
]


def _input_shape(kw, spatial=(5, 6), channels=3, batch=2):
    return (batch, channels) + spatial if kw.get("data_format") == "channels_first" else (batch,) + spatial + (
        channels,)


@pytest.mark.parametrize("kw", CONFIGS)
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.MaxPooling2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.MaxPooling2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def test_output_shapes():
    assert lk.layers.MaxPooling2D().compute_output_shape((None, 5, 6, 3)) == (None, 2, 3, 3)
    assert lk.layers.MaxPooling2D(3, 2, "same").compute_output_shape((1, 5, None, 3)) == (1, 3, None, 3)
    assert lk.layers.MaxPooling2D(2, data_format="channels_first").compute_output_shape((1, 3, 5, 6)) == (1, 3, 2, 3)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, ref, data):
    layer = lk.layers.MaxPooling2D(**kw)
    x = data(_input_shape(kw))
    expected = ref.pool(x, layer.pool_size, layer.strides, layer.padding, layer.data_format, "max")
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-6)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.MaxPooling2D(**kw), keras.layers.MaxPooling2D(**kw), data(_input_shape(kw), seed=1))


def test_config_defaults_match_keras_spec():
    config = lk.layers.MaxPooling2D().get_config()
    assert list(config)[3:] == ["pool_size", "padding", "strides", "data_format"]
    assert (config["pool_size"], config["padding"], config["strides"], config["data_format"]) == (
        (2, 2), "valid", (2, 2), "channels_last")
    assert lk.layers.MaxPool2D is lk.layers.MaxPooling2D


def test_gradient_reaches_the_maximum_only():
    x = lk.ops.convert_to_tensor(np.array([[[[1.0], [3.0]], [[2.0], [0.0]]]], "float32"))
    with lk.autodiff.GradientTape() as tape:
        tape.watch(x)
        y = lk.ops.sum(lk.layers.MaxPooling2D()(x))
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x))[0, :, :, 0], [[0.0, 1.0], [0.0, 0.0]])


@pytest.mark.parametrize("kwargs, match", [
    (dict(pool_size=0), "`pool_size`"),
    (dict(pool_size=(2, 2, 2)), "`pool_size` must be a positive int or a tuple of 2"),
    (dict(strides=(1, 0)), "`strides`"),
    (dict(padding="causal"), "`padding` must be one of"),
    (dict(data_format="NHWC"), "`data_format`"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.MaxPooling2D(**kwargs)


def test_input_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'mp' expects an input of rank 4, but received an input of "
                                         r"shape \(2, 5, 3\)"):
        lk.layers.MaxPooling2D(name="mp")(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="MaxPooling2D 'mp2'.*zero or negative size"):
        lk.layers.MaxPooling2D(3, name="mp2")(np.zeros((1, 2, 5, 1), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.MaxPooling2D((2, 3), strides=1, padding="same")
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.MaxPooling2D.from_config(config)
    back = lk.layers.MaxPooling2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
