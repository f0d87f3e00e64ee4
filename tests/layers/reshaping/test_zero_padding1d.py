"""Tests of ZeroPadding1D: conformance, np.pad, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [(dict(), (1, 1)), (dict(padding=(2, 0)), (2, 0)), (dict(padding=3, data_format="channels_first"), (3, 3))]


@pytest.mark.parametrize("kw, pads", CASES)
def test_run_layer_test(kw, pads):
    run_layer_test(lk.layers.ZeroPadding1D, init_kwargs=kw, input_shape=(2, 4, 3),
                   expected_output_shape=lk.layers.ZeroPadding1D(**kw).compute_output_shape((2, 4, 3)),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("kw, pads", CASES)
def test_matches_np_pad(kw, pads, data):
    x = data((2, 4, 3))
    widths = ((0, 0), (0, 0), pads) if kw.get("data_format") == "channels_first" else ((0, 0), pads, (0, 0))
    np.testing.assert_array_equal(np.asarray(lk.layers.ZeroPadding1D(**kw)(x)), np.pad(x, widths))


@pytest.mark.parametrize("kw, pads", CASES)
def test_matches_keras(kw, pads, keras_compare, data):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.ZeroPadding1D(**kw), keras.layers.ZeroPadding1D(**kw), data((2, 4, 3), seed=1))


def test_errors():
    with pytest.raises(ValueError, match="ZeroPadding1D .*: `padding` must be a non-negative int or a tuple of 2"):
        lk.layers.ZeroPadding1D((1, 2, 3))
    with pytest.raises(ValueError, match="ZeroPadding1D 'z1' expects an input of rank 3"):
        lk.layers.ZeroPadding1D(name="z1")(np.zeros((2, 3), "float32"))
