"""Tests of Masking: conformance, the mask/value formula, Keras parity, masks downstream, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _padded(seed=0):
    x = np.random.default_rng(seed).standard_normal((3, 4, 2)).astype("float32")
    x[0, 1] = 0.0
    x[2, 3] = 0.0
    x[1, 0, 0] = 0.0  # one feature at the mask value does not mask the timestep
    return x


def test_run_layer_test():
    run_layer_test(lk.layers.Masking, init_kwargs={"mask_value": 0.0}, input_shape=(3, 4, 2),
                   expected_output_shape=(3, 4, 2), expected_num_trainable_weights=0, supports_masking=True)


def test_run_layer_test_with_padding():
    # no gradient check: nudging a padded entry unmasks its timestep, a jump central differences see
    run_layer_test(lk.layers.Masking, init_kwargs={"mask_value": 0.0}, input_data=_padded(),
                   expected_output_shape=(3, 4, 2), run_gradient_check=False)


def test_mask_and_output_match_numpy():
    x = _padded()
    x[1, 2] = 5.0
    out = lk.layers.Masking(mask_value=5.0)(x)
    mask = np.any(x != 5.0, axis=-1)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), mask)
    np.testing.assert_array_equal(np.asarray(out), x * mask[..., None])
    assert not mask[1, 2] and mask[0, 1]


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    x = _padded()
    keras_compare(lk.layers.Masking(), keras.layers.Masking(), x)
    ours = lk.layers.Masking().compute_mask(lk.ops.convert_to_tensor(x))
    theirs = keras.layers.Masking().compute_mask(x)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_masked_inf_padding_becomes_zero():
    x = np.array([[[np.inf, np.inf], [1.0, 2.0]]], "float32")
    out = np.asarray(lk.layers.Masking(mask_value=np.inf)(x))
    np.testing.assert_array_equal(out, [[[0.0, 0.0], [1.0, 2.0]]])


def test_mask_reaches_next_layer_in_functional_model():
    seen = {}

    class Probe(lk.layers.Layer):
        def call(self, x, mask=None):
            seen["mask"] = mask
            return x

    inp = lk.layers.Input((4, 2))
    model = lk.models.Model(inp, Probe()(lk.layers.Masking()(inp)))
    x = _padded()
    model(x)
    np.testing.assert_array_equal(np.asarray(seen["mask"]), np.any(x != 0, axis=-1))


def test_bad_mask_value():
    with pytest.raises(ValueError, match=r"Masking '.*'.*mask_value"):
        lk.layers.Masking(mask_value="0")
