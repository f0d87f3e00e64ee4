import numpy as np
import pytest

import layerkit as lk
from layerkit.ops import SymbolicTensor
from layerkit.testing import run_layer_test


def _gn_numpy(x, groups, axis, gamma, beta, eps=1e-3):
    """Group normalization written with a channels-last transpose and an explicit loop over groups."""
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    channels = x.shape[-1]
    size = channels // groups
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        for g in range(groups):
            block = x[b, ..., g * size:(g + 1) * size]
            out[b, ..., g * size:(g + 1) * size] = (block - block.mean()) / np.sqrt(block.var() + eps)
    if gamma is not None:
        out = out * gamma
    if beta is not None:
        out = out + beta
    return np.moveaxis(out, -1, axis)


def _randomize(layer, rng):
    values = [rng.standard_normal(w.shape).astype(w.dtype) for w in layer.weights]
    layer.set_weights(values)
    return values


def test_run_layer_test():
    run_layer_test(lk.layers.GroupNormalization, init_kwargs={"groups": 2}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, supports_masking=True)
    run_layer_test(lk.layers.GroupNormalization, init_kwargs={"groups": 3, "axis": 1, "epsilon": 0.01},
                   input_shape=(2, 6, 2, 2), expected_output_shape=(2, 6, 2, 2), expected_num_trainable_weights=2)
    run_layer_test(lk.layers.GroupNormalization, init_kwargs={"groups": -1, "center": False},
                   input_shape=(3, 4, 2), expected_output_shape=(3, 4, 2), expected_num_trainable_weights=1)


@pytest.mark.parametrize("kwargs,shape", [({"groups": 2}, (3, 4, 6)), ({"groups": 1}, (2, 5, 4)),
                                          ({"groups": 3, "axis": 1}, (2, 6, 2, 3)),
                                          ({"groups": 2, "axis": -2}, (2, 3, 4, 2)), ({"groups": 4}, (3, 8))])
def test_output_matches_numpy(kwargs, shape):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 2 + 1).astype("float32")
    layer = lk.layers.GroupNormalization(**kwargs)
    layer.build(shape)
    gamma, beta = _randomize(layer, rng)
    expected = _gn_numpy(x, kwargs["groups"], kwargs.get("axis", -1), gamma, beta)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), np.asarray(layer(x)))


def test_instance_normalization_with_groups_minus_one():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    layer = lk.layers.GroupNormalization(groups=-1, center=False, scale=False)
    out = np.asarray(layer(x))
    assert layer.groups == 3 and layer.get_config()["groups"] == 3  # Keras resolves -1 when built
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)


def test_unknown_sizes_path_matches_the_reshape_path():
    # symbolic inputs with unknown spatial sizes use per-channel sums instead of a reshape; run
    # that path on eager data to check its numbers
    rng = np.random.default_rng(2)
    for kwargs, shape in (({"groups": 2}, (2, 3, 2, 4)), ({"groups": 3, "axis": 1}, (2, 6, 4))):
        layer = lk.layers.GroupNormalization(**kwargs)
        layer.build(shape)
        _randomize(layer, rng)
        x = lk.ops.convert_to_tensor(rng.standard_normal(shape).astype("float32"))
        axis = layer._channel_axis(x.shape)
        mean, var = layer._moments_by_channel(x, axis)
        np.testing.assert_allclose(np.asarray(layer._normalize(x, mean, var, None, None)), np.asarray(layer(x)),
                                   rtol=1e-4, atol=1e-5)


def test_symbolic_input_with_unknown_spatial_sizes():
    layer = lk.layers.GroupNormalization(groups=2)
    out = layer(SymbolicTensor((None, None, None, 4), "float32"))
    assert out.shape == (None, None, None, 4)
    inp = lk.layers.Input(shape=(None, 4))
    model = lk.models.Model(inp, lk.layers.GroupNormalization(groups=2)(inp))
    x = np.random.default_rng(3).standard_normal((2, 5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), _gn_numpy(x, 2, -1, None, None), rtol=1e-4, atol=1e-5)


# Layer.__call__ hands compute_mask the previous mask only when call() takes a `mask` argument;
# Keras propagates it for every supports_masking layer (reported to the lead).
def test_mask_passes_through():
    x = lk.ops.convert_to_tensor(np.ones((2, 3, 4), "float32"))
    x._keras_mask = lk.ops.convert_to_tensor(np.array([[True, False, True], [True, True, False]]))
    out = lk.layers.GroupNormalization(groups=2)(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), np.asarray(x._keras_mask))


def test_errors():
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ValueError, match="`groups` must be a positive int"):
            lk.layers.GroupNormalization(groups=bad)
    with pytest.raises(TypeError, match="`axis` must be an int"):
        lk.layers.GroupNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match=r"GroupNormalization 'gn': `groups`=8 cannot be more than"):
        lk.layers.GroupNormalization(groups=8, name="gn")(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="must be a multiple of `groups`=3"):
        lk.layers.GroupNormalization(groups=3)(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="must name a non-batch axis"):
        lk.layers.GroupNormalization(groups=1, axis=0)(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="must name a non-batch axis"):
        lk.layers.GroupNormalization(groups=1, axis=2)(np.zeros((2, 4), "float32"))
    layer = lk.layers.GroupNormalization(groups=2, name="gn2")
    layer(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"GroupNormalization 'gn2' expects an input of rank 3"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"expects the last input axis to be 4"):
        layer(np.zeros((2, 3, 6), "float32"))


@pytest.mark.parametrize("kwargs,shape", [({"groups": 2}, (3, 4, 6)), ({"groups": -1}, (2, 3, 4)),
                                          ({"groups": 3, "axis": 1, "epsilon": 0.1}, (2, 6, 2, 2)),
                                          ({"groups": 1, "axis": -2, "center": False}, (2, 3, 4, 2))])
def test_matches_keras(kwargs, shape):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(4)
    ours = lk.layers.GroupNormalization(**kwargs)
    ref = keras.layers.GroupNormalization(**kwargs)
    ours.build(shape)
    ref.build(shape)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in ref.weights]
    ref.set_weights(_randomize(ours, rng))
    x = (rng.standard_normal(shape) * 2 + 1).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)
    ours_config, ref_config = ours.get_config(), ref.get_config()
    assert list(ours_config) == list(ref_config)
    for key in ("groups", "axis", "epsilon", "center", "scale", "beta_initializer"):
        assert ours_config[key] == ref_config[key], key
