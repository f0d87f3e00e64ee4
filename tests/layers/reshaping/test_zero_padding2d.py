"""Tests of ZeroPadding2D: conformance, np.pad, Keras parity, argument forms, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [
    (dict(), ((1, 1), (1, 1))),
    (dict(padding=2), ((2, 2), (2, 2))),
    (dict(padding=(1, 3)), ((1, 1), (3, 3))),
    (dict(padding=((1, 0), (2, 3)), data_format="channels_first"), ((1, 0), (2, 3))),
]


def _input_shape(kw):
    return (2, 3, 4, 5) if kw.get("data_format") == "channels_first" else (2, 4, 5, 3)


@pytest.mark.parametrize("kw, pads", CASES)
def test_run_layer_test(kw, pads):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.ZeroPadding2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.ZeroPadding2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, pads", CASES)
def test_matches_np_pad(kw, pads, data):
    layer = lk.layers.ZeroPadding2D(**kw)
    assert layer.padding == pads
    x = data(_input_shape(kw))
    widths = ((0, 0), (0, 0)) + pads if kw.get("data_format") == "channels_first" else ((0, 0),) + pads + ((0, 0),)
    np.testing.assert_array_equal(np.asarray(layer(x)), np.pad(x, widths))


@pytest.mark.parametrize("kw, pads", CASES)
def test_matches_keras(kw, pads, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.ZeroPadding2D(**kw), keras.layers.ZeroPadding2D(**kw), data(_input_shape(kw), seed=1))


def test_unknown_sizes_stay_unknown():
    assert lk.layers.ZeroPadding2D(((1, 2), (3, 4))).compute_output_shape((None, None, 5, 3)) == (None, None, 12, 3)
    out = lk.layers.ZeroPadding2D(1)(lk.layers.Input(shape=(4, 5, 3)))
    assert out.shape == (None, 6, 7, 3)


@pytest.mark.parametrize("padding", [-1, (1, 2, 3), ((1, 2), (3,)), ((1, -1), (0, 0)), "same"])
def test_bad_padding(padding):
    with pytest.raises(ValueError, match="ZeroPadding2D .*: `padding`"):
        lk.layers.ZeroPadding2D(padding)


def test_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match="ZeroPadding2D 'zp' expects an input of rank 4"):
        lk.layers.ZeroPadding2D(name="zp")(np.zeros((2, 3, 4), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.ZeroPadding2D(((1, 2), (3, 4)))
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.ZeroPadding2D.from_config(config)
    back = lk.layers.ZeroPadding2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
