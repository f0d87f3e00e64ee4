"""SeparableConv2D: a depthwise 2-D convolution followed by a pointwise (1x1) one."""
from layerkit.layers.convolutional.base_separable_conv import BaseSeparableConv


class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution layer.

    Filters each input channel spatially on its own (depthwise), then mixes the channels with
    a 1x1 convolution (pointwise), then adds a bias. Far fewer weights and multiplications than
    a Conv2D of the same size (MobileNet, Xception), at a small cost in expressiveness.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 2 ints, the depthwise window.
        strides: an int or a tuple of 2 ints; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" or "same", case-insensitive.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of 2 ints.
        depth_multiplier: the number of depthwise filters per input channel.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: regularizers.
        activity_regularizer: regularizer of the output.
        depthwise_constraint, pointwise_constraint, bias_constraint: constraints.

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, new_height, new_width, filters), or
    (batch, filters, new_height, new_width).

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.SeparableConv2D(4, 3, padding="same")
    >>> layer(lk.ops.ones((4, 10, 10, 12))).shape
    (4, 10, 10, 4)
    >>> [w.shape for w in layer.weights]
    [(3, 3, 12, 1), (1, 1, 12, 4), (4,)]
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=2, depth_multiplier=depth_multiplier, filters=filters, kernel_size=kernel_size, strides=strides,
            padding=padding, data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint, **kwargs)
