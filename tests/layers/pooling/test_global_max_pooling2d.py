"""Tests of GlobalMaxPooling2D: conformance, the numpy max, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [(dict(), (1, 2)), (dict(keepdims=True), (1, 2)), (dict(data_format="channels_first"), (2, 3))]


@pytest.mark.parametrize("kw, axes", CASES)
def test_run_layer_test(kw, axes):
    layer = lk.layers.GlobalMaxPooling2D(**kw)
    run_layer_test(lk.layers.GlobalMaxPooling2D, init_kwargs=kw, input_shape=(2, 4, 5, 3),
                   expected_output_shape=layer.compute_output_shape((2, 4, 5, 3)), expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, axes", CASES)
def test_matches_numpy_max(kw, axes, data):
    x = data((2, 4, 5, 3))
    out = np.asarray(lk.layers.GlobalMaxPooling2D(**kw)(x))
    np.testing.assert_allclose(out, x.max(axis=axes, keepdims=kw.get("keepdims", False)))


@pytest.mark.parametrize("kw, axes", CASES)
def test_matches_keras(kw, axes, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.GlobalMaxPooling2D(**kw), keras.layers.GlobalMaxPooling2D(**kw),
                  data((2, 4, 5, 3), seed=1))


def test_errors():
    with pytest.raises(ValueError, match="GlobalMaxPooling2D 'gm2' expects an input of rank 4"):
        lk.layers.GlobalMaxPooling2D(name="gm2")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="`keepdims` must be a bool"):
        lk.layers.GlobalMaxPooling2D(keepdims="yes")
