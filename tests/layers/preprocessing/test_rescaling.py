"""Tests of Rescaling: conformance, the formula, int inputs, per-channel values, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def test_run_layer_test():
    run_layer_test(lk.layers.Rescaling, init_kwargs={"scale": 0.5, "offset": -1.0}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0, supports_masking=True)


def test_matches_numpy():
    x = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(lk.layers.Rescaling(3.0, offset=0.5)(x)), x * 3.0 + 0.5, rtol=1e-6)


def test_int_inputs_give_layer_dtype():
    pixels = np.array([[0, 128, 255]], "int32")
    out = lk.layers.Rescaling(1 / 255)(pixels)
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out), pixels / 255, rtol=1e-6)
    assert lk.layers.Rescaling(2.0, dtype="float64")(pixels).dtype == "float64"


def test_per_channel_scale_and_offset():
    x = np.ones((2, 2, 3), "float32")
    out = np.asarray(lk.layers.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 0.5, 1.0])(x))
    np.testing.assert_allclose(out, np.broadcast_to([1.0, 2.5, 4.0], (2, 2, 3)))


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(1).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    keras_compare(lk.layers.Rescaling(1 / 127.5, offset=-1), keras.layers.Rescaling(1 / 127.5, offset=-1), x)
    ours = lk.layers.Rescaling(0.5).get_config()
    theirs = keras.layers.Rescaling(0.5).get_config()
    assert (ours["scale"], ours["offset"]) == (theirs["scale"], theirs["offset"])


@pytest.mark.parametrize("kwargs", [{"scale": "2"}, {"scale": None}, {"scale": 1.0, "offset": [1, "a"]}])
def test_bad_values(kwargs):
    with pytest.raises(ValueError, match=r"Rescaling '.*'"):
        lk.layers.Rescaling(**kwargs)
