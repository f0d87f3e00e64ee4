"""Tests of Cropping2D: conformance, numpy slicing, Keras parity, argument forms, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [
    (dict(), ((0, 0), (0, 0))),
    (dict(cropping=1), ((1, 1), (1, 1))),
    (dict(cropping=(2, 1)), ((2, 2), (1, 1))),
    (dict(cropping=((1, 0), (0, 2)), data_format="channels_first"), ((1, 0), (0, 2))),
]


def _input_shape(kw):
    return (2, 3, 6, 5) if kw.get("data_format") == "channels_first" else (2, 6, 5, 3)


@pytest.mark.parametrize("kw, crops", CASES)
def test_run_layer_test(kw, crops):
    shape = _input_shape(kw)
    run_layer_test(lk.layers.Cropping2D, init_kwargs=kw, input_shape=shape,
                   expected_output_shape=lk.layers.Cropping2D(**kw).compute_output_shape(shape),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, crops", CASES)
def test_matches_numpy_slicing(kw, crops, data):
    layer = lk.layers.Cropping2D(**kw)
    assert layer.cropping == crops
    x = data(_input_shape(kw))
    (t, b), (left, r) = crops
    if layer.data_format == "channels_last":
        expected = x[:, t:x.shape[1] - b, left:x.shape[2] - r, :]
    else:
        expected = x[:, :, t:x.shape[2] - b, left:x.shape[3] - r]
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)


@pytest.mark.parametrize("kw, crops", CASES)
def test_matches_keras(kw, crops, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Cropping2D(**kw), keras.layers.Cropping2D(**kw), data(_input_shape(kw), seed=1))


def test_unknown_sizes_stay_unknown():
    assert lk.layers.Cropping2D(((1, 2), (0, 1))).compute_output_shape((None, None, 5, 3)) == (None, None, 4, 3)


@pytest.mark.parametrize("cropping", [-1, (1, 2, 3), ((1, 2), "a"), ((1, -1), (0, 0))])
def test_bad_cropping(cropping):
    with pytest.raises(ValueError, match="Cropping2D .*: `cropping`"):
        lk.layers.Cropping2D(cropping)


def test_cropping_everything_is_an_error():
    with pytest.raises(ValueError, match=r"Cropping2D 'cr'.*must leave at least one row and one column.*"
                                         r"\(1, 4, 5, 3\)"):
        lk.layers.Cropping2D(((2, 2), (0, 0)), name="cr")(np.zeros((1, 4, 5, 3), "float32"))
    with pytest.raises(ValueError, match="Cropping2D 'cr2' expects an input of rank 4"):
        lk.layers.Cropping2D(name="cr2")(np.zeros((1, 4, 5), "float32"))


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Cropping2D(((1, 0), (2, 3)), data_format="channels_first")
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.Cropping2D.from_config(config)
    back = lk.layers.Cropping2D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
