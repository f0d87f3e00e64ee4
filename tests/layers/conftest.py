"""Shared test helper: comparison of a layerkit layer with the real Keras layer (same weights)."""
import numpy as np
import pytest

from layerkit.utils import tree


def compare_with_keras(lk_layer, k_layer, inputs, call_kwargs=None, rtol=1e-5, atol=1e-6, check_config=True):
    """Calls both layers on the same numpy `inputs` with identical weights (layerkit's, copied
    with set_weights) and checks: weight names, shapes and order; outputs within `rtol`; and
    `get_config()` keys in Keras's order. Returns (layerkit output, Keras output) as numpy."""
    call_kwargs = dict(call_kwargs or {})
    out = lk_layer(inputs, **call_kwargs)
    k_layer(inputs, **call_kwargs)  # builds the Keras layer
    lk_w, k_w = lk_layer.weights, k_layer.weights
    assert [w.name for w in lk_w] == [w.name for w in k_w], "weight names/order differ from Keras"
    assert [tuple(w.shape) for w in lk_w] == [tuple(w.shape) for w in k_w], "weight shapes differ from Keras"
    assert [w.trainable for w in lk_w] == [w.trainable for w in k_w], "weight trainability differs from Keras"
    k_layer.set_weights(lk_layer.get_weights())
    k_out = k_layer(inputs, **call_kwargs)
    ours = [np.asarray(o) for o in tree.flatten(out)]
    theirs = [np.asarray(o) for o in (k_out if isinstance(k_out, (list, tuple)) else [k_out])]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape, f"output shape {a.shape} != Keras's {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    if check_config:
        assert list(lk_layer.get_config()) == list(k_layer.get_config()), \
            f"config keys {list(lk_layer.get_config())} != Keras's {list(k_layer.get_config())}"
    return ours[0] if len(ours) == 1 else ours, theirs[0] if len(theirs) == 1 else theirs


@pytest.fixture
def keras_compare():
    return compare_with_keras
