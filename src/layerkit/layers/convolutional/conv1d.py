"""Conv1D: 1-D convolution (temporal convolution), `activation(conv1d(inputs, kernel) + bias)`."""
from layerkit.layers.convolutional.base_conv import BaseConv


class Conv1D(BaseConv):
    """1D convolution layer (e.g. temporal convolution).

    Slides `filters` kernels of length `kernel_size` along the steps axis of a sequence and
    adds a bias: each output step mixes a window of input steps and all input channels. Use
    `padding="causal"` for autoregressive models (WaveNet): output[t] then depends on
    input[:t + 1] only.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 1 int, the window's length.
        strides: an int or a tuple of 1 int; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" (no padding), "same" (output length ceil(steps / strides)) or
            "causal" (left padding by `dilation_rate * (kernel_size - 1)`), case-insensitive.
        data_format: "channels_last" (default: `(batch, steps, channels)`) or
            "channels_first" (`(batch, channels, steps)`).
        dilation_rate: an int or a tuple of 1 int, the spacing of the kernel's taps.
        groups: the number of channel groups convolved separately (input channels and
            `filters` must both be divisible by it).
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (or names) of the weights.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, channels), or (batch, channels, steps) with channels_first.
    Output shape: (batch, new_steps, filters), or (batch, filters, new_steps). The kernel has
    shape `(kernel_size, channels // groups, filters)` for either data format.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Conv1D(32, 3, activation="relu")
    >>> layer(lk.ops.ones((4, 10, 128))).shape
    (4, 8, 32)
    >>> [w.shape for w in layer.weights]
    [(3, 128, 32), (32,)]
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(
            rank=1, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, groups=groups, activation=activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, **kwargs)
