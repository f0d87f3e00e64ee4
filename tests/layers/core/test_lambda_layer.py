"""Tests of Lambda: conformance, forwarding of arguments/mask/training, safe (name-only) configs."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def scale_and_shift(x, factor=1.0, shift=0.0):
    return x * factor + shift


def keep_mask(inputs, mask):
    return mask


def test_run_layer_test_with_builtin_activation():
    run_layer_test(lk.layers.Lambda, init_kwargs={"function": lk.activations.softplus}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0)


def test_run_layer_test_with_ops_function_and_output_shape():
    run_layer_test(lk.layers.Lambda, init_kwargs={"function": lk.ops.square, "output_shape": (3,)},
                   input_shape=(2, 3), expected_output_shape=(2, 3))


def test_output_matches_numpy_with_arguments():
    layer = lk.layers.Lambda(scale_and_shift, arguments={"factor": 3.0, "shift": -1.0})
    x = _data((2, 4))
    np.testing.assert_allclose(np.asarray(layer(x)), x * 3.0 - 1.0, rtol=1e-6)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    x = _data((2, 4))
    keras_compare(lk.layers.Lambda(scale_and_shift, arguments={"factor": 2.0}),
                  keras.layers.Lambda(scale_and_shift, arguments={"factor": 2.0}), x)


def test_config_is_keras_function_dict_with_name_only():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Lambda(scale_and_shift, output_shape=(4,)).get_config()
    theirs = keras.layers.Lambda(scale_and_shift, output_shape=(4,)).get_config()
    assert list(ours) == list(theirs)
    assert ours["function"] == theirs["function"] == {
        "module": "builtins", "class_name": "function", "config": "scale_and_shift", "registered_name": "function"}


def test_from_config_resolves_names():
    config = lk.layers.Lambda(scale_and_shift, arguments={"factor": 2.0}).get_config()
    with pytest.raises(ValueError, match=r"unknown function 'scale_and_shift'.*custom_objects"):
        lk.layers.Lambda.from_config(config)
    revived = lk.layers.Lambda.from_config(config, custom_objects={"scale_and_shift": scale_and_shift})
    assert revived.function is scale_and_shift and revived.arguments == {"factor": 2.0}
    relu = lk.layers.Lambda.from_config(lk.layers.Lambda(lk.activations.relu).get_config())
    assert relu.function is lk.activations.relu


def test_lambda_functions_are_not_serialized():
    layer = lk.layers.Lambda(lambda x: x * 2)
    assert np.asarray(layer(np.ones((1, 2), "float32"))).tolist() == [[2.0, 2.0]]
    with pytest.raises(ValueError, match="never stores code"):
        layer.get_config()


def test_keras_lambda_config_with_code_is_refused():
    keras = pytest.importorskip("keras")
    config = keras.layers.Lambda(lambda x: x + 1).get_config()
    assert config["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="never deserializes code"):
        lk.layers.Lambda.from_config(config)


def test_keras_named_function_config_loads():
    keras = pytest.importorskip("keras")
    config = keras.layers.Lambda(keras.activations.relu).get_config()
    layer = lk.layers.Lambda.from_config(config)
    np.testing.assert_array_equal(np.asarray(layer(np.array([[-1.0, 2.0]], "float32"))), [[0.0, 2.0]])


def test_mask_and_training_are_forwarded():
    seen = {}

    def fn(x, mask=None, training=None):
        seen["mask"], seen["training"] = mask, training
        return x

    layer = lk.layers.Lambda(fn)
    mask = lk.ops.convert_to_tensor(np.array([[True, False]]))
    layer(_data((1, 2, 3)), mask=mask, training=True)
    assert seen["mask"] is mask and seen["training"] is True


def test_mask_function_sets_output_mask():
    layer = lk.layers.Lambda(lambda x: x, mask=keep_mask)
    assert layer.supports_masking
    mask = lk.ops.convert_to_tensor(np.array([[True, False]]))
    out = layer(_data((1, 2, 3)), mask=mask)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, False]])


def test_compute_output_shape():
    assert lk.layers.Lambda(lk.ops.square).compute_output_shape((None, 3)) == (None, 3)
    assert lk.layers.Lambda(lk.ops.square, output_shape=(7,)).compute_output_shape((2, 3)) == (2, 7)
    assert lk.layers.Lambda(lk.ops.square, output_shape=lambda s: s[:1]).compute_output_shape((2, 3)) == (2,)


def test_functional_model():
    inp = lk.layers.Input((3,))
    model = lk.models.Model(inp, lk.layers.Lambda(lk.ops.square)(inp))
    x = _data((2, 3))
    np.testing.assert_allclose(np.asarray(model(x)), x ** 2, rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"Lambda '.*'.*callable"):
        lk.layers.Lambda(3)
    with pytest.raises(ValueError, match="arguments"):
        lk.layers.Lambda(lk.ops.square, arguments=[1])
    with pytest.raises(ValueError, match="arguments"):
        lk.layers.Lambda(scale_and_shift, arguments={"factor": np.ones(2)}).get_config()
