"""Tests of Dot: conformance, numpy batched dot products, normalize, the functional form, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [
    # axes, shape1, shape2, expected output shape
    (1, (2, 4), (2, 4), (2, 1)),
    (-1, (2, 3, 4), (2, 5, 4), (2, 3, 5)),
    ((2, 1), (2, 3, 4), (2, 4, 5), (2, 3, 5)),
    ((1, 1), (2, 3), (2, 3, 4), (2, 4)),
    ((2, 1), (2, 3, 4), (2, 4), (2, 3)),
    ((1, 2), (2, 3, 2, 2), (2, 4, 3), (2, 2, 2, 4)),
]


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _numpy_dot(x, y, axes):
    axes = [axes, axes] if isinstance(axes, int) else list(axes)
    a0, a1 = axes[0] % x.ndim, axes[1] % y.ndim
    out = np.stack([np.tensordot(x[i], y[i], axes=(a0 - 1, a1 - 1)) for i in range(len(x))])
    return out[:, None] if out.ndim == 1 else out


@pytest.mark.parametrize("axes,s1,s2,expected", CASES)
def test_run_layer_test(axes, s1, s2, expected):
    run_layer_test(lk.layers.Dot, init_kwargs={"axes": axes}, input_shape=[s1, s2], expected_output_shape=expected,
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("axes,s1,s2,expected", CASES)
def test_matches_numpy(axes, s1, s2, expected):
    x, y = _data(s1, 0), _data(s2, 1)
    out = np.asarray(lk.layers.Dot(axes)([x, y]))
    assert out.shape == expected
    np.testing.assert_allclose(out, _numpy_dot(x, y, axes), rtol=1e-5, atol=1e-6)
    assert lk.layers.Dot(axes).compute_output_shape([s1, s2]) == expected


def test_normalize_gives_cosine_similarity():
    x, y = _data((3, 5), 0), _data((3, 5), 1)
    out = np.asarray(lk.layers.Dot(axes=1, normalize=True)([x, y]))
    cos = np.sum(x * y, 1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(out[:, 0], cos, rtol=1e-5)


def test_run_layer_test_normalize():
    run_layer_test(lk.layers.Dot, init_kwargs={"axes": -1, "normalize": True}, input_shape=[(2, 3, 4), (2, 2, 4)],
                   expected_output_shape=(2, 3, 2))


def test_functional_form():
    x, y = _data((2, 3, 4), 0), _data((2, 3, 4), 1)
    np.testing.assert_allclose(np.asarray(lk.layers.dot([x, y], axes=1)), _numpy_dot(x, y, 1), rtol=1e-5, atol=1e-6)
    i1, i2 = lk.layers.Input((3, 4)), lk.layers.Input((3, 4))
    out = lk.layers.dot([i1, i2], axes=-1, normalize=True)
    assert out.shape == (None, 3, 3)


@pytest.mark.parametrize("axes,s1,s2,expected", CASES)
@pytest.mark.parametrize("normalize", [False, True])
def test_matches_keras(keras_compare, axes, s1, s2, expected, normalize):
    keras = pytest.importorskip("keras")
    xs = [_data(s1, 0), _data(s2, 1)]
    keras_compare(lk.layers.Dot(axes, normalize=normalize), keras.layers.Dot(axes, normalize=normalize), xs,
                  rtol=1e-5, atol=1e-5)


def test_no_output_mask():
    x = lk.layers.Masking()(_data((2, 3, 4)))
    assert getattr(lk.layers.Dot(-1)([x, x]), "_keras_mask", None) is None


def test_errors_name_layer():
    with pytest.raises(TypeError, match=r"Dot '.*'.*axes"):
        lk.layers.Dot("1")
    with pytest.raises(ValueError, match=r"Dot '.*'.*two elements"):
        lk.layers.Dot((1, 2, 3))
    with pytest.raises(ValueError, match=r"Dot '.*'.*ints"):
        lk.layers.Dot((1, 2.0))
    with pytest.raises(ValueError, match=r"Dot 'd1': incompatible input shapes \(2, 3\) and \(2, 4\)"):
        lk.layers.Dot(1, name="d1")([_data((2, 3)), _data((2, 4))])
    with pytest.raises(ValueError, match=r"Dot 'd2'.*list of 2 inputs"):
        lk.layers.Dot(1, name="d2")([_data((2, 3))] * 3)
    with pytest.raises(ValueError, match=r"Dot 'd3'.*non-batch axis"):
        lk.layers.Dot(0, name="d3")([_data((2, 3))] * 2)
    with pytest.raises(ValueError, match=r"Dot 'd4'.*different batch sizes"):
        lk.layers.Dot(1, name="d4")([_data((2, 3)), _data((3, 3))])
    with pytest.raises(ValueError, match=r"Dot 'd5'.*rank >= 2"):
        lk.layers.Dot(1, name="d5").compute_output_shape([(3,), (3,)])
