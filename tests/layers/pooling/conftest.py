"""Shared helpers of the pooling layer tests: an independent numpy pooling (loops over windows)
and the comparison of a weightless layer with the real Keras layer."""
import types

import numpy as np
import pytest


def np_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last", mode="max"):
    """Max/average pooling by loops over output cells; "same" pads as TensorFlow (the odd extra
    cell at the end) and its windows use only the cells inside the input."""
    x = np.asarray(x, np.float64)
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    rank = x.ndim - 2
    pool = (pool_size,) * rank if isinstance(pool_size, int) else tuple(pool_size)
    strides = pool if strides is None else ((strides,) * rank if isinstance(strides, int) else tuple(strides))
    spatial = x.shape[1:-1]
    if padding == "same":
        outs = [-(-n // s) for n, s in zip(spatial, strides)]
        befores = [max((o - 1) * s + p - n, 0) // 2 for o, s, p, n in zip(outs, strides, pool, spatial)]
    else:
        outs = [(n - p) // s + 1 for n, p, s in zip(spatial, pool, strides)]
        befores = [0] * rank
    out = np.zeros((x.shape[0], *outs, x.shape[-1]))
    for idx in np.ndindex(*outs):
        window = tuple(slice(max(i * s - b, 0), min(i * s - b + p, n))
                       for i, s, b, p, n in zip(idx, strides, befores, pool, spatial))
        cells = x[(slice(None),) + window]
        axes = tuple(range(1, 1 + rank))
        out[(slice(None),) + idx] = cells.max(axis=axes) if mode == "max" else cells.mean(axis=axes)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


@pytest.fixture
def ref():
    return types.SimpleNamespace(pool=np_pool)


def compare_with_keras(lk_layer, k_layer, inputs, rtol=1e-5, atol=1e-6, **call_kwargs):
    """Calls both (weightless) layers on numpy `inputs`: same outputs, same `get_config()` keys
    in Keras's order, same values for the shared arguments. Returns both outputs."""
    ours, theirs = np.asarray(lk_layer(inputs, **call_kwargs)), np.asarray(k_layer(inputs, **call_kwargs))
    assert ours.shape == theirs.shape, f"output shape {ours.shape} != Keras's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    ours_config, theirs_config = lk_layer.get_config(), k_layer.get_config()
    assert list(ours_config) == list(theirs_config), f"config keys {list(ours_config)} != {list(theirs_config)}"
    for key in ("pool_size", "strides", "padding", "data_format", "keepdims"):
        if key in theirs_config:
            assert ours_config[key] == theirs_config[key], key
    assert lk_layer.weights == [] and k_layer.weights == []
    return ours, theirs


@pytest.fixture
def keras_compare():
    return compare_with_keras


@pytest.fixture
def data():
    return lambda shape, seed=0: np.random.default_rng(seed).standard_normal(shape).astype("float32")
