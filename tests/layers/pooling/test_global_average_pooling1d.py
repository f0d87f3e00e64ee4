"""Tests of GlobalAveragePooling1D: conformance, the numpy mean, masks, Keras parity, errors."""
import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


@pytest.mark.parametrize("kw", [dict(), dict(keepdims=True), dict(data_format="channels_first")])
def test_run_layer_test(kw):
    layer = lk.layers.GlobalAveragePooling1D(**kw)
    run_layer_test(lk.layers.GlobalAveragePooling1D, init_kwargs=kw, input_shape=(2, 5, 3),
                   expected_output_shape=layer.compute_output_shape((2, 5, 3)), expected_num_trainable_weights=0,
                   supports_masking=True)


@pytest.mark.parametrize("kw, axis", [(dict(), 1), (dict(keepdims=True), 1), (dict(data_format="channels_first"), 2)])
def test_matches_numpy_mean(kw, axis, data):
    x = data((2, 5, 3))
    out = np.asarray(lk.layers.GlobalAveragePooling1D(**kw)(x))
    np.testing.assert_allclose(out, x.mean(axis=axis, keepdims=kw.get("keepdims", False)), rtol=1e-6)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_mask_averages_unmasked_steps_only(data_format, data):
    x = data((2, 4, 3))
    mask = np.array([[True, True, False, True], [False, True, False, False]])
    inputs = x if data_format == "channels_last" else np.moveaxis(x, 1, 2)
    layer = lk.layers.GlobalAveragePooling1D(data_format=data_format)
    out = np.asarray(layer(inputs, mask=mask))
    expected = np.stack([x[i][mask[i]].mean(axis=0) for i in range(2)])
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_mask_from_embedding_is_used_and_not_propagated():
    tokens = np.array([[3, 5, 0, 0], [2, 0, 0, 0]])
    inputs = lk.layers.Input(shape=(4,), dtype="int32")
    embedded = lk.layers.Embedding(8, 3, mask_zero=True)(inputs)
    pooled = lk.layers.GlobalAveragePooling1D()(embedded)
    model = lk.models.Model(inputs, pooled)
    out = np.asarray(model(tokens))
    table = model.layers[1].get_weights()[0]
    np.testing.assert_allclose(out, [table[[3, 5]].mean(axis=0), table[2]], rtol=1e-6)
    assert getattr(lk.layers.GlobalAveragePooling1D()(lk.layers.Embedding(8, 3, mask_zero=True)(tokens)),
                   "_keras_mask", None) is None


@pytest.mark.parametrize("kw", [dict(), dict(keepdims=True, data_format="channels_first")])
def test_matches_keras(kw, keras_compare, data):
    keras = pytest.importorskip("keras")
    x = data((2, 5, 3), seed=1)
    keras_compare(lk.layers.GlobalAveragePooling1D(**kw), keras.layers.GlobalAveragePooling1D(**kw), x)
    mask = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], bool)
    if kw.get("data_format") != "channels_first":
        keras_compare(lk.layers.GlobalAveragePooling1D(**kw), keras.layers.GlobalAveragePooling1D(**kw), x,
                      mask=mask)


def test_errors():
    with pytest.raises(ValueError, match="GlobalAveragePooling1D 'g' expects an input of rank 3"):
        lk.layers.GlobalAveragePooling1D(name="g")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="`keepdims` must be a bool"):
        lk.layers.GlobalAveragePooling1D(keepdims=1)
    with pytest.raises(ValueError, match="`data_format`"):
        lk.layers.GlobalAveragePooling1D(data_format="NWC")


def test_config_interchanges_with_keras_json():
    keras = pytest.importorskip("keras")
    ours = lk.layers.GlobalAveragePooling1D(keepdims=True)
    config = json.loads(json.dumps(ours.get_config()))  # tuples become lists, as in a .keras file
    theirs = keras.layers.GlobalAveragePooling1D.from_config(config)
    back = lk.layers.GlobalAveragePooling1D.from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == ours.get_config()
