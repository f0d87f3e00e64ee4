"""Tests of the Merge base: broadcasting and rank expansion, shape errors naming the layer, the
output-mask rule, and mask handling against Keras in Functional models."""
import numpy as np
import pytest

import layerkit as lk


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _padded(seed):
    """(2, 4, 3) sequences whose masked steps are all-zero."""
    x = _data((2, 4, 3), seed)
    x[0, 1 + seed % 2] = 0.0
    x[1, 3] = 0.0
    return x


def test_broadcast_after_batch_axis():
    a, b = _data((2, 3, 4)), _data((2, 1, 4), 1)
    out = lk.layers.Add()([a, b])
    np.testing.assert_allclose(np.asarray(out), a + b, rtol=1e-6)
    assert lk.layers.Add().compute_output_shape([(None, 3, 4), (None, 1, 4)]) == (None, 3, 4)
    assert lk.layers.Add().compute_output_shape([(None, 3, None), (2, 3, 4)]) == (2, 3, None)


def test_lower_rank_inputs_get_axes_after_batch():
    a, b = _data((2, 3, 4)), _data((2, 4), 1)
    out = np.asarray(lk.layers.Multiply()([a, b]))
    np.testing.assert_allclose(out, a * b[:, None, :], rtol=1e-6)


def test_rank_expansion_matches_keras():
    keras = pytest.importorskip("keras")
    a, b = _data((2, 3, 4)), _data((2, 4), 1)
    np.testing.assert_allclose(np.asarray(lk.layers.Maximum()([a, b])), np.asarray(keras.layers.Maximum()([a, b])),
                               rtol=1e-6)


def test_incompatible_shapes_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Add 'm1' received inputs with incompatible shapes.*\(2, 3\).*\(2, 4\)"):
        lk.layers.Add(name="m1")([_data((2, 3)), _data((2, 4))])
    with pytest.raises(ValueError, match=r"Average 'm2' cannot merge tensors with different batch sizes"):
        lk.layers.Average(name="m2")([_data((2, 3)), _data((3, 3))])


def test_symbolic_shape_errors():
    a, b = lk.layers.Input((3,)), lk.layers.Input((4,))
    with pytest.raises(ValueError, match=r"Maximum 'm3'.*incompatible"):
        lk.layers.Maximum(name="m3")([a, b])


def test_not_a_list():
    with pytest.raises(ValueError, match=r"Add 'm4'.*(list of)"):
        lk.layers.Add(name="m4")(_data((2, 3)))
    with pytest.raises(ValueError, match="at least 1"):
        lk.layers.Add().compute_output_shape([])


def test_compute_mask_rule():
    layer = lk.layers.Add()
    t = lk.ops.convert_to_tensor
    m1, m2 = t(np.array([[True, False, False]])), t(np.array([[False, False, True]]))
    x = [t(_data((1, 3, 2))), t(_data((1, 3, 2)))]
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(x, [m1, m2])), [[True, False, True]])
    assert layer.compute_mask(x, [m1, None]) is None
    assert layer.compute_mask(x, None) is None
    with pytest.raises(ValueError, match="one entry per input"):
        layer.compute_mask(x, [m1])


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"])
def test_masked_functional_model_matches_keras(name):
    keras = pytest.importorskip("keras")
    x1, x2 = _padded(0), _padded(1)

    def build(lib, model_cls):
        i1, i2 = lib.layers.Input((4, 3)), lib.layers.Input((4, 3))
        out = getattr(lib.layers, name)()([lib.layers.Masking()(i1), lib.layers.Masking()(i2)])
        return model_cls([i1, i2], out)

    ours = np.asarray(build(lk, lk.models.Model)([x1, x2]))
    theirs = np.asarray(build(keras, keras.Model)([x1, x2]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Maximum", "Concatenate"])
def test_output_mask_is_or_of_input_masks(name):
    x1, x2 = _padded(0), _padded(1)
    a, b = lk.layers.Masking()(x1), lk.layers.Masking()(x2)
    out = getattr(lk.layers, name)()([a, b])
    want = np.any(x1 != 0, -1) | np.any(x2 != 0, -1)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), want)
    half = getattr(lk.layers, name)()([a, lk.ops.convert_to_tensor(x2)])
    if name == "Concatenate":  # an unmasked input counts as all-valid
        np.testing.assert_array_equal(np.asarray(half._keras_mask), np.ones((2, 4), bool))
    else:  # Keras: no output mask unless every input has one
        assert getattr(half, "_keras_mask", None) is None


def test_output_mask_in_functional_model():
    i1, i2 = lk.layers.Input((4, 3)), lk.layers.Input((4, 3))
    out = lk.layers.Add()([lk.layers.Masking()(i1), lk.layers.Masking()(i2)])
    assert tuple(out._keras_mask.shape) == (None, 4)
    x1, x2 = _padded(0), _padded(1)
    result = lk.models.Model([i1, i2], out)([x1, x2])
    np.testing.assert_array_equal(np.asarray(result._keras_mask), np.any(x1 != 0, -1) | np.any(x2 != 0, -1))
