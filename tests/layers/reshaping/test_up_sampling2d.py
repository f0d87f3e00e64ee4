"""Tests of UpSampling2D: conformance, nearest (np.repeat) and bilinear (numpy interpolation)
formulas, Keras parity, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CONFIGS = [
    dict(),
    dict(size=(1, 3)),
    dict(size=(3, 2), data_format="channels_first"),
    dict(size=2, interpolation="bilinear"),
    dict(size=(3, 4), interpolation="bilinear", data_format="channels_first"),
]


def _input_shape(kw):
    return (2, 3, 3, 4) if kw.get("data_format") == "channels_first" else (2, 3, 4, 3)


@pytest.mark.parametrize("kw", CONFIGS)
def test_run_layer_test(kw):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.UpSampling2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.UpSampling2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0)


def _np_linear(x, axis, factor):
    """Half-pixel-centre linear interpolation: output o samples input (o + 0.5) / factor - 0.5,
    clamped to [0, n - 1]."""
    n = x.shape[axis]
    src = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
    return np.take(x, lo, axis=axis) * (1 - w) + np.take(x, hi, axis=axis) * w


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_numpy_formula(kw, data):
    layer = lk.layers.UpSampling2D(**kw)
    x = data(_input_shape(kw))
    axes = (2, 3) if layer.data_format == "channels_first" else (1, 2)
    expected = x
    for axis, factor in zip(axes, layer.size):
        expected = np.repeat(expected, factor, axis) if layer.interpolation == "nearest" else _np_linear(
            expected, axis, factor)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", CONFIGS)
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.UpSampling2D(**kw), keras.layers.UpSampling2D(**kw), data(_input_shape(kw), seed=1))


def test_shapes():
    assert lk.layers.UpSampling2D((2, 3)).compute_output_shape((None, 4, None, 3)) == (None, 8, None, 3)
    assert lk.layers.UpSampling2D(2, data_format="channels_first").compute_output_shape((1, 3, 4, 5)) == (
        1, 3, 8, 10)
    assert lk.layers.UpSampling2D((2, 3))(lk.layers.Input(shape=(4, 5, 3))).shape == (None, 8, 15, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=0), "`size`"),
    (dict(size=(2, 2, 2)), "`size` must be a positive int or a tuple of 2"),
    (dict(interpolation="bicubic"), "`interpolation` must be one of"),
    (dict(data_format="NHWC"), "`data_format`"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lk.layers.UpSampling2D(**kwargs)


def test_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match="UpSampling2D 'up' expects an input of rank 4"):
        lk.layers.UpSampling2D(name="up")(np.zeros((2, 4, 3), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.UpSampling2D((2, 3), interpolation="bilinear")
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.UpSampling2D.from_config(config)
    back = lk.layers.UpSampling2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
