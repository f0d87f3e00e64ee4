"""Conv2D: 2-D convolution over images, `activation(conv2d(inputs, kernel) + bias)`."""
from layerkit.layers.convolutional.base_conv import BaseConv


class Conv2D(BaseConv):
    """2D convolution layer (e.g. spatial convolution over images).

    Slides `filters` kernels of `kernel_size` over the height and width of an image and adds a
    bias: each output pixel mixes a window of input pixels and all input channels (or, with
    `groups > 1`, the channels of its group). The building block of convolutional networks.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 2 ints, the window's (height, width).
        strides: an int or a tuple of 2 ints; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" (no padding) or "same" (output size ceil(input / strides), the odd
            extra row/column of padding at the bottom/right, as TensorFlow), case-insensitive.
        data_format: "channels_last" (default: `(batch, height, width, channels)`) or
            "channels_first" (`(batch, channels, height, width)`).
        dilation_rate: an int or a tuple of 2 ints, the spacing of the kernel's taps.
        groups: the number of channel groups convolved separately (input channels and
            `filters` must both be divisible by it).
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (or names) of the weights.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, new_height, new_width, filters), or
    (batch, filters, new_height, new_width). The kernel has shape
    `kernel_size + (channels // groups, filters)` for either data format.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Conv2D(32, 3, activation="relu")
    >>> layer(lk.ops.ones((4, 10, 10, 128))).shape
    (4, 8, 8, 32)
    >>> [w.shape for w in layer.weights]
    [(3, 3, 128, 32), (32,)]
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=2, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, groups=groups, activation=activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, **kwargs)
