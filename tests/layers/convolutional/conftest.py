"""Shared helpers of the convolution layer tests: independent numpy convolutions (plain loops,
channels_last, 1-D or 2-D) and the comparison with the real Keras layer (same weights)."""
import inspect
import types

import numpy as np
import pytest


def _pairs(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _to_2d(x, kernel, data_format):
    """Channels-last 2-D views: a 1-D input gets a height of 1, channels_first is moved last."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    one_d = x.ndim == 3
    if one_d:
        x, kernel = x[:, None], kernel[None]
    return x, kernel, one_d


def _from_2d(y, one_d, data_format):
    if one_d:
        y = y[:, 0]
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def np_conv(x, kernel, strides=1, padding="valid", dilation_rate=1, data_format="channels_last"):
    """Cross-correlation by loops over output cells and kernel taps; groups = channels // kernel
    in-channels; "same" pads as TensorFlow (the odd extra cell at the end)."""
    x, kernel, one_d = _to_2d(np.asarray(x, np.float64), np.asarray(kernel, np.float64), data_format)
    s = (1,) + _pairs(strides, 1) if one_d else _pairs(strides, 2)
    d = (1,) + _pairs(dilation_rate, 1) if one_d else _pairs(dilation_rate, 2)
    kh, kw, cin_g, cout = kernel.shape
    groups = x.shape[-1] // cin_g
    if padding == "same":
        pads = []
        for n, k, st, dl in zip(x.shape[1:3], (kh, kw), s, d):
            total = max((-(-n // st) - 1) * st + (k - 1) * dl + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    oh = (x.shape[1] - (kh - 1) * d[0] - 1) // s[0] + 1
    ow = (x.shape[2] - (kw - 1) * d[1] - 1) // s[1] + 1
    out = np.zeros((x.shape[0], oh, ow, cout))
    per = cout // groups
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    patch = x[:, i * s[0] + a * d[0], j * s[1] + b * d[1], :]
                    for gi in range(groups):
                        out[:, i, j, gi * per:(gi + 1) * per] += (
                            patch[:, gi * cin_g:(gi + 1) * cin_g] @ kernel[a, b, :, gi * per:(gi + 1) * per])
    return _from_2d(out, one_d, data_format)


def np_conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation_rate=1,
                      data_format="channels_last"):
    """Transposed convolution by scattering each input cell through the kernel
    (kernel: (*k, filters, in_channels)), then cropping/extending to Keras's output length."""
    x, kernel, one_d = _to_2d(np.asarray(x, np.float64), np.asarray(kernel, np.float64), data_format)
    s = (1,) + _pairs(strides, 1) if one_d else _pairs(strides, 2)
    d = (1,) + _pairs(dilation_rate, 1) if one_d else _pairs(dilation_rate, 2)
    op = None if output_padding is None else ((0,) + _pairs(output_padding, 1) if one_d else
                                              _pairs(output_padding, 2))
    kh, kw, cout, _ = kernel.shape
    n, h, w, _ = x.shape
    kd = ((kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1)
    full = np.zeros((n, (h - 1) * s[0] + kd[0], (w - 1) * s[1] + kd[1], cout))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    full[:, i * s[0] + a * d[0], j * s[1] + b * d[1]] += x[:, i, j] @ kernel[a, b].T
    crops = []
    for axis, (size, k, st) in enumerate(zip((h, w), kd, s)):
        p = None if op is None else op[axis]
        if one_d and axis == 0:
            crops.append((0, 1))
            continue
        if padding == "valid":
            length = (size - 1) * st + k + (max(k, st) - k if p is None else p)
            offset = 0
        else:  # Keras's rule: the padding left of the dilated input, as JAX receives it
            pad_len = st + k - 2 if p is None else k + k % 2 - 2 + p
            offset = k - 1 - min(pad_len // 2 + pad_len % 2, k - 1)
            length = size * st if p is None else (size - 1) * st + k % 2 + p
        crops.append((offset, length))
    # cells past the scattered result (a large output_padding) are zeros
    extra = [max(o + length - size, 0) for (o, length), size in zip(crops, full.shape[1:3])]
    full = np.pad(full, ((0, 0), (0, extra[0]), (0, extra[1]), (0, 0)))
    out = full[:, crops[0][0]:crops[0][0] + crops[0][1], crops[1][0]:crops[1][0] + crops[1][1]]
    return _from_2d(out, one_d, data_format)


def np_depthwise(x, kernel, **kwargs):
    """Depthwise convolution: channel c with filters kernel[..., c, :], outputs c * m ... c * m + m - 1."""
    k = np.asarray(kernel)
    return np_conv(x, k.reshape(k.shape[:-2] + (1, k.shape[-2] * k.shape[-1])), **kwargs)


def np_activation(name, y):
    return {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, None: lambda v: v,
            "linear": lambda v: v}[name](y)


def add_bias(y, bias, data_format="channels_last"):
    if data_format == "channels_first":
        return y + np.asarray(bias).reshape((-1,) + (1,) * (y.ndim - 2))
    return y + bias


@pytest.fixture
def ref():
    """The numpy references, as `ref.conv`, `ref.conv_transpose`, `ref.depthwise`, `ref.add_bias`."""
    return types.SimpleNamespace(conv=np_conv, conv_transpose=np_conv_transpose, depthwise=np_depthwise,
                                 activation=np_activation, add_bias=add_bias)


def compare_with_keras(lk_layer, keras_cls, kwargs, inputs, rtol=1e-5, atol=1e-5):
    """Builds layerkit's layer and `keras_cls(**kwargs)` on numpy `inputs`, checks weight names,
    shapes and order and the `get_config()` keys (in Keras's order), copies layerkit's weights
    into the Keras layer, and compares the outputs. Returns (layerkit output, Keras output).

    The Keras layer's unset initializers are "zeros" (its weights are overwritten anyway): JAX
    compiles a random initializer for every new weight shape, which would dominate the runtime."""
    params = inspect.signature(keras_cls.__init__).parameters
    fast = {name: "zeros" for name in params if name.endswith("_initializer") and name not in kwargs}
    k_layer = keras_cls(**kwargs, **fast)
    out = lk_layer(inputs)
    k_layer(inputs)
    assert [w.name for w in lk_layer.weights] == [w.name for w in k_layer.weights], "weight names/order differ"
    assert [tuple(w.shape) for w in lk_layer.weights] == [tuple(w.shape) for w in k_layer.weights], \
        "weight shapes differ from Keras"
    assert list(lk_layer.get_config()) == list(k_layer.get_config()), \
        f"config keys {list(lk_layer.get_config())} != Keras's {list(k_layer.get_config())}"
    for key, value in kwargs.items():  # what both received comes back alike (tuples as tuples)
        if isinstance(value, (int, str, tuple)) and not key.endswith("_initializer"):
            assert lk_layer.get_config()[key] == k_layer.get_config()[key], key
    k_layer.set_weights(lk_layer.get_weights())
    ours, theirs = np.asarray(out), np.asarray(k_layer(inputs))
    assert ours.shape == theirs.shape, f"output shape {ours.shape} != Keras's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    return ours, theirs


@pytest.fixture
def keras_compare():
    return compare_with_keras


@pytest.fixture
def data():
    """`data(shape, seed=0)`: standard normal float32 test data."""
    return lambda shape, seed=0: np.random.default_rng(seed).standard_normal(shape).astype("float32")
