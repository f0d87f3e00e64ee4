"""Tests of PReLU: conformance, the formula with learned slopes, shared axes, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    x[np.abs(x) < 0.05] += 0.1
    return x


@pytest.mark.parametrize("shared_axes,alpha_shape", [(None, (3, 4)), ([1], (1, 4)), (2, (3, 1))])
def test_run_layer_test(shared_axes, alpha_shape):
    layer = run_layer_test(lk.layers.PReLU, init_kwargs={"shared_axes": shared_axes, "alpha_initializer": "ones"},
                           input_data=_data((2, 3, 4)), expected_output_shape=(2, 3, 4),
                           expected_num_trainable_weights=1, supports_masking=True)
    assert tuple(layer.alpha.shape) == alpha_shape


def test_matches_numpy():
    layer = lk.layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2])
    x = _data((2, 3, 3, 4))
    out = np.asarray(layer(x))
    alpha = np.asarray(layer.alpha)
    assert alpha.shape == (1, 1, 4)
    np.testing.assert_allclose(out, np.where(x > 0, x, alpha * x), rtol=1e-5, atol=1e-7)


def test_default_alpha_is_zero_so_it_starts_as_relu():
    x = _data((2, 5))
    np.testing.assert_array_equal(np.asarray(lk.layers.PReLU()(x)), np.maximum(x, 0))


@pytest.mark.parametrize("shared_axes", [None, [1, 2]])
def test_matches_keras(keras_compare, shared_axes):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.PReLU(alpha_initializer="random_uniform", shared_axes=shared_axes),
                  keras.layers.PReLU(shared_axes=shared_axes), _data((2, 3, 3, 2)))


def test_regularizer_and_constraint():
    layer = lk.layers.PReLU(alpha_initializer="ones", alpha_regularizer=lk.regularizers.L1(0.1),
                            alpha_constraint="non_neg")
    layer(_data((2, 3)))
    np.testing.assert_allclose(float(np.asarray(layer.losses[0])), 0.3, rtol=1e-6)
    assert isinstance(layer.alpha.constraint, lk.constraints.NonNeg)


def test_errors_name_layer():
    with pytest.raises(ValueError, match=r"PReLU '.*'.*shared_axes"):
        lk.layers.PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match=r"PReLU 'p1'.*shared_axes.*\(2, 3\)"):
        lk.layers.PReLU(shared_axes=[3], name="p1")(_data((2, 3)))
    layer = lk.layers.PReLU(name="p2")
    layer(_data((2, 3)))
    with pytest.raises(ValueError, match=r"PReLU 'p2' expects axis 1 of its input to be 3.*\(2, 4\)"):
        layer(_data((2, 4)))
    with pytest.raises(ValueError, match=r"PReLU 'p3'.*unknown|PReLU 'p3'.*known"):
        lk.layers.PReLU(name="p3").build((None, None, 3))
