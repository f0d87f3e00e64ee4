"""Convolution and pooling: conv (1D/2D, strides, dilation, groups, "valid"/"same"),
depthwise_conv, separable_conv, conv_transpose, max_pool, average_pool.

The primitives are 2-D and channels_last (NHWC); 1-D runs as 2-D with a height of 1 and
channels_first is transposed at the edges. Each backward pass is its own primitive with its
own kernel (im2col + GEMM in csrc/conv.cpp), and those are differentiable again.
"""
import numbers

from layerkit.backend import core
from layerkit.ops import core as C
from layerkit.ops import layout as S
from layerkit.ops.primitive import apply, register


def _out_len(n, k, s, d, pb, pa):
    if n is None:
        return None
    if pb is None:  # "same" padding left to be resolved for the size met at run time
        return -(-n // s)
    return (n + pb + pa - d * (k - 1) - 1) // s + 1


def _conv_spec(x, w, strides, padding, dilation, groups):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv: expected a 4-D input and kernel, received {C.shape_str(x.shape)} and "
                         f"{C.shape_str(w.shape)}.")
    if x.shape[3] is not None and x.shape[3] != w.shape[2] * groups:
        raise ValueError(f"conv: the input has {x.shape[3]} channels but the kernel of shape {C.shape_str(w.shape)} "
                         f"expects {w.shape[2] * groups} (kernel.shape[-2]={w.shape[2]} x groups={groups}).")
    oh = _out_len(x.shape[1], w.shape[0], strides[0], dilation[0], padding[0], padding[1])
    ow = _out_len(x.shape[2], w.shape[1], strides[1], dilation[1], padding[2], padding[3])
    if (oh is not None and oh <= 0) or (ow is not None and ow <= 0):
        raise ValueError(f"conv: the kernel (shape {C.shape_str(w.shape)}, dilation {dilation}) is larger than the "
                         f"padded input (shape {C.shape_str(x.shape)}); use padding='same' or a smaller kernel.")
    return (x.shape[0], oh, ow, w.shape[3]), x.dtype


# Unknown sizes. A graph traced for inputs with unknown (None) spatial sizes records "same" pads
# as None pairs, and the input shape of a backward op with None entries: each forward below
# resolves them from the arrays it receives at run time. A backward op whose input shape is not
# fully known at trace time also takes the tensor whose shape it needs (`like`) as an extra input.


def _resolve_pads(padding, spatial, ksize, strides, dilation):
    """`padding` as 4 ints: a None pair ("same" for a size unknown when traced) computed for
    the spatial size the kernel meets now."""
    if None not in padding:
        return padding
    out = list(padding)
    for i in range(2):
        if out[2 * i] is None:
            out[2 * i:2 * i + 2] = _same_pads(spatial[i], ksize[i], strides[i], dilation[i])
    return tuple(out)


def _known(input_shape, like):
    """A backward op's output shape: the recorded input shape, or, where it had unknown sizes,
    the shape of the extra `like` input (the forward's input) as it is now."""
    return tuple(like[0].shape) if like and None in input_shape else tuple(input_shape)


def _like(x):
    """The extra input of a backward op: `x` itself when its shape is not fully known (tracing)."""
    return (x,) if None in x.shape else ()


def _conv_forward(x, w, strides, padding, dilation, groups):
    padding = _resolve_pads(padding, x.shape[1:3], w.shape[:2], strides, dilation)
    return core.conv2d(x, w, strides, padding, dilation, groups)


def _bpi_shape(g, w, like, input_shape, strides, padding, dilation, groups):
    """conv2d_backprop_input's output shape: the recorded input shape; where it has unknown
    sizes, the forward input's shape now (`like`) or, without one (conv_transpose, whose pads are
    always known), the shortest input the forward conv maps to g's size — the length Keras's
    rules give."""
    if None not in input_shape:
        return tuple(input_shape)
    if like:
        return tuple(like[0].shape)
    if None in g.shape[1:3]:
        return (g.shape[0], None, None, w.shape[2] * groups)
    return (g.shape[0],) + tuple(
        (o - 1) * s + (k - 1) * d + 1 - padding[2 * i] - padding[2 * i + 1]
        for i, (o, k, s, d) in enumerate(zip(g.shape[1:3], w.shape[:2], strides, dilation))) + (w.shape[2] * groups,)


def _bpi_forward(g, w, *like, input_shape, strides, padding, dilation, groups):
    input_shape = _bpi_shape(g, w, like, input_shape, strides, padding, dilation, groups)
    padding = _resolve_pads(padding, input_shape[1:3], w.shape[:2], strides, dilation)
    return core.conv2d_backprop_input(g, w, tuple(input_shape), strides, padding, dilation, groups)


