"""Tests of RepeatVector: conformance, numpy repeat, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def test_run_layer_test():
    run_layer_test(lk.layers.RepeatVector, init_kwargs={"n": 3}, input_shape=(2, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0)


def test_matches_numpy():
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_array_equal(np.asarray(lk.layers.RepeatVector(3)(x)), np.repeat(x[:, None, :], 3, axis=1))


def test_keeps_special_values():
    x = np.array([[-0.0, np.inf, np.nan]], "float32")
    out = np.asarray(lk.layers.RepeatVector(2)(x))
    np.testing.assert_array_equal(out, np.repeat(x[:, None, :], 2, axis=1))
    assert np.signbit(out[0, 1, 0])


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.RepeatVector(5), keras.layers.RepeatVector(5), np.ones((2, 3), "float32"))


def test_symbolic_unknown_batch():
    assert lk.layers.RepeatVector(4)(lk.layers.Input((3,))).shape == (None, 4, 3)


def test_bad_n_and_rank():
    with pytest.raises(TypeError, match=r"RepeatVector '.*'.*`n` must be an int"):
        lk.layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        lk.layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r"RepeatVector 'rv' expects an input of rank 2.*\(2, 3, 4\)"):
        lk.layers.RepeatVector(2, name="rv")(np.ones((2, 3, 4), "float32"))
