import warnings

import numpy as np
import pytest

import layerkit as lk
from layerkit.ops import SymbolicTensor
from layerkit.testing import run_layer_test


def _ln_numpy(x, axes, gamma, beta, eps=1e-3):
    axes = tuple(a % x.ndim for a in axes)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    out = (x - mean) / np.sqrt(var + eps)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out


def _randomize(layer, rng):
    values = [rng.standard_normal(w.shape).astype(w.dtype) for w in layer.weights]
    layer.set_weights(values)
    return values


def test_run_layer_test():
    run_layer_test(lk.layers.LayerNormalization, input_shape=(3, 4), expected_output_shape=(3, 4),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=0, supports_masking=True)
    run_layer_test(lk.layers.LayerNormalization, init_kwargs={"axis": [1, 2], "epsilon": 0.01},
                   input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4), expected_num_trainable_weights=2)
    run_layer_test(lk.layers.LayerNormalization, init_kwargs={"axis": 1, "center": False},
                   input_shape=(2, 3, 2), expected_output_shape=(2, 3, 2), expected_num_trainable_weights=1)


@pytest.mark.parametrize("kwargs,shape,axes", [({}, (4, 5), [-1]), ({"axis": [1, 2]}, (2, 3, 4), [1, 2]),
                                               ({"axis": (2, 1)}, (2, 3, 4), [1, 2]),
                                               ({"axis": 1}, (2, 3, 4), [1]), ({"axis": -2}, (2, 3, 4), [-2])])
def test_output_matches_numpy(kwargs, shape, axes):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype("float32")
    layer = lk.layers.LayerNormalization(**kwargs)
    layer.build(shape)
    gamma, beta = _randomize(layer, rng)
    assert gamma.shape == tuple(shape[a] for a in axes)
    np.testing.assert_allclose(np.asarray(layer(x)), _ln_numpy(x.astype(np.float64), axes, gamma, beta),
                               rtol=1e-4, atol=1e-5)
    # the same in training mode: no batch dependence, no state
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), np.asarray(layer(x)))
    np.testing.assert_allclose(np.asarray(layer(x[:1])), np.asarray(layer(x))[:1], rtol=1e-6, atol=1e-6)


def test_center_scale_and_rms_scaling():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)).astype("float32") + 2
    bare = lk.layers.LayerNormalization(center=False, scale=False)
    assert np.asarray(bare(x)).shape == (3, 4) and bare.weights == []
    np.testing.assert_allclose(np.asarray(bare(x)), _ln_numpy(x.astype(np.float64), [-1], None, None),
                               rtol=1e-4, atol=1e-5)
    with pytest.warns(UserWarning, match="rms_scaling"):
        rms = lk.layers.LayerNormalization(rms_scaling=True)
    rms.build(x.shape)
    assert [w.name for w in rms.weights] == ["gamma"]
    (gamma,) = _randomize(rms, rng)
    # Keras's (deprecated) rms_scaling: x / sqrt(var + eps) * gamma, not centered
    expected = x / np.sqrt(x.astype(np.float64).var(axis=-1, keepdims=True) + 1e-3) * gamma
    np.testing.assert_allclose(np.asarray(rms(x)), expected, rtol=1e-4, atol=1e-5)


def test_config_axis_is_a_list():
    for axis, expected in ((-1, [-1]), (1, [1]), ((2, 1), [1, 2]), ([1, 2], [1, 2])):
        config = lk.layers.LayerNormalization(axis=axis).get_config()
        assert config["axis"] == expected
    revived = lk.layers.LayerNormalization.from_config(lk.layers.LayerNormalization(axis=2).get_config())
    assert revived.axis == [2]


# Layer.__call__ hands compute_mask the previous mask only when call() takes a `mask` argument;
# Keras propagates it for every supports_masking layer (reported to the lead).
def test_mask_passes_through():
    x = lk.ops.convert_to_tensor(np.ones((2, 3, 4), "float32"))
    x._keras_mask = lk.ops.convert_to_tensor(np.array([[True, False, True], [True, True, False]]))
    out = lk.layers.LayerNormalization()(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), np.asarray(x._keras_mask))


def test_errors():
    with pytest.raises(TypeError, match="`axis` must be an int or a non-empty list"):
        lk.layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="repeats an axis"):
        lk.layers.LayerNormalization(axis=[1, 1])
    with pytest.raises(ValueError, match="`epsilon`"):
        lk.layers.LayerNormalization(epsilon=-1.0)
    with pytest.raises(ValueError, match=r"LayerNormalization 'ln': axis 2 is out of bounds"):
        lk.layers.LayerNormalization(axis=2, name="ln")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="names the same axis twice"):
        lk.layers.LayerNormalization(axis=[1, -1])(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="must be known"):
        lk.layers.LayerNormalization()(SymbolicTensor((None, None), "float32"))
    layer = lk.layers.LayerNormalization(name="ln2")
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"LayerNormalization 'ln2' expects the last input axis to be 3"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="out of bounds"):
        lk.layers.LayerNormalization(axis=3).compute_output_shape((2, 3))


@pytest.mark.parametrize("kwargs,shape", [({}, (3, 6)), ({"axis": [1, 2]}, (2, 3, 4)), ({"axis": [-1, 1]}, (2, 3, 4)),
                                          ({"axis": 1, "center": False, "epsilon": 0.1}, (2, 3, 4)),
                                          ({"scale": False}, (4, 5)), ({"rms_scaling": True}, (3, 4))])
def test_matches_keras(kwargs, shape):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = lk.layers.LayerNormalization(**kwargs)
        ref = keras.layers.LayerNormalization(**kwargs)
    ours.build(shape)
    ref.build(shape)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in ref.weights]
    ref.set_weights(_randomize(ours, rng))
    x = (rng.standard_normal(shape) * 2 + 1).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about rms_scaling on every call
        expected = np.asarray(ref(x))
    np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=1e-5, atol=1e-5)
    ours_config, ref_config = ours.get_config(), ref.get_config()
    assert list(ours_config) == list(ref_config)
    for key in ("axis", "epsilon", "center", "scale", "rms_scaling", "gamma_initializer"):
        assert ours_config[key] == ref_config[key], key
