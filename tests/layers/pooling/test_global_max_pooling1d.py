"""Tests of GlobalMaxPooling1D: conformance, the numpy max, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [(dict(), 1), (dict(keepdims=True), 1), (dict(data_format="channels_first"), 2)]


@pytest.mark.parametrize("kw, axis", CASES)
def test_run_layer_test(kw, axis):
    layer = lk.layers.GlobalMaxPooling1D(**kw)
    run_layer_test(lk.layers.GlobalMaxPooling1D, init_kwargs=kw, input_shape=(2, 5, 3),
                   expected_output_shape=layer.compute_output_shape((2, 5, 3)), expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, axis", CASES)
def test_matches_numpy_max(kw, axis, data):
    x = data((2, 5, 3))
    out = np.asarray(lk.layers.GlobalMaxPooling1D(**kw)(x))
    np.testing.assert_allclose(out, x.max(axis=axis, keepdims=kw.get("keepdims", False)))


@pytest.mark.parametrize("kw, axis", CASES)
def test_matches_keras(kw, axis, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.GlobalMaxPooling1D(**kw), keras.layers.GlobalMaxPooling1D(**kw), data((2, 5, 3), seed=1))


def test_errors():
    with pytest.raises(ValueError, match="GlobalMaxPooling1D 'gm' expects an input of rank 3"):
        lk.layers.GlobalMaxPooling1D(name="gm")(np.zeros((2, 3, 4, 5), "float32"))
    assert lk.layers.GlobalMaxPool1D is lk.layers.GlobalMaxPooling1D
