"""Tests of SpatialDropout1D/2D/3D: conformance, whole channels dropped, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

VARIANTS = [
    (lk.layers.SpatialDropout1D, {}, (4, 5, 30), (1,)),
    (lk.layers.SpatialDropout2D, {}, (4, 3, 3, 30), (1, 2)),
    (lk.layers.SpatialDropout2D, {"data_format": "channels_first"}, (4, 30, 3, 3), (2, 3)),
    (lk.layers.SpatialDropout3D, {}, (2, 2, 2, 2, 30), (1, 2, 3)),
]


@pytest.mark.parametrize("cls,kwargs,shape,_", VARIANTS)
def test_run_layer_test(cls, kwargs, shape, _):
    run_layer_test(cls, init_kwargs={"rate": 0.5, "seed": 1, **kwargs}, input_shape=shape, expected_output_shape=shape,
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("cls,kwargs,shape,shared_axes", VARIANTS)
def test_drops_whole_channels(cls, kwargs, shape, shared_axes):
    x = np.random.default_rng(0).uniform(1, 2, shape).astype("float32")
    layer = cls(0.5, seed=3, **kwargs)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    out = np.asarray(layer(x, training=True))
    kept = out != 0
    for axis in shared_axes:
        assert (kept == np.take(kept, [0], axis=axis)).all(), f"the mask must not vary along axis {axis}"
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(out[kept], 2 * x[kept], rtol=1e-6)


@pytest.mark.parametrize("name,shape", [("SpatialDropout1D", (2, 3, 4)), ("SpatialDropout2D", (2, 3, 3, 4)),
                                        ("SpatialDropout3D", (1, 2, 2, 2, 3))])
def test_matches_keras(keras_compare, name, shape):
    keras = pytest.importorskip("keras")
    x = np.ones(shape, "float32")
    keras_compare(getattr(lk.layers, name)(0.3, seed=1), getattr(keras.layers, name)(0.3, seed=1), x)


def test_wrong_rank_and_bad_arguments():
    with pytest.raises(ValueError, match=r"SpatialDropout1D 'sd' expects an input of rank 3"):
        lk.layers.SpatialDropout1D(0.5, name="sd")(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"SpatialDropout2D '.*'.*data_format"):
        lk.layers.SpatialDropout2D(0.5, data_format="nchw")
    with pytest.raises(ValueError, match="rate"):
        lk.layers.SpatialDropout1D(2.0)
