"""SeparableConv1D: a depthwise 1-D convolution followed by a pointwise (kernel 1) one."""
from layerkit.layers.convolutional.base_separable_conv import BaseSeparableConv


class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution layer.

    Filters each channel of a sequence on its own (depthwise), then mixes the channels with a
    kernel-1 convolution (pointwise), then adds a bias: fewer weights than a Conv1D of the same
    size.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 1 int, the depthwise window.
        strides: an int or a tuple of 1 int; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" or "same", case-insensitive.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of 1 int.
        depth_multiplier: the number of depthwise filters per input channel.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: regularizers.
        activity_regularizer: regularizer of the output.
        depthwise_constraint, pointwise_constraint, bias_constraint: constraints.

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, channels), or (batch, channels, steps) with channels_first.
    Output shape: (batch, new_steps, filters), or (batch, filters, new_steps).

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.SeparableConv1D(4, 3, depth_multiplier=2)
    >>> layer(lk.ops.ones((4, 10, 12))).shape
    (4, 8, 4)
    >>> [w.shape for w in layer.weights]
    [(3, 12, 2), (1, 24, 4), (4,)]
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=1, depth_multiplier=depth_multiplier, filters=filters, kernel_size=kernel_size, strides=strides,
            padding=padding, data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint, **kwargs)
