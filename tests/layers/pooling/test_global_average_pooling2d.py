"""Tests of GlobalAveragePooling2D: conformance, the numpy mean, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [(dict(), (1, 2)), (dict(keepdims=True), (1, 2)), (dict(data_format="channels_first"), (2, 3)),
         (dict(data_format="channels_first", keepdims=True), (2, 3))]


@pytest.mark.parametrize("kw, axes", CASES[:3])
def test_run_layer_test(kw, axes):
    layer = lk.layers.GlobalAveragePooling2D(**kw)
    run_layer_test(lk.layers.GlobalAveragePooling2D, init_kwargs=kw, input_shape=(2, 4, 5, 3),
                   expected_output_shape=layer.compute_output_shape((2, 4, 5, 3)), expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, axes", CASES)
def test_matches_numpy_mean(kw, axes, data):
    x = data((2, 4, 5, 3))
    out = np.asarray(lk.layers.GlobalAveragePooling2D(**kw)(x))
    np.testing.assert_allclose(out, x.mean(axis=axes, keepdims=kw.get("keepdims", False)), rtol=1e-6)


@pytest.mark.parametrize("kw, axes", CASES)
def test_matches_keras(kw, axes, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.GlobalAveragePooling2D(**kw), keras.layers.GlobalAveragePooling2D(**kw),
                  data((2, 4, 5, 3), seed=1))


def test_shapes_and_errors():
    assert lk.layers.GlobalAveragePooling2D().compute_output_shape((None, None, None, 3)) == (None, 3)
    assert lk.layers.GlobalAveragePooling2D(data_format="channels_first", keepdims=True).compute_output_shape(
        (None, 3, 4, 5)) == (None, 3, 1, 1)
    with pytest.raises(ValueError, match="GlobalAveragePooling2D 'g2' expects an input of rank 4"):
        lk.layers.GlobalAveragePooling2D(name="g2")(np.zeros((2, 3, 4), "float32"))
    assert lk.layers.GlobalAvgPool2D is lk.layers.GlobalAveragePooling2D