def _bpf_forward(x, g, filter_shape, strides, padding, dilation, groups):
    padding = _resolve_pads(padding, x.shape[1:3], filter_shape[:2], strides, dilation)
    return core.conv2d_backprop_filter(x, g, filter_shape, strides, padding, dilation, groups)


def _conv_grad(ctx, g):
    x, w = ctx.inputs
    a = ctx.attrs
    dx = apply(CONV2D_BACKPROP_INPUT, g, w, *_like(x), input_shape=x.shape, **a) if ctx.needs(0) else None
    dw = apply(CONV2D_BACKPROP_FILTER, x, g, filter_shape=w.shape, **a) if ctx.needs(1) else None
    return dx, dw


def _bpi_grad(ctx, gx):
    g, w = ctx.inputs[:2]
    a = {k: v for k, v in ctx.attrs.items() if k != "input_shape"}
    dg = apply(CONV2D, gx, w, **a) if ctx.needs(0) else None
    dw = apply(CONV2D_BACKPROP_FILTER, gx, g, filter_shape=w.shape, **a) if ctx.needs(1) else None
    return (dg, dw) + (None,) * (len(ctx.inputs) - 2)


def _bpf_grad(ctx, gw):
    x, g = ctx.inputs
    a = {k: v for k, v in ctx.attrs.items() if k != "filter_shape"}
    dx = apply(CONV2D_BACKPROP_INPUT, g, gw, *_like(x), input_shape=x.shape, **a) if ctx.needs(0) else None
    dg = apply(CONV2D, x, gw, **a) if ctx.needs(1) else None
    return dx, dg


CONV2D = register("conv2d", forward=_conv_forward, infer=_conv_spec, grad=_conv_grad, kernels=("conv2d",))
CONV2D_BACKPROP_INPUT = register(
    "conv2d_backprop_input", forward=_bpi_forward,
    infer=lambda g, w, *like, input_shape, **a: (_bpi_shape(g, w, like, input_shape, **a), g.dtype),
    grad=_bpi_grad,
    kernels=("conv2d_backprop_input",))
CONV2D_BACKPROP_FILTER = register(
    "conv2d_backprop_filter", forward=_bpf_forward,
    infer=lambda x, g, filter_shape, **_: (tuple(filter_shape), x.dtype), grad=_bpf_grad,
    kernels=("conv2d_backprop_filter",))


# ---- argument handling shared by the public functions ---------------------------------------------


def _tuple(op, name, value, n, minimum=1):
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)
    t = (value,) * n if is_int(value) else tuple(value) if isinstance(value, (list, tuple)) else None
    if t is None or len(t) != n or any(not is_int(v) or v < minimum for v in t):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: `{name}` must be a {kind} int or a tuple of {n} {kind} ints, received {value!r}.")
    return tuple(int(v) for v in t)


def _same_pads(n, k, s, d):
    """TensorFlow's "same" padding: output ceil(n / s), the extra cell (if odd) after. An
    unknown size (None, symbolic tensors only) gives unknown pads: the output size is unknown too."""
    if n is None:
        return None, None
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _pads(op, padding, spatial, ksize, strides, dilation):
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        (a, b), (c, d) = (_same_pads(n, k, s, dl) for n, k, s, dl in zip(spatial, ksize, strides, dilation))
        return (a, b, c, d)
    raise ValueError(f"{op}: `padding` must be 'valid' or 'same', received {padding!r}.")


