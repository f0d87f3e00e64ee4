"""Tests of Reshape: conformance, numpy reshape, -1 inference, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("target,expected", [((3, 4), (2, 3, 4)), ((-1, 2), (2, 6, 2)), ((12,), (2, 12))])
def test_run_layer_test(target, expected):
    run_layer_test(lk.layers.Reshape, init_kwargs={"target_shape": target}, input_shape=(2, 4, 3),
                   expected_output_shape=expected, expected_num_trainable_weights=0)


def test_matches_numpy():
    x = _data((2, 6, 2))
    np.testing.assert_array_equal(np.asarray(lk.layers.Reshape((4, -1))(x)), x.reshape(2, 4, 3))


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Reshape((2, -1, 3)), keras.layers.Reshape((2, -1, 3)), _data((2, 12)))


def test_compute_output_shape():
    assert lk.layers.Reshape((-1, 2)).compute_output_shape((None, 6)) == (None, 3, 2)
    assert lk.layers.Reshape((-1, 2)).compute_output_shape((None, None)) == (None, None, 2)
    assert lk.layers.Reshape([3, 2]).get_config()["target_shape"] == (3, 2)


def test_symbolic_unknown_axes():
    assert lk.layers.Reshape((-1, 2))(lk.layers.Input((4, 3))).shape == (None, 6, 2)
    assert lk.layers.Reshape((-1, 2))(lk.ops.SymbolicTensor((None, None))).shape == (None, None, 2)


@pytest.mark.parametrize("target", [(-1, -1), (0, 2), (2, -2), ("a",), 3, (2.0,)])
def test_bad_target_shape(target):
    with pytest.raises(ValueError, match=r"Reshape '.*'.*target_shape"):
        lk.layers.Reshape(target)


def test_incompatible_input_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Reshape 'r' cannot reshape samples of shape \(5,\).*\(2, 3\)"):
        lk.layers.Reshape((2, 3), name="r")(_data((2, 5)))
    with pytest.raises(ValueError, match=r"Reshape 'r2'.*not a multiple of 4"):
        lk.layers.Reshape((-1, 4), name="r2")(_data((2, 6)))
