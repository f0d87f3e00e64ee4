"""Tests of ELU: conformance, the formula, Keras parity (config key order too), errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape=(3, 4), seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    x[np.abs(x) < 0.05] += 0.1
    return x


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_run_layer_test(alpha):
    run_layer_test(lk.layers.ELU, init_kwargs={"alpha": alpha}, input_data=_data(), expected_output_shape=(3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


def test_matches_numpy():
    x = _data()
    np.testing.assert_allclose(np.asarray(lk.layers.ELU(alpha=2.0)(x)), np.where(x > 0, x, 2.0 * np.expm1(x)),
                               rtol=1e-5, atol=1e-7)


def test_large_negative_inputs_saturate():
    out = np.asarray(lk.layers.ELU(alpha=1.5)(np.array([-1e4, -50.0], "float32")))
    np.testing.assert_allclose(out, [-1.5, -1.5])


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.ELU(alpha=0.7), keras.layers.ELU(alpha=0.7), _data())
    assert list(lk.layers.ELU().get_config()) == ["name", "alpha", "trainable", "dtype"]


def test_bad_alpha():
    with pytest.raises(ValueError, match=r"ELU '.*'.*alpha"):
        lk.layers.ELU(alpha="1")
