"""Tests of Cropping1D: conformance, numpy slicing, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [(dict(), (1, 1)), (dict(cropping=(2, 0)), (2, 0)), (dict(cropping=(0, 3)), (0, 3))]


@pytest.mark.parametrize("kw, crops", CASES)
def test_run_layer_test(kw, crops):
    run_layer_test(lk.layers.Cropping1D, init_kwargs=kw, input_shape=(2, 5, 3),
                   expected_output_shape=(2, 5 - sum(crops), 3), expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, crops", CASES)
def test_matches_numpy_slicing(kw, crops, data):
    x = data((2, 5, 3))
    np.testing.assert_array_equal(np.asarray(lk.layers.Cropping1D(**kw)(x)), x[:, crops[0]:5 - crops[1]])


@pytest.mark.parametrize("kw, crops", CASES)
def test_matches_keras(kw, crops, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Cropping1D(**kw), keras.layers.Cropping1D(**kw), data((2, 5, 3), seed=1))


def test_errors():
    with pytest.raises(ValueError, match="Cropping1D .*: `cropping` must be a non-negative int or a tuple of 2"):
        lk.layers.Cropping1D((1, -1))
    with pytest.raises(ValueError, match=r"Cropping1D 'c1'.*must leave at least one step.*\(1, 3, 2\)"):
        lk.layers.Cropping1D((1, 2), name="c1")(np.zeros((1, 3, 2), "float32"))
    assert lk.layers.Cropping1D(1).compute_output_shape((None, None, 2)) == (None, None, 2)
