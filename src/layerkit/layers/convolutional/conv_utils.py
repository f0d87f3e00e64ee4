"""Argument checks and shape arithmetic shared by the convolution, pooling and reshaping layers.

Each function takes `who` (e.g. "Conv2D 'conv2d'") so an error names the layer and the argument,
and says what it expected and what it received.
"""
import numbers

from layerkit import ops

DATA_FORMATS = ("channels_last", "channels_first")


def layer_label(layer):
    """How errors name a layer: its class and its name, e.g. "Conv2D 'conv2d'"."""
    return f"{type(layer).__name__} '{layer.name}'"


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def standardize_tuple(who, value, n, name, allow_zero=False):
    """`value` (an int, or a list/tuple of `n` ints) as a tuple of `n` Python ints, each positive
    (or non-negative with `allow_zero`); a ValueError naming `who` and `name` otherwise."""
    kind = "non-negative" if allow_zero else "positive"
    t = (value,) * n if _is_int(value) else tuple(value) if isinstance(value, (list, tuple)) else None
    if t is None or len(t) != n or not all(_is_int(v) and (v >= 0 if allow_zero else v > 0) for v in t):
        raise ValueError(f"{who}: `{name}` must be a {kind} int or a tuple of {n} {kind} ints, "
                         f"received {name}={value!r}.")
    return tuple(int(v) for v in t)


def standardize_pair_of_pairs(who, value, name):
    """Keras's 2-D padding/cropping argument: an int (the same on all four sides), a pair of ints
    (symmetric per axis) or a pair of pairs ((top, bottom), (left, right)), non-negative."""
    if _is_int(value):
        value = ((value, value), (value, value))
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{who}: `{name}` must be an int, a tuple of 2 ints (symmetric height, width), or a tuple "
                         f"of 2 tuples of 2 ints ((top, bottom), (left, right)), received {name}={value!r}.")
    return tuple(standardize_tuple(who, v, 2, name, allow_zero=True) for v in value)


def standardize_padding(who, value, allow_causal=False):
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{who}: `padding` must be one of {allowed}, received padding={value!r}.")
    return padding


def standardize_data_format(who, value):
    """`data_format` checked and defaulted (None: "channels_last", layerkit's image data format)."""
    if value is None:
        return "channels_last"
    data_format = value.lower() if isinstance(value, str) else value
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{who}: `data_format` must be 'channels_last' or 'channels_first', received "
                         f"data_format={value!r}.")
    return data_format


def check_positive_int(who, value, name):
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{who}: `{name}` must be a positive int, received {name}={value!r}.")
    return int(value)


def check_rank(who, input_shape, rank):
    """The layer expects (batch, *spatial[rank], channels) or its channels_first twin."""
    if len(input_shape) != rank + 2:
        raise ValueError(f"{who} expects an input of rank {rank + 2}, but received an input of shape "
                         f"{shape_str(input_shape)} (rank {len(input_shape)}).")


def shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def split_channels(input_shape, data_format):
    """(spatial dims, channels) of a (batch, ..., channels) / (batch, channels, ...) shape."""
    if data_format == "channels_last":
        return tuple(input_shape[1:-1]), input_shape[-1]
    return tuple(input_shape[2:]), input_shape[1]


def join_channels(batch, spatial, channels, data_format):
    if data_format == "channels_last":
        return (batch,) + tuple(spatial) + (channels,)
    return (batch, channels) + tuple(spatial)


def conv_output_length(n, k, stride, padding, dilation=1):
    """Length of a convolution's (or pooling's) output along one axis; None when n is unknown.
    "same" and "causal" give ceil(n / stride); "valid" floor((n - dilated k) / stride) + 1."""
    if n is None:
        return None
    if padding in ("same", "causal"):
        return (n - 1) // stride + 1
    return (n - (k - 1) * dilation - 1) // stride + 1


def conv_transpose_output_length(n, k, stride, padding, output_padding=None, dilation=1):
    """Length of a transposed convolution's output along one axis, by Keras's rules."""
    if n is None:
        return None
    kd = (k - 1) * dilation + 1
    if padding == "valid":
        extra = max(kd, stride) - kd if output_padding is None else output_padding
        return (n - 1) * stride + kd + extra
    if output_padding is None:
        return n * stride
    return (n - 1) * stride + kd % 2 + output_padding


def check_output_positive(who, input_shape, output_shape, what):
    """Raises when an output size along a known axis is zero or negative (`what` says why)."""
    if any(d is not None and d <= 0 for d in output_shape):
        raise ValueError(f"{who}: the output would have shape {shape_str(output_shape)}, with a zero or negative "
                         f"size, for an input of shape {shape_str(input_shape)} ({what}). Use a larger input, "
                         "padding='same', or a smaller window.")


def add_bias(outputs, bias, data_format):
    """`outputs + bias`, the bias (channels,) broadcast along the channel axis of either format."""
    if data_format == "channels_first":
        bias = ops.reshape(bias, (bias.shape[0],) + (1,) * (outputs.ndim - 2))
    return ops.add(outputs, bias)


def conv_output_shape(layer, input_shape, filters):
    """The output shape of a convolution layer (its kernel_size, strides, dilation_rate, padding
    and data_format) for `input_shape`, checked to be non-empty; `filters` output channels."""
    who = layer_label(layer)
    check_rank(who, input_shape, layer.rank)
    spatial, _ = split_channels(input_shape, layer.data_format)
    out = tuple(conv_output_length(n, k, s, layer.padding, d)
                for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate))
    shape = join_channels(input_shape[0], out, filters, layer.data_format)
    check_output_positive(who, input_shape, shape, f"kernel_size={layer.kernel_size}, strides={layer.strides}, "
                          f"dilation_rate={layer.dilation_rate}, padding={layer.padding!r}")
    return shape


def bias_and_activation(layer, outputs):
    """`outputs` plus the layer's bias (if any), through its activation (if any)."""
    if layer.bias is not None:
        outputs = add_bias(outputs, layer.bias, layer.data_format)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs

