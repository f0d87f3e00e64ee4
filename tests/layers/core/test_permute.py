"""Tests of Permute: conformance, numpy transpose, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_run_layer_test():
    run_layer_test(lk.layers.Permute, init_kwargs={"dims": (3, 1, 2)}, input_shape=(2, 3, 4, 5),
                   expected_output_shape=(2, 5, 3, 4), expected_num_trainable_weights=0)


def test_matches_numpy():
    x = _data((2, 3, 4))
    np.testing.assert_array_equal(np.asarray(lk.layers.Permute((2, 1))(x)), np.transpose(x, (0, 2, 1)))


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Permute((2, 3, 1)), keras.layers.Permute((2, 3, 1)), _data((2, 3, 4, 5)))


def test_compute_output_shape_keeps_none():
    assert lk.layers.Permute((2, 1)).compute_output_shape((None, None, 4)) == (None, 4, None)


@pytest.mark.parametrize("dims", [(0, 1), (1, 3), (2, 2), (), (1.0, 2.0), 2])
def test_bad_dims(dims):
    with pytest.raises(ValueError, match=r"Permute '.*'.*dims"):
        lk.layers.Permute(dims)


def test_wrong_rank_names_layer():
    with pytest.raises(ValueError, match=r"Permute 'p' expects an input of rank 3.*\(2, 3\)"):
        lk.layers.Permute((2, 1), name="p")(_data((2, 3)))
