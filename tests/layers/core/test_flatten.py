"""Tests of Flatten: conformance, numpy reshape, channels_first order, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_run_layer_test(data_format):
    run_layer_test(lk.layers.Flatten, init_kwargs={"data_format": data_format}, input_shape=(2, 3, 4, 2),
                   expected_output_shape=(2, 24), expected_num_trainable_weights=0)


def test_matches_numpy():
    x = _data((2, 3, 4))
    np.testing.assert_array_equal(np.asarray(lk.layers.Flatten()(x)), x.reshape(2, -1))


def test_channels_first_moves_channels_last_before_flattening():
    x = _data((2, 3, 4, 5))  # (batch, channels, rows, cols)
    out = np.asarray(lk.layers.Flatten(data_format="channels_first")(x))
    np.testing.assert_array_equal(out, np.transpose(x, (0, 2, 3, 1)).reshape(2, -1))


def test_rank1_input_gives_one_feature():
    out = lk.layers.Flatten()(np.arange(3, dtype="float32"))
    assert out.shape == (3, 1)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras(keras_compare, data_format):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Flatten(data_format=data_format), keras.layers.Flatten(data_format=data_format),
                  _data((2, 3, 4, 2)))


def test_symbolic_shapes():
    assert lk.layers.Flatten()(lk.layers.Input((3, 4))).shape == (None, 12)
    assert lk.layers.Flatten()(lk.ops.SymbolicTensor((None, None, 4))).shape == (None, None)
    assert lk.layers.Flatten().compute_output_shape((5, None, 2)) == (5, None)


def test_bad_data_format_and_scalar_input():
    with pytest.raises(ValueError, match=r"Flatten '.*'.*data_format"):
        lk.layers.Flatten(data_format="nhwc")
    with pytest.raises(ValueError, match=r"Flatten 'flat' expects an input of rank >= 1"):
        lk.layers.Flatten(name="flat")(lk.ops.convert_to_tensor(1.0))


def test_traced_function_with_unknown_batch():
    f = lk.function(lambda x: lk.layers.Flatten()(x), input_signature=[lk.graph.TensorSpec((None, 3, 4))])
    x = _data((5, 3, 4))
    np.testing.assert_array_equal(np.asarray(f(x)), x.reshape(5, -1))


def test_traced_function_with_all_sizes_unknown_has_a_clear_error():
    f = lk.function(lambda x: lk.layers.Flatten(name="fl")(x), input_signature=[lk.graph.TensorSpec((None, None))])
    with pytest.raises(ValueError, match=r"Flatten 'fl' cannot flatten .* traced function"):
        f(_data((2, 3)))
