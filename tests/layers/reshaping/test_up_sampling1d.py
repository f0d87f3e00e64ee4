"""Tests of UpSampling1D: conformance, np.repeat, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


@pytest.mark.parametrize("size", [1, 2, 3])
def test_run_layer_test(size):
    run_layer_test(lk.layers.UpSampling1D, init_kwargs={"size": size}, input_shape=(2, 4, 3),
                   expected_output_shape=(2, 4 * size, 3), expected_num_trainable_weights=0)


@pytest.mark.parametrize("size", [2, 3])
def test_matches_np_repeat(size, data):
    x = data((2, 4, 3))
    np.testing.assert_array_equal(np.asarray(lk.layers.UpSampling1D(size)(x)), np.repeat(x, size, axis=1))


@pytest.mark.parametrize("size", [2, 3])
def test_matches_keras(size, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.UpSampling1D(size), keras.layers.UpSampling1D(size), data((2, 4, 3), seed=1))


def test_symbolic_batch_and_errors():
    assert lk.layers.UpSampling1D(3)(lk.layers.Input(shape=(4, 2))).shape == (None, 12, 2)
    assert lk.layers.UpSampling1D(3).compute_output_shape((None, None, 2)) == (None, None, 2)
    for bad in (0, 2.0, (2,), True):
        with pytest.raises(ValueError, match="UpSampling1D .*: `size` must be a positive int"):
            lk.layers.UpSampling1D(bad)
    with pytest.raises(ValueError, match="UpSampling1D 'u1' expects an input of rank 3"):
        lk.layers.UpSampling1D(name="u1")(np.zeros((2, 4), "float32"))
