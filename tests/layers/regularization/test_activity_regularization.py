"""Tests of ActivityRegularization: conformance, identity output, the penalty, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape=(3, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_run_layer_test():
    run_layer_test(lk.layers.ActivityRegularization, init_kwargs={"l1": 0.1, "l2": 0.01}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0, expected_num_losses=1,
                   supports_masking=True)


def test_identity_and_one_penalty_per_call():
    x = _data()
    layer = lk.layers.ActivityRegularization(l1=0.1, l2=0.01)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    assert len(layer.losses) == 1
    layer(x)
    assert len(layer.losses) == 1
    assert isinstance(layer.activity_regularizer, lk.regularizers.L1L2)


def test_penalty_proportional_to_l1_l2_formula():
    x = _data()
    layer = lk.layers.ActivityRegularization(l1=0.1, l2=0.01)
    layer(x)
    penalty = 0.1 * np.abs(x).sum() + 0.01 * np.square(x).sum()
    value = float(np.asarray(layer.losses[0]))
    # Keras divides the penalty by the batch size; layerkit's Layer base does not (yet)
    assert np.isclose(value, penalty, rtol=1e-5) or np.isclose(value, penalty / x.shape[0], rtol=1e-5)


def test_penalty_matches_keras():
    keras = pytest.importorskip("keras")
    x = _data()
    ours = lk.layers.ActivityRegularization(l1=0.1, l2=0.01)
    theirs = keras.layers.ActivityRegularization(l1=0.1, l2=0.01)
    ours(x)
    theirs(x)
    np.testing.assert_allclose(float(np.asarray(ours.losses[0])), float(np.asarray(theirs.losses[0])), rtol=1e-5)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.ActivityRegularization(l1=0.2), keras.layers.ActivityRegularization(l1=0.2), _data())
    assert "activity_regularizer" not in lk.layers.ActivityRegularization(l1=0.2).get_config()


def test_functional_model_collects_the_loss():
    inp = lk.layers.Input((4,))
    model = lk.models.Model(inp, lk.layers.ActivityRegularization(l2=1.0)(inp))
    x = _data()
    model(x)
    assert len(model.losses) == 1


@pytest.mark.parametrize("kwargs", [{"l1": -1.0}, {"l2": "0.1"}])
def test_bad_factors(kwargs):
    with pytest.raises(ValueError, match="ActivityRegularization"):
        lk.layers.ActivityRegularization(**kwargs)
