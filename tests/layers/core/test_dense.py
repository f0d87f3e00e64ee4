"""Tests of Dense: conformance, the numpy formula, Keras parity, regularizers, constraints, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_run_layer_test():
    run_layer_test(lk.layers.Dense, init_kwargs={"units": 4, "activation": "tanh"}, input_shape=(2, 3),
                   expected_output_shape=(2, 4), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0)


def test_run_layer_test_rank3_no_bias():
    run_layer_test(lk.layers.Dense, init_kwargs={"units": 2, "use_bias": False}, input_shape=(2, 3, 5),
                   expected_output_shape=(2, 3, 2), expected_num_trainable_weights=1)


def test_matches_numpy_formula():
    layer = lk.layers.Dense(3, activation="relu", bias_initializer="ones")
    x = _data((4, 5))
    out = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_rank3_applies_to_last_axis():
    layer = lk.layers.Dense(2)
    x = _data((2, 3, 4))
    out = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, np.einsum("abk,ku->abu", x, kernel) + bias, rtol=1e-5, atol=1e-6)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    x = _data((3, 5))
    keras_compare(lk.layers.Dense(4, activation="sigmoid", bias_initializer="ones"),
                  keras.layers.Dense(4, activation="sigmoid"), x)


def test_matches_keras_with_regularizers_and_constraints(keras_compare):
    keras = pytest.importorskip("keras")
    kw = dict(kernel_regularizer="l2", bias_regularizer="l1", activity_regularizer="l2", kernel_constraint="non_neg")
    ours, _ = keras_compare(lk.layers.Dense(2, **kw), keras.layers.Dense(2, **kw), _data((2, 3)), check_config=False)
    assert ours.shape == (2, 2)
    assert set(lk.layers.Dense(2, **kw).get_config()) == set(keras.layers.Dense(2, **kw).get_config())


def test_config_key_order_with_activity_regularizer_matches_keras():
    keras = pytest.importorskip("keras")
    assert list(lk.layers.Dense(2, activity_regularizer="l2").get_config()) == \
        list(keras.layers.Dense(2, activity_regularizer="l2").get_config())


def test_config_keys_without_bias_match_keras():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Dense(3, use_bias=False).get_config()
    theirs = keras.layers.Dense(3, use_bias=False).get_config()
    assert list(ours) == list(theirs)
    assert ours["use_bias"] is False and ours["units"] == 3


def test_regularizer_losses():
    layer = lk.layers.Dense(2, kernel_regularizer=lk.regularizers.L2(0.1), bias_regularizer=lk.regularizers.L1(0.5),
                            bias_initializer="ones")
    layer(_data((3, 4)))
    kernel, bias = layer.get_weights()
    losses = [float(np.asarray(v)) for v in layer.losses]
    assert len(losses) == 2
    np.testing.assert_allclose(losses, [0.1 * np.sum(kernel ** 2), 0.5 * np.sum(np.abs(bias))], rtol=1e-5)


def test_activity_regularizer_adds_a_loss_per_call():
    layer = lk.layers.Dense(2, activity_regularizer=lk.regularizers.L1(0.01))
    layer(_data((3, 4)))
    assert len(layer.losses) == 1
    layer(_data((3, 4)))
    assert len(layer.losses) == 1, "losses of the previous call must be cleared"


def test_constraint_attribute():
    layer = lk.layers.Dense(2, kernel_constraint="non_neg", bias_constraint=lk.constraints.MaxNorm(1.0))
    layer.build((None, 3))
    assert isinstance(layer.kernel_constraint, lk.constraints.NonNeg)
    assert layer.kernel.constraint is layer.kernel_constraint
    assert isinstance(layer.bias.constraint, lk.constraints.MaxNorm)


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True, None])
def test_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        lk.layers.Dense(units)


def test_input_spec_error_names_layer_and_shapes():
    layer = lk.layers.Dense(3, name="the_dense")
    layer(_data((2, 4)))
    with pytest.raises(ValueError) as err:
        layer(_data((2, 5)))
    msg = str(err.value)
    assert "Dense 'the_dense'" in msg
    assert "4" in msg and "(2, 5)" in msg


def test_rank1_input_is_rejected():
    with pytest.raises(ValueError, match=r"Dense 'd1'.*rank >= 2.*\(3,\)"):
        lk.layers.Dense(2, name="d1")(_data((3,)))


def test_unknown_last_axis_is_rejected():
    with pytest.raises(ValueError, match="last axis"):
        lk.layers.Dense(2).build((None, None))


def test_weights_names_order_and_shapes():
    layer = lk.layers.Dense(5)
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [tuple(w.shape) for w in layer.weights] == [(3, 5), (5,)]