def _to_nhwc(op, x, data_format, rank):
    """(x as NHWC, is_1d, restore) for an input of spatial rank 1 or 2."""
    x = C.to_float(x)
    if x.ndim != rank + 2 or rank not in (1, 2):
        raise ValueError(f"{op}: expected an input of rank 3 (1-D) or 4 (2-D) with a batch axis, received shape "
                         f"{C.shape_str(x.shape)}.")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: `data_format` must be 'channels_last' or 'channels_first', received {data_format!r}.")
    first = data_format == "channels_first"
    if first:
        x = S.moveaxis(x, 1, -1)
    # indexing, not expand_dims/squeeze: it keeps several unknown (None) dims of symbolic inputs
    if rank == 1:
        x = x[:, None]

    def restore(y):
        if rank == 1:
            y = y[:, 0]
        return S.moveaxis(y, -1, 1) if first else y
    return x, restore


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (N = 1 or 2), as `keras.ops.conv`.

    Args:
        inputs: (batch, *spatial, channels) (channels_last) or (batch, channels, *spatial).
        kernel: (*kernel_spatial, channels // groups, filters); groups is inferred from the
            channel counts, so grouped convolutions need no extra argument.
        strides, dilation_rate: an int or one per spatial axis.
        padding: "valid" (none) or "same" (output size ceil(input / stride), as TensorFlow).
    """
    kernel = C.to_float(kernel)
    rank = kernel.ndim - 2
    x, restore = _to_nhwc("conv", inputs, data_format, rank)
    w = S.expand_dims(kernel, 0) if rank == 1 else kernel
    strides = (1,) + _tuple("conv", "strides", strides, 1) if rank == 1 else _tuple("conv", "strides", strides, 2)
    dilation = ((1,) + _tuple("conv", "dilation_rate", dilation_rate, 1) if rank == 1
                else _tuple("conv", "dilation_rate", dilation_rate, 2))
    cin = x.shape[3]
    if cin is not None and (cin % w.shape[2] or w.shape[3] % (cin // w.shape[2])):
        raise ValueError(f"conv: the input has {cin} channels, which the kernel of shape {C.shape_str(kernel.shape)} "
                         f"cannot serve: channels must be a multiple of kernel.shape[-2]={w.shape[2]} and filters "
                         f"({w.shape[3]}) a multiple of the resulting groups.")
    groups = 1 if cin is None else cin // w.shape[2]
    x, w = C.binary_operands(x, w)
    pads = _pads("conv", padding, x.shape[1:3], w.shape[:2], strides, dilation)
    for i in range(2):
        n = _out_len(x.shape[1 + i], w.shape[i], strides[i], dilation[i], *pads[2 * i:2 * i + 2])
        if n is not None and n <= 0:
            raise ValueError(f"conv: the kernel (shape {C.shape_str(kernel.shape)}, dilation_rate {dilation_rate}) is "
                             f"larger than the padded input (shape {C.shape_str(inputs.shape)}, padding {padding!r}); "
                             "use padding='same' or a smaller kernel.")
    return restore(apply(CONV2D, x, w, strides=strides, padding=pads, dilation=dilation, groups=groups))


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel convolved with its own `depth_multiplier`
    filters. `kernel` is (*kernel_spatial, channels, depth_multiplier), as in Keras."""
    kernel = C.to_float(kernel)
    ks = kernel.shape
    w = S.reshape(kernel, ks[:-2] + (1, ks[-2] * ks[-1]))
    return conv(inputs, w, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """A depthwise convolution followed by a 1x1 pointwise one."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def _transpose_pads(n, k, s, d, padding, output_padding):
    """(forward-conv pad before, pad after, output length) of a transposed convolution, using
    Keras's output-length rules; a negative pad after means trailing output cells no input reaches.
    The pads do not depend on the input length n, so an unknown n (None) gives a None length only."""
    kd = (k - 1) * d + 1
    if padding == "valid":
        op = max(kd, s) - kd if output_padding is None else output_padding
        left, right = kd - 1, kd - 1 + op
    else:
        pad_len = s + kd - 2 if output_padding is None else kd + kd % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, kd - 1)
        right = pad_len - left
    length = None if n is None else (n - 1) * s + left + right - kd + 2
    # after = (n - 1) * s + kd - length - before, which simplifies to:
    return kd - 1 - left, kd - 1 - right, length


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution (the gradient of `conv` with respect to its input), as
    `keras.ops.conv_transpose`: `kernel` is (*kernel_spatial, filters, input_channels)."""
    kernel = C.to_float(kernel)
    rank = kernel.ndim - 2
    x, restore = _to_nhwc("conv_transpose", inputs, data_format, rank)
    w = S.expand_dims(kernel, 0) if rank == 1 else kernel
    strides = (1,) + _tuple("conv_transpose", "strides", strides, 1) if rank == 1 else _tuple(
        "conv_transpose", "strides", strides, 2)
    dilation = (1,) + _tuple("conv_transpose", "dilation_rate", dilation_rate, 1) if rank == 1 else _tuple(
        "conv_transpose", "dilation_rate", dilation_rate, 2)
    if output_padding is not None:
        output_padding = _tuple("conv_transpose", "output_padding", output_padding, rank, minimum=0)
        output_padding = (0,) + output_padding if rank == 1 else output_padding
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in ("valid", "same"):
        raise ValueError(f"conv_transpose: `padding` must be 'valid' or 'same', received {padding!r}.")
    if x.shape[3] is not None and x.shape[3] != w.shape[3]:
        raise ValueError(f"conv_transpose: the input has {x.shape[3]} channels but the kernel of shape "
                         f"{C.shape_str(kernel.shape)} expects {w.shape[3]} (its last axis).")
    x, w = C.binary_operands(x, w)
    dims = []
    for i in range(2):
        op_i = None if output_padding is None else output_padding[i]
        k_i = w.shape[i] if not (rank == 1 and i == 0) else 1
        dims.append(_transpose_pads(x.shape[1 + i], k_i, strides[i], dilation[i], padding, op_i))
    crop = [max(-after, 0) for _, after, _ in dims]
    pads = (dims[0][0], max(dims[0][1], 0), dims[1][0], max(dims[1][1], 0))
    shape = (x.shape[0],) + tuple(None if n is None else n - c for (_, _, n), c in zip(dims, crop)) + (w.shape[2],)
    y = apply(CONV2D_BACKPROP_INPUT, x, w, input_shape=shape, strides=strides, padding=pads, dilation=dilation,
              groups=1)
    if any(crop):
        y = S.pad(y, ((0, 0), (0, crop[0]), (0, crop[1]), (0, 0)))
    return restore(y)


# ---- pooling ---------------------------------------------------------------------------------------


def _pool_spec(x, pool, strides, padding):
    return (x.shape[0], _out_len(x.shape[1], pool[0], strides[0], 1, padding[0], padding[1]),
            _out_len(x.shape[2], pool[1], strides[1], 1, padding[2], padding[3]), x.shape[3]), x.dtype


def _pool_pads(shape, pool, strides, padding):
    return _resolve_pads(padding, shape[1:3], pool, strides, (1, 1))


def _avg_pool_grad_forward(g, *like, input_shape, pool, strides, padding):
    input_shape = tuple(like[0].shape if None in input_shape else input_shape)
    return core.avg_pool2d_grad(g, input_shape, pool, strides, _pool_pads(input_shape, pool, strides, padding))


MAX_POOL2D_GRAD = register(
    "max_pool2d_grad",
    forward=lambda x, g, pool, strides, padding: core.max_pool2d_grad(
        x, g, pool, strides, _pool_pads(x.shape, pool, strides, padding)),
    infer=lambda x, g, **_: (x.shape, x.dtype), kernels=("max_pool2d_grad",))
MAX_POOL2D = register(
    "max_pool2d",
    forward=lambda x, pool, strides, padding: core.max_pool2d(x, pool, strides, _pool_pads(x.shape, pool, strides,
                                                                                           padding)),
    infer=_pool_spec, grad=lambda ctx, g: (apply(MAX_POOL2D_GRAD, ctx.inputs[0], g, **ctx.attrs),),
    kernels=("max_pool2d",))
AVG_POOL2D_GRAD = register(
    "avg_pool2d_grad", forward=_avg_pool_grad_forward,
    infer=lambda g, *like, input_shape, **_: (_known(input_shape, like), g.dtype),
    grad=lambda ctx, gx: (apply(AVG_POOL2D, gx, **{k: v for k, v in ctx.attrs.items() if k != "input_shape"}),)
    + (None,) * (len(ctx.inputs) - 1),
    kernels=("avg_pool2d_grad",))
AVG_POOL2D = register(
    "avg_pool2d",
    forward=lambda x, pool, strides, padding: core.avg_pool2d(x, pool, strides, _pool_pads(x.shape, pool, strides,
                                                                                           padding)),
    infer=_pool_spec,
    grad=lambda ctx, g: (apply(AVG_POOL2D_GRAD, g, *_like(ctx.inputs[0]), input_shape=ctx.inputs[0].shape,
                               **ctx.attrs),),
    kernels=("avg_pool2d",))


def _pool(op, name, inputs, pool_size, strides, padding, data_format):
    inputs = C.to_float(inputs)
    rank = inputs.ndim - 2
    x, restore = _to_nhwc(name, inputs, data_format, rank)
    pool = _tuple(name, "pool_size", pool_size, rank)
    strides = pool if strides is None else _tuple(name, "strides", strides, rank)
    if rank == 1:
        pool, strides = (1,) + pool, (1,) + strides
    pads = _pads(name, padding, x.shape[1:3], pool, strides, (1, 1))
    for i in range(2):
        if x.shape[1 + i] is not None and _out_len(x.shape[1 + i], pool[i], strides[i], 1, *pads[2 * i:2 * i + 2]) <= 0:
            raise ValueError(f"{name}: the pool window {pool_size} is larger than the input (shape "
                             f"{C.shape_str(inputs.shape)}); use padding='same' or a smaller pool_size.")
    return restore(apply(op, x, pool=pool, strides=strides, padding=pads))


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1-D or 2-D windows (strides default to the pool size)."""
    return _pool(MAX_POOL2D, "max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with padding="same", border windows average only the cells inside the input."""
    return _pool(AVG_POOL2D, "average_pool", inputs, pool_size, strides, padding, data_format)
