import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def test_run_layer_test():
    run_layer_test(lk.layers.UnitNormalization, input_shape=(3, 4), expected_output_shape=(3, 4),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0, supports_masking=True)
    run_layer_test(lk.layers.UnitNormalization, init_kwargs={"axis": [1, 2]}, input_shape=(2, 3, 2),
                   expected_output_shape=(2, 3, 2))


@pytest.mark.parametrize("axis,shape", [(-1, (3, 4)), (1, (2, 3, 4)), ([1, 2], (2, 3, 4)), ((0, 2), (2, 3, 4))])
def test_output_matches_numpy(axis, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    out = np.asarray(lk.layers.UnitNormalization(axis=axis)(x))
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    norm = np.sqrt((x.astype(np.float64) ** 2).sum(axis=axes, keepdims=True))
    np.testing.assert_allclose(out, x / norm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((out.astype(np.float64) ** 2).sum(axis=axes), 1.0, rtol=1e-5)


def test_zero_and_integer_inputs():
    out = np.asarray(lk.layers.UnitNormalization()(np.array([[0.0, 0.0], [3.0, 4.0]], "float32")))
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-6)
    out = lk.layers.UnitNormalization()(np.array([[3, 4]], "int32"))
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out), [[0.6, 0.8]], rtol=1e-6)


def test_config():
    assert lk.layers.UnitNormalization(axis=(1, 2)).get_config()["axis"] == [1, 2]
    assert lk.layers.UnitNormalization().get_config()["axis"] == -1


# Layer.__call__ hands compute_mask the previous mask only when call() takes a `mask` argument;
# Keras propagates it for every supports_masking layer (reported to the lead).
def test_mask_passes_through():
    x = lk.ops.convert_to_tensor(np.ones((2, 3, 4), "float32"))
    x._keras_mask = lk.ops.convert_to_tensor(np.array([[True, False, True], [True, True, False]]))
    out = lk.layers.UnitNormalization()(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), np.asarray(x._keras_mask))


def test_errors():
    with pytest.raises(TypeError, match="`axis` must be an int or a list of ints"):
        lk.layers.UnitNormalization(axis="last")
    with pytest.raises(TypeError, match="non-empty list of ints"):
        lk.layers.UnitNormalization(axis=[])
    with pytest.raises(ValueError, match=r"UnitNormalization 'un': axis 2 is out of bounds"):
        lk.layers.UnitNormalization(axis=2, name="un")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="out of bounds"):
        lk.layers.UnitNormalization(axis=[1, 5]).compute_output_shape((2, 3))


@pytest.mark.parametrize("axis,shape", [(-1, (3, 5)), ([1, 2], (2, 3, 4)), (1, (2, 3, 4))])
def test_matches_keras(axis, shape):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    x[0] = 0.0  # the epsilon floor
    ours, ref = lk.layers.UnitNormalization(axis=axis), keras.layers.UnitNormalization(axis=axis)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)
    assert list(ours.get_config()) == list(ref.get_config())
    assert ours.get_config()["axis"] == ref.get_config()["axis"]
    assert ours.weights == [] and ref.weights == []
